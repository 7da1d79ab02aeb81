// End to end through real parts: a nats-server, the coordinator, two worker processes; submit
// over gRPC, watch to SUCCEEDED, download the model over HTTP and predict with the SDK.
import anyTest, { type TestFn } from 'ava';
import { JobSpec, JobState, type StepMetrics } from '@syncline/proto';
import { loadModel } from '@syncline/sdk';
import { loadMnist } from '@syncline/worker/mnist';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient; logs: string[] }>;

test.before(async (t) => {
  const logs: string[] = [];
  t.context.logs = logs;
  t.context.cluster = await startLocalCluster({ workers: 2, log: (l) => logs.push(l) });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
});

function smallJob(name: string): JobSpec {
  return JobSpec.fromJSON({
    name,
    model: {
      layers: [{ dense: { units: 32, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
    },
    dataset: { name: 'mnist', trainLimit: 1024 },
    training: { epochs: 2, globalBatchSize: 64, seed: 5 },
    workers: { min: 2, max: 2 },
  });
}

test.serial('submit, watch to SUCCEEDED, download over HTTP and predict with the SDK', async (t) => {
  const { client, cluster } = t.context;
  const submitted = await client.submit(smallJob('e2e-mlp'));
  t.is(submitted.state, JobState.JOB_STATE_RUNNING);
  const states: JobState[] = [];
  const metrics: StepMetrics[] = [];
  const job = await client.watch(submitted.id, { job: (j) => states.push(j.state), metrics: (m) => metrics.push(m) });
  t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error || t.context.logs.join('\n'));
  t.is(states.at(-1), JobState.JOB_STATE_SUCCEEDED);

  // Per-step metrics streamed: every step of 2 epochs x 16 steps, from 2 workers.
  t.is(job.totalSteps, 32);
  t.deepEqual(
    metrics.map((m) => m.step),
    Array.from({ length: 32 }, (_, i) => i + 1),
  );
  t.true(metrics.every((m) => m.workers === 2 && m.samplesPerSecond > 0 && m.loss > 0));
  t.true(metrics.at(-1)!.loss < metrics[0]!.loss, 'training lowered the loss');

  // Published and listed with the URL of its model.json.
  t.truthy(job.model);
  t.is(job.model!.url, `${cluster.coordinator.httpUrl}/v1/models/e2e-mlp/1/model.json`);
  const models = await client.models();
  t.deepEqual(
    models.map((m) => m.ref),
    [{ name: 'e2e-mlp', version: 1, url: job.model!.url }],
  );

  // The SDK's held-out accuracy equals the one rank 0 reported: same weights, same digits.
  const model = await loadModel({ baseUrl: cluster.coordinator.httpUrl, name: 'e2e-mlp', version: 'latest' });
  try {
    t.is(model.version, 1);
    const heldout = loadMnist().heldout;
    const predicted = model.predictClass(heldout.x);
    const correct = predicted.filter((cls, i) => heldout.y[i * 10 + cls] === 1).length;
    t.is(correct / heldout.count, job.result!.accuracy);
    t.true(job.result!.accuracy > 0.5, `accuracy ${job.result!.accuracy}`);
  } finally {
    model.dispose();
  }
});

test.serial('a second job of the same name publishes version 2; GetJob and ListJobs see both', async (t) => {
  const { client, cluster } = t.context;
  const spec = smallJob('e2e-mlp');
  spec.training!.maxSteps = 3;
  const submitted = await client.submit(spec);
  const job = await client.watch(submitted.id);
  t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error);
  t.is(job.model?.version, 2);
  t.is((await client.get(job.id)).state, JobState.JOB_STATE_SUCCEEDED);
  t.true((await client.list()).length >= 2);
  const latest = await fetch(`${cluster.coordinator.httpUrl}/v1/models/e2e-mlp/latest/model.json`);
  t.is(latest.headers.get('x-syncline-version'), '2');
  t.is(latest.headers.get('access-control-allow-origin'), '*');
});

test.serial('a job with a timeline records every part of every step on both workers; metrics carry shares and speeds', async (t) => {
  const { client } = t.context;
  const spec = smallJob('e2e-timeline');
  spec.training!.maxSteps = 5;
  spec.training!.timeline = true;
  const metrics: StepMetrics[] = [];
  const submitted = await client.submit(spec);
  const job = await client.watch(submitted.id, { metrics: (m) => metrics.push(m) });
  t.is(job.state, JobState.JOB_STATE_SUCCEEDED, job.error);
  for (const m of metrics) {
    t.is(m.shares.length, 2);
    t.is(m.rankSamplesPerSecond.length, 2);
    t.true(m.rankSamplesPerSecond.every((s) => s > 0));
    t.true(m.commFraction >= 0 && m.commFraction <= 1);
  }
  const trace = JSON.parse(new TextDecoder().decode(await client.completeTimeline(job.id, 2))) as { traceEvents: { name: string; ph: string; pid: number; args?: { step?: number } }[] };
  for (const rank of [0, 1]) {
    const spans = trace.traceEvents.filter((e) => e.pid === rank && e.ph === 'X');
    for (const name of ['data', 'forward/backward', 'all-reduce', 'update']) {
      t.deepEqual(
        spans.filter((s) => s.name === name).map((s) => s.args?.step),
        [1, 2, 3, 4, 5],
        `rank ${rank} ${name}`,
      );
    }
  }
  const noTimeline = await client.timeline('job-unknown').catch((e: { code: number }) => e.code);
  t.is(noTimeline, 5); // NOT_FOUND
});
