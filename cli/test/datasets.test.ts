// User datasets end to end: upload over gRPC (CSV and tensor files), bad files refused with
// the line or byte offset and nothing kept, and a job trained on an uploaded dataset.
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { JobSpec, JobState, encodeTensorFile, seededRandom } from '@syncline/proto';
import { SynclineClient } from '../src/client.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient }>;

test.before(async (t) => {
  t.context.cluster = await startLocalCluster({ workers: 2 });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
});

/** Two noisy blobs in 2-D, labelled 0 and 1: learnable to well above chance. */
function blobsCsv(n: number): string {
  const random = seededRandom(9);
  const rows = ['x,y,label'];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const cx = label ? 1 : -1;
    rows.push(`${(cx + (random() - 0.5)).toFixed(4)},${(cx + (random() - 0.5)).toFixed(4)},${label}`);
  }
  return rows.join('\n') + '\n';
}

const header = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  format: 'csv',
  inputShape: [],
  classes: 2,
  labelColumn: '',
  targetColumns: [],
  heldoutFraction: 0,
  ...extra,
});

async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the upload to be refused');
}

test.serial('a CSV upload is stored and a job trains on it across both workers', async (t) => {
  const { client } = t.context;
  const d = await client.uploadDataset(header('blobs'), new TextEncoder().encode(blobsCsv(400)));
  t.like(d, { name: 'blobs', inputShape: [2], classes: 2, targetSize: 2, train: 320, heldout: 80 });
  t.deepEqual((await client.datasets()).map((x) => x.name), ['blobs']);

  const job = await client.submit(
    JobSpec.fromJSON({
      name: 'blobs-mlp',
      model: { layers: [{ dense: { units: 8, activation: 'tanh' } }, { dense: { units: 2, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.2, momentum: 0.5 } } },
      dataset: { name: 'blobs' },
      training: { epochs: 5, globalBatchSize: 32, seed: 2 },
      workers: { min: 2, max: 2 },
    }),
  );
  const final = await client.watch(job.id);
  t.is(final.state, JobState.JOB_STATE_SUCCEEDED, final.error);
  t.is(final.result?.heldoutExamples, 80);
  t.true(final.result!.accuracy > 0.9, `held-out accuracy ${final.result!.accuracy}`);
});

test.serial('a tensor-file upload with a regression target and an input shape', async (t) => {
  const x = new Float32Array(50 * 6).map((_, i) => i % 7);
  const y = new Float32Array(50).map((_, i) => i / 10);
  const bytes = encodeTensorFile({ samples: 50, features: 6, targets: 1, x, y });
  const d = await t.context.client.uploadDataset(header('grid', { format: 'tensor', classes: 0, inputShape: [2, 3], heldoutFraction: 0.1 }), bytes);
  t.like(d, { name: 'grid', inputShape: [2, 3], classes: 0, targetSize: 1, train: 45, heldout: 5 });
});

test.serial('bad files are refused with the line or byte offset, and nothing is kept', async (t) => {
  const { client } = t.context;
  const badCell = await refusal(client.uploadDataset(header('bad1'), new TextEncoder().encode('x,y,label\n1,2,0\n3,oops,1\n')));
  t.is(badCell.code, status.INVALID_ARGUMENT);
  t.regex(badCell.details, /line 3, column "y": "oops" is not a finite number/);

  const badLabel = await refusal(client.uploadDataset(header('bad2'), new TextEncoder().encode('x,y,label\n1,2,0\n3,4,7\n')));
  t.regex(badLabel.details, /line 3, column "label": label 7 is not an integer in \[0, 2\)/);

  const ragged = await refusal(client.uploadDataset(header('bad3'), new TextEncoder().encode('x,y,label\n1,2,0\n3,4\n')));
  t.is(ragged.code, status.INVALID_ARGUMENT);
  t.regex(ragged.details, /line 3/);

  const full = encodeTensorFile({ samples: 4, features: 2, targets: 1, x: new Float32Array(8), y: new Float32Array(4) });
  const truncated = await refusal(client.uploadDataset(header('bad4', { format: 'tensor', classes: 0 }), full.subarray(0, full.length - 3)));
  t.is(truncated.code, status.INVALID_ARGUMENT);
  t.regex(truncated.details, /byte offset 65: file is truncated: 4 samples need 68 bytes, got 65/);

  const nan = full.slice();
  new DataView(nan.buffer).setFloat32(24, Number.NaN, true);
  const notFinite = await refusal(client.uploadDataset(header('bad5', { format: 'tensor', classes: 0 }), nan));
  t.regex(notFinite.details, /byte offset 24: feature 1 of sample 0 is NaN/);

  const exists = await refusal(client.uploadDataset(header('blobs'), new TextEncoder().encode(blobsCsv(10))));
  t.is(exists.code, status.ALREADY_EXISTS);

  const builtin = await refusal(client.uploadDataset(header('mnist'), new TextEncoder().encode(blobsCsv(10))));
  t.is(builtin.code, status.INVALID_ARGUMENT);

  t.deepEqual((await client.datasets()).map((x) => x.name).sort(), ['blobs', 'grid']);
});

test.serial('a job naming an unknown dataset, or mismatching an uploaded one, is refused at submit', async (t) => {
  const { client } = t.context;
  const spec = (dataset: string, units: number) =>
    JobSpec.fromJSON({
      name: 'x',
      model: { layers: [{ dense: { units, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1 } } },
      dataset: { name: dataset },
      training: { epochs: 1, globalBatchSize: 8, seed: 1 },
      workers: { min: 1, max: 1 },
    });
  const unknown = await refusal(client.submit(spec('nope', 2)));
  t.is(unknown.code, status.INVALID_ARGUMENT);
  t.regex(unknown.details, /^dataset\.name: unknown dataset "nope"/);
  const mismatch = await refusal(client.submit(spec('blobs', 3)));
  t.regex(mismatch.details, /^model\.layers\[0\]\.dense\.units: .*\(2\)/);
});
