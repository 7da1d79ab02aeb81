// A held-out split larger than a worker's shard cache: rank 0 evaluates it a batch at a time,
// shard by shard through the cache (never the whole split in memory), and every evaluation
// (every N steps, at epoch ends, the final one; with classes selected too; a GAN's) is bit for
// bit what the same samples held in memory give.
import { createHash } from 'node:crypto';
import test from 'ava';
import { userDatasetInfo, validateJobSpec } from '@syncline/coordinator';
import { JobSpec, UserDataset, encodeLabels, encodeTensorFile, seededRandom, type DatasetShard, type StepMetrics } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import type { Dataset, InMemoryDataset } from '../src/data/dataset.js';
import { EVALUATION_BATCH_SIZE } from '../src/data/evaluation-batches.js';
import { memorySource } from '../src/data/sample-source.js';
import { jobSplits } from '../src/data/selection.js';
import { ShardCache } from '../src/data/shard-cache.js';
import { ShardedSplit } from '../src/data/sharded-split.js';
import { openUserDataset } from '../src/data/user-datasets.js';
import { GanTrainer } from '../src/train/gan-trainer.js';
import { runJob } from '../src/train/run-job.js';
import { assignment } from './helpers/in-process-job.js';

const FEATURES = 12;
const CLASSES = 3;
const PER_SHARD = 200;
const TRAIN = 900;
const HELDOUT = 3900;
const SAMPLES = TRAIN + HELDOUT;
const SHARD_BYTES = 20 + PER_SHARD * 4 * (FEATURES + CLASSES);
/** Four shards: the held-out split is stored in 20 (it starts inside shard 4), five times that. */
const CACHE_BYTES = 4 * SHARD_BYTES;

test.before(async () => {
  await selectBackend('wasm');
});

/** Three noisy clusters in 12 dimensions, in random order: a learnable classification. */
function blobs(n: number, seed: number): { x: Float32Array; y: Float32Array; labels: number[] } {
  const random = seededRandom(seed);
  const x = new Float32Array(n * FEATURES);
  const y = new Float32Array(n * CLASSES);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = Math.floor(random() * CLASSES);
    for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = (f % CLASSES === label ? 1 : 0) + (random() - 0.5);
    y[i * CLASSES + label] = 1;
    labels.push(label);
  }
  return { x, y, labels };
}

type Data = ReturnType<typeof blobs>;

/** The data stored as an upload stores it: shards of PER_SHARD samples and their label indexes, and its record. */
function stored(name: string, data: Data): { record: UserDataset; objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const shards: DatasetShard[] = [];
  for (let first = 0; first < SAMPLES; first += PER_SHARD) {
    const end = Math.min(SAMPLES, first + PER_SHARD);
    const bytes = encodeTensorFile({ samples: end - first, features: FEATURES, targets: CLASSES, x: data.x.subarray(first * FEATURES, end * FEATURES), y: data.y.subarray(first * CLASSES, end * CLASSES) });
    const labels = encodeLabels(data.labels.slice(first, end));
    const object = `datasets/${name}/shard-${shards.length}`;
    objects.set(object, bytes).set(`${object}.labels`, labels);
    shards.push({ object, samples: end - first, bytes: bytes.length, sha256: sha256(bytes), labelsObject: `${object}.labels`, labelsSha256: sha256(labels) });
  }
  const counts = (from: number, to: number) => Array.from({ length: CLASSES }, (_, c) => data.labels.slice(from, to).filter((l) => l === c).length);
  const record = UserDataset.fromJSON({ name, inputShape: [FEATURES], classes: CLASSES, targetSize: CLASSES, train: TRAIN, heldout: HELDOUT, sha256: 'test', samplesPerShard: PER_SHARD, trainClassCounts: counts(0, TRAIN), heldoutClassCounts: counts(TRAIN, SAMPLES) });
  return { record: { ...record, shards }, objects };
}

/** The same samples held in memory, ordered as their shards are. */
function inMemory(name: string, data: Data): InMemoryDataset {
  return {
    name,
    inputShape: [FEATURES],
    featureSize: FEATURES,
    target: { kind: 'classes', classes: CLASSES },
    targetSize: CLASSES,
    train: { x: data.x.subarray(0, TRAIN * FEATURES), y: data.y.subarray(0, TRAIN * CLASSES), count: TRAIN },
    heldout: { x: data.x.subarray(TRAIN * FEATURES), y: data.y.subarray(TRAIN * CLASSES), count: HELDOUT },
    samplesPerShard: PER_SHARD,
  };
}

/** The upload opened as rank 0 opens it, through a cache of CACHE_BYTES; what it fetches and the most held-out rows gathered at once. */
async function opened(s: ReturnType<typeof stored>) {
  const fetched: string[] = [];
  const cache = new ShardCache(CACHE_BYTES);
  const dataset = await openUserDataset(
    s.record,
    async (shard) => {
      fetched.push(shard.object);
      const bytes = s.objects.get(shard.object);
      if (!bytes) throw new Error(`no object ${shard.object}`);
      return bytes;
    },
    { heldout: true, cache },
  );
  const heldout = dataset.heldout;
  if (!(heldout instanceof ShardedSplit)) throw new Error('the held-out split of an upload should be read shard by shard');
  const gathered = { most: 0 };
  const rows = heldout.rows.bind(heldout);
  heldout.rows = (indices, signal) => ((gathered.most = Math.max(gathered.most, indices.length)), rows(indices, signal));
  return { dataset, cache, fetched, gathered };
}

function spec(name: string, classes: number[] = []): JobSpec {
  return JobSpec.fromJSON({
    name: 'heldout-stream',
    model: { layers: [{ dense: { units: 16, activation: 'tanh' } }, { dense: { units: CLASSES, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } } },
    dataset: { name, classes },
    training: { epochs: 2, globalBatchSize: 64, seed: 3, heldoutEverySteps: 5 },
    workers: { min: 1, max: 1 },
  });
}

async function train(jobSpec: JobSpec, dataset: Dataset) {
  const metrics: StepMetrics[] = [];
  const result = await runJob({
    assignment: assignment(jobSpec, 'heldout-stream', 1, 0, [1]),
    dataset,
    collective: { allReduceSum: async (d) => d, broadcast: async (d) => d! },
    onStep: (m) => metrics.push(m),
  });
  const weights = await result.replica.getWeights();
  result.replica.dispose();
  const evaluations = metrics.filter((m) => m.heldoutExamples > 0).map((m) => ({ step: m.step, examples: m.heldoutExamples, loss: m.heldoutLoss, accuracy: m.heldoutAccuracy, mae: m.heldoutMae }));
  return { final: result.metrics, evaluations, weights };
}

test('a held-out split five times the shard cache is evaluated a batch at a time, bit for bit as in memory', async (t) => {
  const data = blobs(SAMPLES, 5);
  const upload = stored('big-heldout', data);
  const heldoutShards = upload.record.shards.slice(Math.floor(TRAIN / PER_SHARD));
  const heldoutBytes = heldoutShards.reduce((a, s) => a + s.bytes, 0);
  t.true(heldoutBytes >= 5 * CACHE_BYTES, `held-out ${heldoutBytes} bytes, cache ${CACHE_BYTES}`);
  const jobSpec = validateJobSpec(spec('big-heldout'), { 'big-heldout': userDatasetInfo(upload.record) });

  const reference = await train(jobSpec, inMemory('big-heldout', data));
  // Every 5 steps and at the epoch end (15 steps an epoch), then the final evaluation.
  t.deepEqual(reference.evaluations.map((e) => e.step), [5, 10, 15, 20, 25]);
  t.true(reference.final.accuracy > 0.9, `held-out accuracy ${reference.final.accuracy}`);

  const { dataset, cache, fetched, gathered } = await opened(upload);
  t.deepEqual(fetched, [], 'opening the dataset reads nothing: the held-out split is read as it is evaluated');
  const streamed = await train(jobSpec, dataset);
  t.deepEqual(streamed.weights, reference.weights);
  t.deepEqual(streamed.evaluations, reference.evaluations);
  t.deepEqual(streamed.final, { ...reference.final, seconds: streamed.final.seconds });
  t.is(streamed.final.heldoutExamples, HELDOUT);

  // Bounded memory: one evaluation batch gathered at a time beside a cache within its budget,
  // which could never hold the held-out split: each evaluation read its shards again.
  t.true(gathered.most > 0 && gathered.most <= EVALUATION_BATCH_SIZE, `${gathered.most} held-out rows gathered at once`);
  t.true(cache.stats.peakBytes <= CACHE_BYTES, `cache peak ${cache.stats.peakBytes} of ${CACHE_BYTES}`);
  const reads = heldoutShards.map((s) => fetched.filter((o) => o === s.object).length);
  t.true(reads.every((n) => n >= 6), `held-out shard reads: ${reads.join(', ')}`);
  // The next shards load while a batch computes: most shards were there when a batch asked.
  t.true(cache.stats.prefetches > cache.stats.misses && cache.stats.hits > 0, JSON.stringify(cache.stats));
});

test('classes selected on an upload: the held-out samples are kept by the label index and evaluated as the same selection in memory', async (t) => {
  const data = blobs(SAMPLES, 6);
  const upload = stored('big-heldout-classes', data);
  const classes = [0, 2];
  const jobSpec = validateJobSpec(spec('big-heldout-classes', classes), { 'big-heldout-classes': userDatasetInfo(upload.record) });
  const expected = data.labels.slice(TRAIN).flatMap((l, i) => (classes.includes(l) ? [i] : []));

  const { dataset, cache, fetched, gathered } = await opened(upload);
  const { heldout } = await jobSplits(dataset, jobSpec.dataset!);
  t.is(heldout.count, expected.length);
  t.true(fetched.length > 0 && fetched.every((o) => o.endsWith('.labels')), `the selection reads label indexes only: ${fetched.join(', ')}`);
  const rows = await heldout.rows(Uint32Array.from(expected.keys()));
  t.deepEqual(rows.y, Float32Array.from(expected.flatMap((i) => Array.from(data.y.subarray((TRAIN + i) * CLASSES, (TRAIN + i + 1) * CLASSES)))));
  gathered.most = 0;

  const reference = await train(jobSpec, inMemory('big-heldout-classes', data));
  t.is(reference.final.heldoutExamples, expected.length);
  const streamed = await train(jobSpec, dataset);
  t.deepEqual(streamed.weights, reference.weights);
  t.deepEqual(streamed.evaluations, reference.evaluations);
  t.deepEqual(streamed.final, { ...reference.final, seconds: streamed.final.seconds });
  t.true(gathered.most <= EVALUATION_BATCH_SIZE, `${gathered.most} held-out rows gathered at once`);
  t.true(cache.stats.peakBytes <= CACHE_BYTES, `cache peak ${cache.stats.peakBytes} of ${CACHE_BYTES}`);
});

test("a GAN's evaluation reads its first 1,000 held-out samples through the cache, as in memory", async (t) => {
  const data = blobs(SAMPLES, 7);
  const upload = stored('gan-heldout', data);
  const ganSpec = validateJobSpec(
    JobSpec.fromJSON({
      name: 'gan-heldout',
      gan: {
        latentDim: 4,
        generator: [{ dense: { units: 8, activation: 'relu' } }, { dense: { units: FEATURES } }],
        discriminator: [{ dense: { units: 8, activation: 'leakyRelu' } }, { dense: { units: 1, activation: 'sigmoid' } }],
        generatorOptimizer: { adam: { learningRate: 0.01 } },
        discriminatorOptimizer: { adam: { learningRate: 0.01 } },
      },
      dataset: { name: 'gan-heldout' },
      training: { epochs: 1, globalBatchSize: 16, seed: 3 },
      workers: { min: 1, max: 1 },
    }),
    { 'gan-heldout': userDatasetInfo(upload.record) },
  );
  const memory = inMemory('gan-heldout', data);
  const { dataset, cache, gathered } = await opened(upload);
  const gan = new GanTrainer(ganSpec, memory);
  try {
    const expected = await gan.evaluate(memorySource(memory.heldout, memory));
    const got = await gan.evaluate((await jobSplits(dataset, ganSpec.dataset!)).heldout);
    t.deepEqual(got, expected);
    t.true(Number.isFinite(expected.loss));
    t.is(gathered.most, 1000);
    t.true(cache.stats.peakBytes <= CACHE_BYTES);
  } finally {
    gan.dispose();
  }
});
