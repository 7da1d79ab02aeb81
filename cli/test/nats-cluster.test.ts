// A three-node NATS cluster (JetStream replicas 3), as `syncline up --nats-cluster 3` and deploy/
// run it: losing any one server mid-job never fails the job, and the published weights are those
// of the uninterrupted run. A job submitted while a server is away waits, saying why, and runs
// once it is back.
import anyTest, { type TestFn } from 'ava';
import { JobState } from '@syncline/proto';
import { FAULT_STEP, FaultHarness, faultySpec, referenceWeights, relativeError } from './helpers/fault-harness.js';

const test = anyTest as TestFn<{ harness: FaultHarness; reference: Float32Array }>;

test.before(async (t) => {
  t.context.reference = await referenceWeights();
  t.context.harness = await FaultHarness.start(2, { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3000, allreduceTimeoutSeconds: 30 }, 3);
});
test.after.always(async (t) => {
  await t.context.harness?.stop();
});

for (const server of [0, 2]) {
  test.serial(`server ${server} of 3 killed mid-job for good: the job succeeds with the uninterrupted weights`, async (t) => {
    // Back for the next case, even when this one fails: losing any one server is survived, not two.
    t.teardown(() => t.context.harness.cluster.nats[server]!.start());
    const outcome = await t.context.harness.run({ spec: faultySpec(`cluster-loss-${server}`), faults: [], outage: { step: FAULT_STEP, server } }).catch((err: unknown) => {
      t.log(t.context.harness.logs.slice(-60).join('\n'));
      throw err;
    });
    t.is(outcome.job.state, JobState.JOB_STATE_SUCCEEDED, `${outcome.job.error}\n${t.context.harness.logs.slice(-30).join('\n')}`);
    const error = relativeError(outcome.weights, t.context.reference);
    t.true(error < 1e-5, `published weights differ from the uninterrupted run by ${error} (relative)`);
    if (process.env.SYNCLINE_FAULT_LOGS) t.log(t.context.harness.logs.join('\n'));
    if (outcome.registryFailure) t.log(`cluster-loss-${server}: until the registry served the weights it answered ${outcome.registryFailure}`);
    t.log(`cluster-loss-${server}: ${outcome.seconds.toFixed(1)} s, ${outcome.redoneSteps} step(s) redone, ${outcome.job.membershipChanges} membership change(s), longest pause between steps ${outcome.longestPause.toFixed(2)} s (median ${outcome.medianPause.toFixed(2)} s), weights served after ${outcome.registryWaitSeconds.toFixed(1)} s`);
  });
}

test.serial('a job submitted while server 1 of 3 is down waits for NATS, with the reason, and runs once the server is back', async (t) => {
  // A new job's object store takes 3 replicas: JetStream cannot place it on 2 servers.
  const outcome = await t.context.harness.run({ spec: faultySpec('cluster-placement'), faults: [], outage: { step: 'submit', server: 1, graceful: true, downMs: 4000 } }).catch((err: unknown) => {
    t.log(t.context.harness.logs.slice(-60).join('\n'));
    throw err;
  });
  t.is(outcome.submitted.state, JobState.JOB_STATE_PENDING, 'the submission answers with the waiting job');
  t.regex(outcome.submitted.error, /^waiting for NATS to give the workers access to the job \(.+\)$/);
  t.is(outcome.job.state, JobState.JOB_STATE_SUCCEEDED, `${outcome.job.error}\n${t.context.harness.logs.slice(-30).join('\n')}`);
  t.is(outcome.job.error, '');
  const error = relativeError(outcome.weights, t.context.reference);
  t.true(error < 1e-5, `published weights differ from the uninterrupted run by ${error} (relative)`);
  t.log(`cluster-placement: ${outcome.submitted.error}; succeeded ${outcome.seconds.toFixed(1)} s after the submission`);
});
