// The job log's rules: which record changes become entries, and how rank errors find their rank.
import test from 'ava';
import { Job, JobSpec, JobState, StepMetrics, silentLogger, type JobLogEntry } from '@syncline/proto';
import { JobEvents } from '../src/job-events.js';
import { JobLogRecorder } from '../src/job-log/recorder.js';
import { transitionEntries } from '../src/job-log/transitions.js';

const spec = JobSpec.fromJSON({ name: 'j', workers: { min: 1, max: 3 } });
const job = (fields: Partial<Job>) => Job.fromPartial({ id: 'job-1', spec, totalSteps: 100, ...fields });
const kinds = (entries: JobLogEntry[]) => entries.map((e) => `${e.kind}/${e.level}`);

test('submission, the first generation, a membership change, waiting, resuming and the outcome', (t) => {
  const pending = job({ state: JobState.JOB_STATE_PENDING });
  t.deepEqual(kinds(transitionEntries(undefined, pending, 0)), ['submitted/info']);
  const running = job({ state: JobState.JOB_STATE_RUNNING, generation: 1, workers: ['a', 'b'] });
  const first = transitionEntries(pending, running, 0);
  t.deepEqual(kinds(first), ['running/info']);
  t.deepEqual(first[0]!.workers, ['a', 'b']);
  t.deepEqual(transitionEntries(running, job({ ...running, lastMetrics: StepMetrics.fromPartial({ step: 5 }) }), 5), [], 'a metrics write is no event');
  const grown = job({ state: JobState.JOB_STATE_RUNNING, generation: 2, workers: ['a', 'b', 'c'], membershipChanges: 1 });
  const change = transitionEntries(running, grown, 40);
  t.deepEqual(kinds(change), ['generation/info']);
  t.like(change[0], { generation: 2, step: 40, message: 'generation 2 on 3 workers: a, b, c (membership change 1)' });
  const waiting = job({ state: JobState.JOB_STATE_PENDING, generation: 2, error: 'worker c was lost; waiting for 3 workers', checkpointStep: 30 });
  t.like(transitionEntries(grown, waiting, 41)[0], { kind: 'pending', level: 'warn', message: 'worker c was lost; waiting for 3 workers' });
  const resumed = job({ state: JobState.JOB_STATE_RUNNING, generation: 3, workers: ['a', 'b', 'd'], membershipChanges: 2, checkpointStep: 30 });
  t.regex(transitionEntries(waiting, resumed, 41)[0]!.message, /resuming from the checkpoint at step 30/);
  const failed = job({ ...resumed, state: JobState.JOB_STATE_FAILED, error: 'rank 1 (worker b) failed: boom' });
  t.like(transitionEntries(resumed, failed, 50)[0], { kind: 'failed', level: 'error', message: 'rank 1 (worker b) failed: boom', generation: 3 });
  const done = job({ ...resumed, state: JobState.JOB_STATE_SUCCEEDED, result: { loss: 0.25, accuracy: 0.9, heldoutExamples: 200, steps: 100 } as Job['result'], model: { name: 'j', version: 2, url: '' } });
  t.regex(transitionEntries(resumed, done, 100)[0]!.message, /^succeeded after 100 steps: held-out loss 0.2500, accuracy 0.9000 on 200 examples; published j v2$/);
  const stopped = job({ ...done, result: { ...done.result!, steps: 34, earlyStop: { step: 34, bestStep: 22, bestValue: 0.213, reason: 'held-out loss did not improve by 0.001 for 3 evaluations (best 0.2130 at step 22)' } } });
  t.is(transitionEntries(resumed, stopped, 34)[0]!.message, 'succeeded after 34 steps: stopped early at step 34 of 100: held-out loss did not improve by 0.001 for 3 evaluations (best 0.2130 at step 22); held-out loss 0.2500, accuracy 0.9000 on 200 examples; published j v2');
  t.like(transitionEntries(waiting, job({ ...waiting, state: JobState.JOB_STATE_CANCELLED, error: 'cancelled by user' }), 41)[0], { kind: 'cancelled', level: 'warn' });
});

test('the recorder gives each rank error the rank it had in its generation, and samples metrics', async (t) => {
  const stored: JobLogEntry[] = [];
  const events = new JobEvents();
  const recorder = new JobLogRecorder({ append: async (_id, e) => void stored.push(e) }, events, silentLogger, 60_000);
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_PENDING }) });
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_RUNNING, generation: 1, workers: ['a', 'b'] }) });
  for (let step = 1; step <= 3; step++) events.emit('job-1', { kind: 'metrics', metrics: StepMetrics.fromPartial({ step, totalSteps: 3, loss: 1 / step }) });
  events.emit('job-1', { kind: 'job', job: job({ state: JobState.JOB_STATE_FAILED, generation: 1, workers: ['a', 'b'], error: 'rank 1 failed' }) });
  // Ranks report after the job ended, and a stale generation's report has no rank.
  events.emit('job-1', { kind: 'rank_failed', workerId: 'b', generation: 1, error: 'oom' });
  events.emit('job-1', { kind: 'rank_failed', workerId: 'a', generation: 1, error: 'timeout' });
  events.emit('job-1', { kind: 'rank_failed', workerId: 'a', generation: 0, error: 'old' });
  await recorder.stop();
  t.deepEqual(stored.map((e) => e.kind), ['submitted', 'running', 'metrics', 'metrics', 'failed', 'rank_failed', 'rank_failed', 'rank_failed']);
  // Within the interval only the first step of the generation and the last step are kept.
  t.deepEqual(stored.filter((e) => e.kind === 'metrics').map((e) => e.metrics?.step), [1, 3]);
  t.deepEqual(stored.filter((e) => e.kind === 'rank_failed').map((e) => [e.workerId, e.rank, e.step]), [['b', 1, 3], ['a', 0, 3], ['a', -1, 3]]);
});

test('a job that keeps waiting logs each new reason (GPU workers asked for, none idle), once', (t) => {
  const pending = job({ state: JobState.JOB_STATE_PENDING });
  const reason = 'waiting for 2 gpu workers (0 idle; 3 idle cpu workers not used: the job asks for workers.accelerator gpu)';
  const waiting = job({ state: JobState.JOB_STATE_PENDING, error: reason });
  t.like(transitionEntries(pending, waiting, 0)[0], { kind: 'pending', level: 'info', message: reason });
  t.deepEqual(transitionEntries(waiting, job({ ...waiting }), 0), [], 'the same reason again is no event');
});
