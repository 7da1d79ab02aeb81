// What `submit --watch` prints (without a terminal): held-out results as they arrive, and a job
// that stopped early says where and why.
import test from 'ava';
import { PassThrough } from 'node:stream';
import { Job, JobState, StepMetrics } from '@syncline/proto';
import { watchWithProgress } from '../src/progress.js';

test('a job stopped early: the step and the reason after its state', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const done = Job.fromPartial({
    id: 'job-1',
    state: JobState.JOB_STATE_SUCCEEDED,
    totalSteps: 30,
    result: { steps: 12, earlyStop: { step: 12, bestStep: 8, bestValue: 0.5, reason: 'held-out loss did not improve for 2 evaluations (best 0.5000 at step 8)' } },
  });
  const client = {
    address: '127.0.0.1:1',
    watch: async (_id: string, on: { job?: (j: Job) => void; metrics?: (m: StepMetrics) => void }) => {
      on.job?.(Job.fromPartial({ id: 'job-1', state: JobState.JOB_STATE_RUNNING, totalSteps: 30 }));
      on.metrics?.(StepMetrics.fromPartial({ step: 10, epoch: 1, totalSteps: 30, heldoutExamples: 100, heldoutLoss: 0.6, heldoutAccuracy: 0.8 }));
      on.job?.(done);
      return done;
    },
  };
  t.is(await watchWithProgress(client, 'job-1', out), done);
  t.regex(text, /held-out loss 0\.6000 acc 0\.8000 \(step 10\)\n/);
  t.regex(text, /job job-1: SUCCEEDED\nstopped early at step 12 of 30: held-out loss did not improve for 2 evaluations \(best 0\.5000 at step 8\)\n$/);
});
