// The failure-injection harness (STYLE.md habit 12, after torchft's FailureInjector): rank r is
// killed (SIGKILL) at step s in phase p — computing, sending, receiving, while rank 0 writes a
// checkpoint, in the final evaluation, during the upload — for rank 0 and for rank 1; nats-server
// is killed and restarted a few seconds later; and a seeded random schedule of several faults
// runs as a property test. Every job must SUCCEED with published weights equal to those of the
// same job trained by one process without interruption (relative 1e-5).
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import fc from 'fast-check';
import { JobState } from '@syncline/proto';
import { FaultPhase } from '../../worker/src/faults.js';
import { FAULT_STEP, FaultHarness, STEPS, faultySpec as spec, referenceWeights, relativeError, type FaultyJob } from './helpers/fault-harness.js';

interface Context {
  harness: FaultHarness;
  reference: Float32Array;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  t.context.reference = await referenceWeights();
  // The heartbeat timeout only matters for hung workers; killed ones close their stream at once.
  t.context.harness = await FaultHarness.start(3, { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3000, allreduceTimeoutSeconds: 30 });
});
test.after.always(async (t) => {
  await t.context.harness?.stop();
});

async function check(t: ExecutionContext<Context>, job: FaultyJob, expectDeaths: number): Promise<void> {
  const outcome = await t.context.harness.run(job);
  t.is(outcome.job.state, JobState.JOB_STATE_SUCCEEDED, `${outcome.job.error}\n${t.context.harness.logs.slice(-40).join('\n')}`);
  t.is(outcome.died, expectDeaths, `the planned faults fired\n${t.context.harness.logs.slice(-40).join('\n')}`);
  const error = relativeError(outcome.weights, t.context.reference);
  t.true(error < 1e-5, `published weights differ from the uninterrupted run by ${error} (relative)`);
  if (process.env.SYNCLINE_FAULT_LOGS) t.log(t.context.harness.logs.join('\n'));
  t.log(`${job.spec.name}: ${outcome.seconds.toFixed(1)} s, ${outcome.redoneSteps} step(s) redone, ${outcome.job.membershipChanges} membership change(s), longest pause between steps ${outcome.longestPause.toFixed(2)} s (median ${outcome.medianPause.toFixed(2)} s)`);
}

test.serial('no fault: the baseline every fault is measured against', async (t) => {
  await check(t, { spec: spec('fault-none'), faults: [] }, 0);
});

// The phases where a kill lands, and the step it lands at: training phases mid-job, the end-of-job
// phases after the last step.
const AT: Record<FaultPhase, number> = { compute: FAULT_STEP, send: FAULT_STEP, receive: FAULT_STEP, checkpoint: FAULT_STEP, evaluate: STEPS, upload: STEPS };

for (const phase of FaultPhase) {
  for (const rank of [0, 1]) {
    test.serial(`rank ${rank} killed at step ${AT[phase]} while ${phase === 'compute' ? 'computing' : phase === 'send' ? 'sending' : phase === 'receive' ? 'receiving' : phase === 'checkpoint' ? 'rank 0 writes a checkpoint' : phase === 'evaluate' ? 'rank 0 evaluates' : 'rank 0 uploads'}: the job succeeds with the uninterrupted weights`, async (t) => {
      await check(t, { spec: spec(`fault-${phase}-rank${rank}`), faults: [{ rank, step: AT[phase], phase }] }, 1);
    });
  }
}

for (const rank of [0, 1]) {
  test.serial(`rank ${rank} sent SIGTERM mid-job (an eviction) leaves at a step boundary: nothing is redone and the weights are the uninterrupted ones`, async (t) => {
    const outcome = await t.context.harness.run({ spec: spec(`sigterm-rank${rank}`), faults: [], terminate: { rank, step: FAULT_STEP } });
    t.is(outcome.job.state, JobState.JOB_STATE_SUCCEEDED, outcome.job.error);
    t.is(outcome.redoneSteps, 0);
    t.true(outcome.job.membershipChanges >= 1, 'the worker left');
    // Every rank stopped at the boundary the leaver announced (not at the end of a grace period).
    const stops = t.context.harness.logs.filter((l) => l.includes(outcome.job.id) && l.includes('stopped at a step boundary'));
    t.true(stops.length >= 2, stops.join('\n') || t.context.harness.logs.slice(-30).join('\n'));
    const error = relativeError(outcome.weights, t.context.reference);
    t.true(error < 1e-5, `published weights differ from the uninterrupted run by ${error} (relative)`);
    t.log(`sigterm-rank${rank}: ${outcome.seconds.toFixed(1)} s, ${outcome.redoneSteps} step(s) redone, ${outcome.job.membershipChanges} membership change(s), longest pause between steps ${outcome.longestPause.toFixed(2)} s (median ${outcome.medianPause.toFixed(2)} s)`);
  });
}

test.serial('nats-server killed for 3 s mid-job and restarted on its store: the job succeeds with the uninterrupted weights', async (t) => {
  await check(t, { spec: spec('fault-nats-restart'), faults: [], outage: { step: FAULT_STEP, downMs: 3000 } }, 0);
});

test.serial('a seeded random schedule of several faults per job: every job succeeds with the uninterrupted weights', async (t) => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(
        fc.record({ rank: fc.integer({ min: 0, max: 1 }), step: fc.integer({ min: 2, max: STEPS - 1 }), phase: fc.constantFrom<FaultPhase>('compute', 'send', 'receive', 'checkpoint') }),
        { minLength: 2, maxLength: 3, selector: (f) => f.step },
      ),
      fc.option(fc.integer({ min: 2, max: STEPS - 2 }), { nil: undefined }),
      async (faults, outageStep) => {
        // A checkpoint fault only fires at a checkpoint step.
        const planned = faults.map((f) => (f.phase === 'checkpoint' ? { ...f, step: Math.max(5, f.step - (f.step % 5)) } : f));
        const steps = new Set(planned.map((f) => f.step));
        if (steps.size !== planned.length) return;
        await check(t, { spec: spec(`fault-schedule-${run++}`), faults: planned, ...(outageStep !== undefined ? { outage: { step: outageStep, downMs: 2000 } } : {}) }, planned.length);
      },
    ),
    { numRuns: 3, seed: 8, endOnFailure: true },
  );
});
