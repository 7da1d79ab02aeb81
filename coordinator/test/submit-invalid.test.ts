// Invalid job specs are refused over real gRPC with INVALID_ARGUMENT naming the field, and
// nothing is stored for them.
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import type { JobSpec } from '@syncline/proto';
import { mnistMlpSpec, startFixture, submit, type Fixture } from './helpers/cluster.js';

const test = anyTest as TestFn<{ fx: Fixture }>;

test.before(async (t) => {
  t.context.fx = await startFixture();
});
test.after.always(async (t) => {
  await t.context.fx?.stop();
});

function dense(s: JobSpec, i: number) {
  const kind = s.model!.layers[i]!.kind;
  if (kind?.$case !== 'dense') throw new Error(`layer ${i} is not dense`);
  return kind.value;
}

const cases: { title: string; field: string; mutate: (s: JobSpec) => void }[] = [
  { title: 'unknown (missing) layer type', field: 'model.layers[0]', mutate: (s) => (s.model!.layers[0]!.kind = undefined) },
  { title: 'unknown activation', field: 'model.layers[0].dense.activation', mutate: (s) => (dense(s, 0).activation = 'swish') },
  { title: 'non-positive units', field: 'model.layers[0].dense.units', mutate: (s) => (dense(s, 0).units = 0) },
  { title: 'non-positive epochs', field: 'training.epochs', mutate: (s) => (s.training!.epochs = 0) },
  { title: 'non-positive global batch', field: 'training.globalBatchSize', mutate: (s) => (s.training!.globalBatchSize = 0) },
  { title: 'global batch smaller than the worker count', field: 'training.globalBatchSize', mutate: (s) => (s.training!.globalBatchSize = 1) },
  { title: 'learning rate not positive', field: 'model.optimizer.sgd.learningRate', mutate: (s) => (s.model!.optimizer!.kind!.value.learningRate = -0.1) },
  { title: 'learning rate not finite', field: 'model.optimizer.sgd.learningRate', mutate: (s) => (s.model!.optimizer!.kind!.value.learningRate = Number.POSITIVE_INFINITY) },
  { title: 'unknown loss', field: 'model.loss', mutate: (s) => (s.model!.loss = 'hinge') },
  { title: 'unknown dataset', field: 'dataset.name', mutate: (s) => (s.dataset!.name = 'imagenet') },
  { title: 'no workers', field: 'workers.min', mutate: (s) => (s.workers!.min = 0) },
];

for (const c of cases) {
  test.serial(`rejects ${c.title} with INVALID_ARGUMENT naming ${c.field}`, async (t) => {
    const spec = mnistMlpSpec();
    c.mutate(spec);
    const { err, jobId } = await submit(t.context.fx.client, spec);
    t.is(jobId, undefined);
    t.truthy(err);
    t.is(err!.code, status.INVALID_ARGUMENT);
    t.true(err!.details.startsWith(`${c.field}`), err!.details);
    t.deepEqual(err!.metadata.get('syncline-field'), [c.field]);
  });
}

test.serial('nothing is stored for rejected specs', async (t) => {
  const jobs = await new Promise<unknown[]>((resolve, reject) => t.context.fx.client.listJobs({ pageSize: 0, pageToken: '' }, (err, res) => (err ? reject(err) : resolve(res.jobs))));
  t.deepEqual(jobs, []);
});

test.serial('a missing spec is INVALID_ARGUMENT too', async (t) => {
  const err = await new Promise<{ code: number; details: string } | null>((resolve) =>
    t.context.fx.client.submitJob({ spec: undefined }, (e) => resolve(e)),
  );
  t.is(err?.code, status.INVALID_ARGUMENT);
});
