// Datasets larger than a worker's memory: uploads stream into shards (a size limit refuses what
// is too large and keeps nothing; a broken connection resumes from the last stored shard), and
// a dataset four times a worker's shard cache trains to the same weights as the same data held
// in memory, in one process and across two worker processes; classes selected on an upload
// (dataset.classes) are kept by its label index, the same samples as in memory.
import { createServer, connect, type Server, type Socket } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { BUCKETS, JobSpec, datasetBucket, JobState, TENSOR_ROWS_VERSION, encodeTensorHeader, encodeTensorRow, seededRandom, type Job, type UserDataset } from '@syncline/proto';
import { userDatasetInfo, validateJobSpec } from '@syncline/coordinator';
import { selectBackend } from '@syncline/worker';
import type { Dataset } from '../../worker/src/data/dataset.js';
import { ShardCache } from '../../worker/src/data/shard-cache.js';
import { ShardedSplit } from '../../worker/src/data/sharded-split.js';
import { objectStoreFetcher, openUserDataset } from '../../worker/src/data/user-datasets.js';
import { jobSplits } from '../../worker/src/data/selection.js';
import { modelFiles } from '../../worker/src/artifacts/model-files.js';
import { maxRelativeError, trainAlone } from '../../worker/test/helpers/in-process-job.js';
import { SynclineClient } from '../src/client.js';
import type { UploadSource } from '../src/datasets/upload-stream.js';
import { startLocalCluster, type LocalCluster } from '../src/local-cluster.js';

const SAMPLES = 1600;
const FEATURES = 12;
const CLASSES = 3;
const SHARD_BYTES = 4096;
const MAX_UPLOAD = 512 * 1024;
const ROW_BYTES = 4 * (FEATURES + CLASSES);
const PER_SHARD = Math.floor(SHARD_BYTES / ROW_BYTES);
/** A quarter of the whole dataset as the workers store it. */
const CACHE_BYTES = Math.floor((Math.floor(SAMPLES / PER_SHARD) * (20 + PER_SHARD * ROW_BYTES) + (SAMPLES % PER_SHARD ? 20 + (SAMPLES % PER_SHARD) * ROW_BYTES : 0)) / 4);

const test = anyTest as TestFn<{ cluster: LocalCluster; client: SynclineClient }>;

test.before(async (t) => {
  await selectBackend('wasm');
  t.context.cluster = await startLocalCluster({ workers: 2, datasets: { maxUploadBytes: MAX_UPLOAD }, workerEnv: { SYNCLINE_DATASET_CACHE_BYTES: String(CACHE_BYTES) } });
  t.context.client = new SynclineClient(t.context.cluster.coordinator.grpcAddress, { token: t.context.cluster.secrets.adminToken });
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.stop();
});

/** Every row of a split read shard by shard. */
function readAll(split: Dataset['train']): Promise<{ x: Float32Array; y: Float32Array }> {
  if (!(split instanceof ShardedSplit)) throw new Error('expected a split read shard by shard');
  return split.rows(Uint32Array.from({ length: split.count }, (_, i) => i));
}

/** Three noisy clusters in 12 dimensions, in random order: a learnable classification. */
function blobs(n: number, seed = 4): { x: Float32Array; y: Float32Array } {
  const random = seededRandom(seed);
  const x = new Float32Array(n * FEATURES);
  const y = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(random() * CLASSES);
    for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = (f % CLASSES === label ? 1 : 0) + (random() - 0.5);
    y[i * CLASSES + label] = 1;
  }
  return { x, y };
}

/** A version-2 tensor file of `data`, produced as it is read (from any sample boundary). */
function rowsSource(data: { x: Float32Array; y: Float32Array }, n: number, knownSize = true): UploadSource {
  const size = 20 + n * ROW_BYTES;
  return {
    ...(knownSize ? { size } : {}),
    async *read(from) {
      if (from === 0) yield encodeTensorHeader(TENSOR_ROWS_VERSION, n, FEATURES, CLASSES);
      const first = from === 0 ? 0 : (from - 20) / ROW_BYTES;
      for (let i = first; i < n; i++) yield encodeTensorRow(data.x.subarray(i * FEATURES, (i + 1) * FEATURES), data.y.subarray(i * CLASSES, (i + 1) * CLASSES));
    },
  };
}

const header = (name: string) => ({ name, format: 'tensor', classes: CLASSES, shardBytes: SHARD_BYTES });

/** Objects of dataset store `prefix` names (`datasets/<name>/`). */
async function objectsUnder(cluster: LocalCluster, prefix: string): Promise<string[]> {
  const store = await cluster.coordinator.nc.jetstream().views.os(datasetBucket(prefix.split('/')[1]!));
  return (await store.list()).map((o) => o.name).filter((n) => n.startsWith(prefix));
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; details: string; message: string };
  }
  throw new Error('expected a refusal');
}

/**
 * `source` that, on its first pass, waits after `bytes` bytes until the coordinator has stored
 * a shard of upload `uploadId`, so the cut that follows falls after stored progress however
 * slowly a loaded machine runs.
 */
function pausingSource(source: UploadSource, client: SynclineClient, uploadId: string, bytes: number): UploadSource {
  let first = true;
  return {
    ...(source.size !== undefined ? { size: source.size } : {}),
    async *read(from) {
      const pause = first;
      first = false;
      let sent = from;
      let waited = false;
      for await (const piece of source.read(from)) {
        yield piece;
        sent += piece.length;
        if (pause && !waited && sent >= bytes) {
          waited = true;
          while ((await client.uploadProgress(uploadId)).committedShards === 0) await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}

/** A TCP proxy to `port` that cuts its first connection after `cutAfter` bytes from the client. */
async function flakyProxy(port: number, cutAfter: number): Promise<{ address: string; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let forwarded = 0;
    const cutThis = cuts === 0;
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      if (cutThis && forwarded > cutAfter && cuts === 0) {
        cuts += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    address,
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test.serial('an upload over the size limit is refused, at once when its size is known, and keeps nothing', async (t) => {
  const { client, cluster } = t.context;
  const n = Math.ceil(MAX_UPLOAD / ROW_BYTES) + 100;
  const data = blobs(n);
  const known = await refusal(client.uploadDataset(header('too-big'), rowsSource(data, n)));
  t.is(known.code, status.RESOURCE_EXHAUSTED);
  t.regex(known.message, new RegExp(`larger than the coordinator's upload limit of ${MAX_UPLOAD} bytes`));
  // Without a size the coordinator finds out while streaming: shards were stored by then, and go.
  const streamed = await refusal(client.uploadDataset(header('too-big'), rowsSource(data, n, false)));
  t.is(streamed.code, status.RESOURCE_EXHAUSTED);
  t.deepEqual(await objectsUnder(cluster, 'datasets/too-big/'), []);
  t.deepEqual((await client.datasets()).map((d) => d.name), []);
});

test.serial('a broken connection resumes from the last stored shard, and the stored samples are exactly the file', async (t) => {
  const { client, cluster } = t.context;
  const n = 3000;
  const data = blobs(n, 8);
  const port = Number(cluster.coordinator.grpcAddress.split(':').at(-1));
  const proxy = await flakyProxy(port, 100_000);
  const flaky = new SynclineClient(proxy.address, { token: t.context.cluster.secrets.adminToken });
  const resumes: { offset: number; shards: number }[] = [];
  let d: UserDataset;
  try {
    d = await flaky.uploadDataset({ ...header('resumed'), uploadId: 'resumed-1' }, pausingSource(rowsSource(data, n), client, 'resumed-1', 50_000), {
      onResume: (offset, p) => resumes.push({ offset, shards: p.committedShards }),
    });
  } finally {
    flaky.close();
    await proxy.close();
  }
  t.is(proxy.cuts(), 1);
  t.is(resumes.length, 1);
  // Shards were stored before the file ended: the coordinator does not hold an upload whole.
  t.true(resumes[0]!.shards > 0 && resumes[0]!.offset > 20, JSON.stringify(resumes));
  t.is((resumes[0]!.offset - 20) % ROW_BYTES, 0);
  t.like(d, { name: 'resumed', train: 2400, heldout: 600, samplesPerShard: PER_SHARD });
  // Class counts from the label indexes of the shards of both connections.
  const labels = Array.from({ length: n }, (_, i) => data.y.subarray(i * CLASSES, (i + 1) * CLASSES).indexOf(1));
  t.deepEqual(d.trainClassCounts, Array.from({ length: CLASSES }, (_, c) => labels.slice(0, 2400).filter((l) => l === c).length));
  t.deepEqual(d.heldoutClassCounts, Array.from({ length: CLASSES }, (_, c) => labels.slice(2400).filter((l) => l === c).length));
  t.is(d.shards.length, Math.ceil(n / PER_SHARD));
  t.is((await client.uploadProgress('none-such')).committedBytes, 0);

  const dataset = await openUserDataset(d, objectStoreFetcher(cluster.coordinator.nc, d.name), { heldout: true, cache: new ShardCache(1 << 20) });
  const all = await readAll(dataset.train);
  t.deepEqual(all.x, data.x.subarray(0, 2400 * FEATURES));
  t.deepEqual(all.y, data.y.subarray(0, 2400 * CLASSES));
  t.deepEqual((await readAll(dataset.heldout)).x, data.x.subarray(2400 * FEATURES));
  // Each stored shard and its label index, nothing else (no orphan of the broken connection).
  t.deepEqual((await objectsUnder(cluster, 'datasets/resumed/')).sort(), d.shards.flatMap((s) => [s.object, s.labelsObject]).sort());
});

function spec(name: string, workers: number): JobSpec {
  return JobSpec.fromJSON({
    name,
    model: { layers: [{ dense: { units: 16, activation: 'tanh' } }, { dense: { units: CLASSES, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } } },
    dataset: { name: 'blobs4x' },
    training: { epochs: 2, globalBatchSize: 64, seed: 3 },
    workers: { min: workers, max: workers },
  });
}

async function weightsOf(replica: { publishedModel(): import('@tensorflow/tfjs').LayersModel }): Promise<Float32Array> {
  const { files, modelJson } = await modelFiles(replica.publishedModel(), {});
  const paths = (modelJson.weightsManifest as { paths: string[] }[]).flatMap((g) => g.paths);
  const bytes = Buffer.concat(paths.map((p) => files.get(p)!));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

async function publishedWeights(job: Job): Promise<Float32Array> {
  const get = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
  const modelJson = JSON.parse(new TextDecoder().decode(await get(job.model!.url))) as { weightsManifest: { paths: string[] }[] };
  const base = job.model!.url.replace(/model\.json$/, '');
  const bytes = Buffer.concat(await Promise.all(modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => get(base + p))));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

test.serial('a dataset four times the shard cache trains to the same weights as in memory, in one process and on two workers', async (t) => {
  const { client, cluster } = t.context;
  const data = blobs(SAMPLES);
  const d = await client.uploadDataset(header('blobs4x'), rowsSource(data, SAMPLES));
  const stored = d.shards.reduce((a, s) => a + s.bytes, 0);
  t.true(stored >= 4 * CACHE_BYTES, `${stored} bytes stored, cache ${CACHE_BYTES}`);

  // The same samples held in memory, ordered as their shards are.
  const inMemory: Dataset = {
    name: 'blobs4x',
    inputShape: [FEATURES],
    featureSize: FEATURES,
    target: { kind: 'classes', classes: CLASSES },
    targetSize: CLASSES,
    train: { x: data.x.subarray(0, d.train * FEATURES), y: data.y.subarray(0, d.train * CLASSES), count: d.train },
    heldout: { x: data.x.subarray(d.train * FEATURES), y: data.y.subarray(d.train * CLASSES), count: d.heldout },
    samplesPerShard: d.samplesPerShard,
  };
  const s = validateJobSpec(spec('blobs4x-reference', 1), { blobs4x: userDatasetInfo(d) });
  const reference = await trainAlone(s, inMemory);
  const expected = await weightsOf(reference.replica);
  t.true(reference.metrics.accuracy > 0.9, `held-out accuracy ${reference.metrics.accuracy}`);
  reference.replica.dispose();

  const cache = new ShardCache(CACHE_BYTES);
  const sharded = await openUserDataset(d, objectStoreFetcher(cluster.coordinator.nc, d.name), { heldout: true, cache });
  const alone = await trainAlone(s, sharded);
  t.deepEqual(await weightsOf(alone.replica), expected);
  t.is(alone.metrics.loss, reference.metrics.loss);
  alone.replica.dispose();
  // The cache stayed within its budget and read shards again: the dataset never fit in it.
  const trainShards = Math.ceil(d.train / d.samplesPerShard);
  t.true(cache.stats.peakBytes <= CACHE_BYTES, `peak ${cache.stats.peakBytes} of ${CACHE_BYTES}`);
  t.true(cache.stats.evictions > 0);
  t.true(cache.stats.misses + cache.stats.prefetches >= 2 * trainShards, JSON.stringify(cache.stats));
  t.true(cache.stats.prefetches > 0 && cache.stats.hits > 0, JSON.stringify(cache.stats));

  const job = await client.submit(spec('blobs4x-two-workers', 2));
  const final = await client.watch(job.id);
  t.is(final.state, JobState.JOB_STATE_SUCCEEDED, final.error);
  const error = maxRelativeError(await publishedWeights(final), expected);
  t.true(error < 1e-5, `two workers differ from one process in memory by ${error} (relative)`);
});

test.serial('a CSV upload resumes after a broken connection at a row boundary, with the right line numbers after it', async (t) => {
  const { client, cluster } = t.context;
  const n = 3000;
  const data = blobs(n, 12);
  const names = [...Array.from({ length: FEATURES }, (_, f) => `f${f}`), 'label'];
  const lines = [names.join(',')];
  for (let i = 0; i < n; i++) {
    const x = Array.from(data.x.subarray(i * FEATURES, (i + 1) * FEATURES), (v) => v.toFixed(5));
    lines.push([...x, data.y.subarray(i * CLASSES, (i + 1) * CLASSES).indexOf(1)].join(','));
  }
  const csv = new TextEncoder().encode(lines.join('\r\n') + '\r\n');
  const port = Number(cluster.coordinator.grpcAddress.split(':').at(-1));
  const csvHeader = (name: string) => ({ name, format: 'csv', classes: CLASSES, shardBytes: SHARD_BYTES });

  const proxy = await flakyProxy(port, 120_000);
  const flaky = new SynclineClient(proxy.address, { token: t.context.cluster.secrets.adminToken });
  const resumes: number[] = [];
  let d: UserDataset;
  try {
    // Sent in 16 KiB messages, so the cut falls after some of them arrived whole.
    const source: UploadSource = {
      size: csv.length,
      async *read(from) {
        for (let at = from; at < csv.length; at += 16384) yield csv.subarray(at, Math.min(csv.length, at + 16384));
      },
    };
    d = await flaky.uploadDataset({ ...csvHeader('resumed-csv'), uploadId: 'resumed-csv-1' }, pausingSource(source, client, 'resumed-csv-1', 50_000), { onResume: (offset) => resumes.push(offset) });
  } finally {
    flaky.close();
    await proxy.close();
  }
  t.is(resumes.length, 1);
  // The resume point is the start of a row.
  t.true(resumes[0]! > 0 && csv[resumes[0]! - 1] === 10, `resumed at byte ${resumes[0]}`);
  t.like(d, { train: 2400, heldout: 600 });
  const dataset = await openUserDataset(d, objectStoreFetcher(cluster.coordinator.nc, d.name), { heldout: true, cache: new ShardCache(1 << 20) });
  const heldout = await readAll(dataset.heldout);
  t.deepEqual(heldout.y, data.y.subarray(2400 * CLASSES));
  const expectedX = Float32Array.from(lines.slice(1 + 2400).flatMap((l) => l.split(',').slice(0, FEATURES).map(Number)));
  t.deepEqual(heldout.x, expectedX);

  // A bad cell far past the first shard is reported on its own line.
  const bad = lines.slice();
  bad[2500] = bad[2500]!.replace(/^[^,]+/, 'oops');
  const refused = await refusal(client.uploadDataset(csvHeader('bad-csv'), new TextEncoder().encode(bad.join('\n') + '\n')));
  t.is(refused.code, status.INVALID_ARGUMENT);
  t.regex(refused.message, /CSV line 2501, column "f0": "oops" is not a finite number/);
  t.deepEqual(await objectsUnder(cluster, 'datasets/bad-csv/'), []);
});

test.serial('classes selected on an uploaded dataset: kept by the label index alone, the same samples and weights as in memory, on two workers too', async (t) => {
  const { client, cluster } = t.context;
  const data = blobs(SAMPLES, 9);
  const d = await client.uploadDataset(header('blobs-classes'), rowsSource(data, SAMPLES));
  t.true(d.shards.length > 8 && d.shards.every((s) => s.labelsObject !== '' && s.labelsSha256 !== ''), `${d.shards.length} shards`);
  const labels = Array.from({ length: SAMPLES }, (_, i) => data.y.subarray(i * CLASSES, (i + 1) * CLASSES).indexOf(1));
  const count = (from: number, to: number) => Array.from({ length: CLASSES }, (_, c) => labels.slice(from, to).filter((l) => l === c).length);
  t.deepEqual(d.trainClassCounts, count(0, d.train));
  t.deepEqual(d.heldoutClassCounts, count(d.train, SAMPLES));

  const classes = [0, 2];
  const jobSpec = (name: string, workers: number) => {
    const s = spec(name, workers);
    s.dataset = { ...s.dataset!, name: 'blobs-classes', classes };
    return s;
  };
  const s = validateJobSpec(jobSpec('classes-reference', 1), { 'blobs-classes': userDatasetInfo(d) });
  t.is(s.dataset!.trainLimit, d.trainClassCounts[0]! + d.trainClassCounts[2]!);

  // The selection reads label indexes, never a shard.
  const fetched: string[] = [];
  const fetcher = objectStoreFetcher(cluster.coordinator.nc, d.name);
  const sharded = await openUserDataset(d, (shard) => (fetched.push(shard.object), fetcher(shard)), { heldout: true, cache: new ShardCache(CACHE_BYTES) });
  fetched.length = 0;
  const { train } = await jobSplits(sharded, s.dataset!);
  t.true(fetched.length > 0 && fetched.every((o) => o.endsWith('.labels')), fetched.join(', '));
  const expectedRows = labels.slice(0, d.train).flatMap((l, i) => (classes.includes(l) ? [i] : []));
  t.is(train.count, expectedRows.length);
  const got = await train.rows(Uint32Array.from({ length: train.count }, (_, i) => i));
  t.deepEqual(got.x, Float32Array.from(expectedRows.flatMap((i) => Array.from(data.x.subarray(i * FEATURES, (i + 1) * FEATURES)))));

  // The same data held in memory, ordered as their shards are, the same classes selected.
  const inMemory: Dataset = {
    name: 'blobs-classes',
    inputShape: [FEATURES],
    featureSize: FEATURES,
    target: { kind: 'classes', classes: CLASSES },
    targetSize: CLASSES,
    train: { x: data.x.subarray(0, d.train * FEATURES), y: data.y.subarray(0, d.train * CLASSES), count: d.train },
    heldout: { x: data.x.subarray(d.train * FEATURES), y: data.y.subarray(d.train * CLASSES), count: d.heldout },
    samplesPerShard: d.samplesPerShard,
  };
  const reference = await trainAlone(s, inMemory);
  const expected = await weightsOf(reference.replica);
  t.is(reference.metrics.heldoutExamples, d.heldoutClassCounts[0]! + d.heldoutClassCounts[2]!);
  reference.replica.dispose();
  const alone = await trainAlone(s, sharded);
  t.deepEqual(await weightsOf(alone.replica), expected);
  t.is(alone.metrics.loss, reference.metrics.loss);
  alone.replica.dispose();

  const job = await client.submit(jobSpec('classes-two-workers', 2));
  const final = await client.watch(job.id);
  t.is(final.state, JobState.JOB_STATE_SUCCEEDED, final.error);
  const error = maxRelativeError(await publishedWeights(final), expected);
  t.true(error < 1e-5, `two workers differ from one process in memory by ${error} (relative)`);

  // A record from before label indexes: refused at submit, and by a worker, with what to do.
  const old: UserDataset = { ...d, trainClassCounts: [], heldoutClassCounts: [], shards: d.shards.map((sh) => ({ ...sh, labelsObject: '', labelsSha256: '' })) };
  t.throws(() => validateJobSpec(jobSpec('old', 1), { 'blobs-classes': userDatasetInfo(old) }), { message: /dataset.classes: .*re-upload it to select classes/ });
  const oldDataset = await openUserDataset(old, fetcher, { heldout: false, cache: new ShardCache(CACHE_BYTES) });
  await t.throwsAsync(jobSplits(oldDataset, s.dataset!), { message: /dataset.classes: dataset blobs-classes has no label index .*re-upload it to select classes/ });
});
