// The central correctness test: N workers exchanging gradients over a real nats-server end
// with the same weights as one process training plain TF.js on the same global batches, a
// transfer job whose frozen base has batch normalization too. Then, in one process over the
// in-memory bus: dropout, convolution, recurrent and GAN models, with uneven shares and a
// membership change in the middle, against one replica training alone; every random draw
// (dropout masks, latent vectors) depends on the sample, never on the rank.
import anyTest, { type TestFn } from 'ava';
import * as tf from '@tensorflow/tfjs';
import { validateJobSpec, type BaseModelInfo } from '@syncline/coordinator';
import { JobSpec, epochOrder, stepsPerEpoch, type Assignment } from '@syncline/proto';
import { NatsCredentialIssuer } from '@syncline/coordinator';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import type { NatsConnection } from 'nats';
import { Collective } from '../src/allreduce/collective.js';
import { NatsBus } from '../src/allreduce/nats-bus.js';
import { connectNats } from '../src/nats-connection.js';
import type { AlgorithmChoice } from '../src/allreduce/select.js';
import { selectBackend } from '../src/backend.js';
import { releaseWebGPU } from '../src/backends/webgpu/backend.js';
import { gatherRows, limitSplit } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/registry.js';
import { loadMnist } from '../src/data/mnist.js';
import { Streams, sampleUniforms } from '../src/random/sample-random.js';
import { runJob } from '../src/train/run-job.js';
import { BN_BASE, batchNormBase, layerWeights, type BatchNormBase } from './helpers/batch-norm-base.js';
import { maxRelativeError as flatRelativeError, trainAlone, trainInProcess, type GenerationPlan } from './helpers/in-process-job.js';

const test = anyTest as TestFn<{ nats: NatsServer }>;

// Whether webgpu runs here (below), found before any test is declared.
const webgpu = await selectBackend('webgpu').then(
  () => undefined,
  (err: Error) => err.message,
);
test.after.always(() => releaseWebGPU());

test.before(async (t) => {
  await selectBackend('wasm');
  // A small max_payload, so every gradient exchange spans several chunks.
  t.context.nats = await startNatsServer({ maxPayload: 64 * 1024 });
});
test.after.always(async (t) => {
  await t.context.nats?.stop();
});

const TRAIN = 300;
const BATCH = 50;
const STEPS = 9; // crosses an epoch boundary (6 steps per epoch)

const DROPOUT = 0.4;

function spec(dropout = false): JobSpec {
  return JobSpec.fromJSON({
    name: 'equivalence',
    model: {
      layers: [
        { dense: { units: 32, activation: 'tanh' } },
        ...(dropout ? [{ dropout: { rate: DROPOUT } }] : []),
        { dense: { units: 16, activation: 'relu' } },
        { dense: { units: 10, activation: 'softmax' } },
      ],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.2, momentum: 0.9 } },
    },
    dataset: { name: 'mnist', trainLimit: TRAIN },
    training: { epochs: 2, globalBatchSize: BATCH, seed: 11, maxSteps: STEPS },
    workers: { min: 1, max: 4 },
  });
}

/**
 * Plain TF.js, one process: mean loss over each whole global batch, the same optimizer. With
 * `dropout`, the first layer's output is masked as inverted dropout with the masks the
 * randomness module draws for each sample (layer 1 of model 0, pass 0).
 */
async function reference(initial: Float32Array[], dropout = false): Promise<Float32Array[]> {
  const s = spec();
  const data = loadMnist();
  const train = limitSplit(data.train, data, TRAIN);
  const layers = [
    tf.layers.dense({ inputShape: [784], units: 32, activation: 'tanh' }),
    tf.layers.dense({ units: 16, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ];
  const model = tf.sequential({ layers });
  model.setWeights(initial.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
  const optimizer = tf.train.momentum(0.2, 0.9);
  const perEpoch = stepsPerEpoch(TRAIN, BATCH);
  for (let step = 0; step < STEPS; step++) {
    const epoch = Math.floor(step / perEpoch);
    const order = epochOrder(s.training!.seed, epoch, TRAIN);
    const start = (step % perEpoch) * BATCH;
    const indices = order.slice(start, Math.min(TRAIN, start + BATCH));
    const rows = gatherRows(train, data, indices);
    const n = rows.x.length / 784;
    const xs = tf.tensor2d(rows.x, [n, 784]);
    const ys = tf.tensor2d(rows.y, [n, 10]);
    const mask = sampleUniforms(s.training!.seed, epoch, indices, Streams.dropout(0, 0, 1), 32).map((u) => (u >= DROPOUT ? 1 / (1 - DROPOUT) : 0));
    const maskTensor = tf.tensor2d(mask, [n, 32]);
    optimizer.minimize(() => {
      const hidden = layers[0]!.apply(xs) as tf.Tensor;
      const dropped = dropout ? tf.mul(hidden, maskTensor) : hidden;
      const out = layers[2]!.apply(layers[1]!.apply(dropped)) as tf.Tensor;
      return tf.mean(tf.metrics.categoricalCrossentropy(ys, out)) as tf.Scalar;
    });
    tf.dispose([xs, ys, maskTensor]);
  }
  const out = await readWeights(model);
  model.dispose();
  optimizer.dispose();
  return out;
}

/** data(), not dataSync(): a GPU backend reads back asynchronously. */
async function readWeights(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

/** Runs `run` on every rank of a world of `shares.length` workers over the real nats-server. */
async function overNats<T>(
  t: { context: { nats: NatsServer } },
  jobId: string,
  shares: number[],
  algorithm: AlgorithmChoice,
  timeoutMs: number,
  run: (collective: Collective, rank: number) => Promise<T>,
): Promise<T[]> {
  const connections: NatsConnection[] = [];
  const collectives: Collective[] = [];
  try {
    const issuer = new NatsCredentialIssuer(t.context.nats.accountKey);
    for (let rank = 0; rank < shares.length; rank++) connections.push(await connectNats(t.context.nats.url, await issuer.worker({ jobId }), { name: `rank-${rank}` }));
    for (let rank = 0; rank < shares.length; rank++) {
      collectives.push(
        new Collective({ bus: new NatsBus(connections[rank]!), jobId, generation: 1, rank, worldSize: shares.length, timeoutMs, algorithm }),
      );
    }
    await Promise.all(collectives.map((c) => c.start()));
    return await Promise.all(collectives.map(run));
  } finally {
    for (const c of collectives) c.close();
    await Promise.all(connections.map((nc) => nc.close()));
  }
}

async function distributed(
  t: { context: { nats: NatsServer } },
  shares: number[],
  algorithm: AlgorithmChoice = 'auto',
  dropout = false,
  timeoutMs = 20_000,
): Promise<{ weights: Float32Array[][]; initial: Float32Array[] }> {
  const jobId = `eq-${shares.join('-')}-${algorithm}${dropout ? '-dropout' : ''}`;
  const results = await overNats(t, jobId, shares, algorithm, timeoutMs, (collective, rank) => {
    const assignment: Assignment = { jobId, spec: spec(dropout), rank, worldSize: shares.length, generation: 1, shares, artifactPrefix: '', allreduceTimeoutSeconds: 20, checkpoint: '', checkpointObject: '', natsCredentials: undefined };
    return runJob({ assignment, dataset: loadMnist(), collective });
  });
  // Initial weights as broadcast by rank 0: rebuild rank 0's model from the same seed.
  const weights = await Promise.all(results.map((r) => readWeights(r.replica.publishedModel())));
  for (const r of results) r.replica.dispose();
  const { Trainer } = await import('../src/train/trainer.js');
  const fresh = new Trainer(spec(dropout), loadMnist());
  const initial = await readWeights(fresh.model);
  fresh.dispose();
  return { weights, initial };
}

function maxRelativeError(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((wa, i) => {
    const wb = b[i]!;
    let diff = 0;
    let norm = 0;
    for (let k = 0; k < wa.length; k++) {
      diff = Math.max(diff, Math.abs(wa[k]! - wb[k]!));
      norm = Math.max(norm, Math.abs(wb[k]!));
    }
    worst = Math.max(worst, diff / norm);
  });
  return worst;
}

const CASES: { shares: number[]; algorithm: AlgorithmChoice; dropout?: boolean }[] = [
  { shares: [1, 1], algorithm: 'auto' },
  { shares: [1, 1, 1], algorithm: 'auto' },
  { shares: [3, 1], algorithm: 'auto' },
  { shares: [1, 1, 1], algorithm: 'direct' },
  { shares: [1, 1, 1], algorithm: 'ring' },
  { shares: [1, 1, 1], algorithm: 'sharded' },
  { shares: [3, 1], algorithm: 'auto', dropout: true },
  { shares: [1, 2, 1], algorithm: 'sharded', dropout: true },
];

for (const { shares, algorithm, dropout = false } of CASES) {
  test.serial(`${shares.length} workers with shares ${shares.join(':')} and the ${algorithm} all-reduce match single-process training${dropout ? ', with dropout' : ''}`, async (t) => {
    const { weights, initial } = await distributed(t, shares, algorithm, dropout);
    const expected = await reference(initial, dropout);
    if (dropout) t.true(maxRelativeError(expected, await reference(initial)) > 1e-2, 'dropout changed the training');
    // Training moved the weights, so agreement is not trivially the initial state.
    t.true(maxRelativeError(expected, initial) > 1e-2);
    for (let rank = 0; rank < weights.length; rank++) {
      const err = maxRelativeError(weights[rank]!, expected);
      t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
      // Replicas apply bit-identical updates.
      t.deepEqual(weights[rank], weights[0]);
    }
  });
}

// The same on the native backend, whose products and loops run on several threads: replicas
// still apply bit-identical updates, and match one process within float rounding.
for (const { shares, algorithm } of [
  { shares: [1, 1], algorithm: 'auto' },
  { shares: [3, 1], algorithm: 'ring' },
] satisfies { shares: number[]; algorithm: AlgorithmChoice }[]) {
  test.serial(`on native: ${shares.length} workers with shares ${shares.join(':')} and the ${algorithm} all-reduce match single-process training`, async (t) => {
    await selectBackend('native', { threads: 2 });
    try {
      const { weights, initial } = await distributed(t, shares, algorithm);
      const expected = await reference(initial);
      t.true(maxRelativeError(expected, initial) > 1e-2);
      for (let rank = 0; rank < weights.length; rank++) {
        const err = maxRelativeError(weights[rank]!, expected);
        t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
        t.deepEqual(weights[rank], weights[0]);
      }
    } finally {
      await selectBackend('wasm');
    }
  });
}

// The same on webgpu (a GPU, or SwiftShader where there is none; CI has it): GPU kernels sum
// in another order than the reference's cpu ones might, but the reference runs on webgpu too,
// and replicas on the same adapter still apply bit-identical updates.
for (const { shares, algorithm } of [
  { shares: [1, 1], algorithm: 'auto' },
  { shares: [1, 2, 1], algorithm: 'sharded' },
] satisfies { shares: number[]; algorithm: AlgorithmChoice }[]) {
  const title = `on webgpu: ${shares.length} workers with shares ${shares.join(':')} and the ${algorithm} all-reduce match single-process training`;
  (webgpu && !process.env.CI ? test.skip : test.serial)(webgpu ? `${title} (no adapter: ${webgpu})` : title, async (t) => {
    if (webgpu) return t.fail(`CI installs chromium (SwiftShader), so webgpu must run: ${webgpu}`);
    await selectBackend('webgpu');
    try {
      // SwiftShader compiles each kernel's shader on first use, in the CPU time two test
      // processes share: rank 0's first model and weights can take longer than a GPU's step.
      const { weights, initial } = await distributed(t, shares, algorithm, false, 90_000);
      const expected = await reference(initial);
      t.true(maxRelativeError(expected, initial) > 1e-2);
      for (let rank = 0; rank < weights.length; rank++) {
        const err = maxRelativeError(weights[rank]!, expected);
        t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
        t.deepEqual(weights[rank], weights[0]);
      }
    } finally {
      await selectBackend('wasm');
    }
  });
}

// Transfer learning from a base with batch normalization, its first block (convolution → batch
// norm → relu) frozen and its second convolution tuned under a new classifier. Frozen, a batch
// norm normalizes with its moving statistics (Keras' inference mode), so a sample's features do
// not depend on the share it is in, and N workers equal one process training plain TF.js that
// calls the frozen layers with training = false.
const BN_TRAIN_FROM = BN_BASE.conv2;

function transferSpec(info: BaseModelInfo): JobSpec {
  const s = spec();
  return validateJobSpec(
    JobSpec.fromJSON({
      ...JobSpec.toJSON(s) as object,
      name: 'equivalence-transfer',
      model: { ...(JobSpec.toJSON(s) as { model: object }).model, base: { name: info.name, upTo: String(BN_BASE.conv2), trainableFrom: BN_TRAIN_FROM }, layers: [{ flatten: {} }, { dense: { units: 10, activation: 'softmax' } }] },
    }),
    {},
    info,
  );
}

/** Plain TF.js, one process, on the same global batches: the base's layers with its weights, then the classifier from `head`. */
async function transferReference(bn: BatchNormBase, head: Float32Array[]): Promise<Float32Array[][]> {
  const s = spec();
  const data = loadMnist();
  const train = limitSplit(data.train, data, TRAIN);
  const model = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ filters: 4, kernelSize: 5, strides: 2 }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  const weights = [...bn.weights.slice(0, BN_BASE.conv2 + 1), [], head];
  model.layers.forEach((l, i) => l.setWeights(weights[i]!.map((w, k) => tf.tensor(w, l.getWeights()[k]!.shape))));
  const tuned = model.layers.slice(BN_TRAIN_FROM).flatMap((l) => l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
  const optimizer = tf.train.momentum(0.2, 0.9);
  const perEpoch = stepsPerEpoch(TRAIN, BATCH);
  for (let step = 0; step < STEPS; step++) {
    const epoch = Math.floor(step / perEpoch);
    const start = (step % perEpoch) * BATCH;
    const indices = epochOrder(s.training!.seed, epoch, TRAIN).slice(start, Math.min(TRAIN, start + BATCH));
    const rows = gatherRows(train, data, indices);
    const n = rows.x.length / 784;
    const xs = tf.tensor2d(rows.x, [n, 784]);
    const ys = tf.tensor2d(rows.y, [n, 10]);
    optimizer.minimize(
      () => {
        // The frozen layers as Keras calls them: in inference mode.
        const out = model.layers.reduce((h, l, i) => l.apply(h, { training: i >= BN_TRAIN_FROM }) as tf.Tensor, xs as tf.Tensor);
        return tf.mean(tf.metrics.categoricalCrossentropy(ys, out)) as tf.Scalar;
      },
      false,
      tuned,
    );
    tf.dispose([xs, ys]);
  }
  const out = model.layers.map(layerWeights);
  model.dispose();
  optimizer.dispose();
  return out;
}

for (const shares of [[3, 1], [1, 2, 1]]) {
  test.serial(`transfer from a base with a frozen batch norm: ${shares.length} workers with shares ${shares.join(':')} match plain TF.js in one process`, async (t) => {
    const bn = await batchNormBase();
    const s = transferSpec(bn.info);
    const baseModel = await bn.artifacts();
    const jobId = `eq-bn-${shares.join('-')}`;
    const results = await overNats(t, jobId, shares, 'auto', 20_000, (collective, rank) => {
      const assignment: Assignment = { jobId, spec: s, rank, worldSize: shares.length, generation: 1, shares, artifactPrefix: '', allreduceTimeoutSeconds: 20, checkpoint: '', checkpointObject: '', natsCredentials: undefined };
      return runJob({ assignment, dataset: loadMnist(), collective, baseModel });
    });
    const weights = results.map((r) => r.replica.publishedModel().layers.map(layerWeights));
    for (const r of results) r.replica.dispose();
    const { Trainer } = await import('../src/train/trainer.js');
    const fresh = new Trainer(s, loadMnist(), await tf.loadLayersModel(tf.io.fromMemory(baseModel)));
    const initial = fresh.model.layers.map(layerWeights);
    fresh.dispose();

    const expected = await transferReference(bn, initial.at(-1)!);
    // Relative errors over the tuned layers: the frozen ones are compared bit for bit (a zero bias has no relative error).
    const tuned = (layers: Float32Array[][]) => layers.slice(BN_TRAIN_FROM).flat();
    t.true(maxRelativeError(tuned(expected), tuned(initial)) > 1e-2, 'training moved the weights');
    for (const [rank, w] of weights.entries()) {
      for (let i = 0; i < BN_TRAIN_FROM; i++) t.deepEqual(w[i], bn.weights[i], `rank ${rank}: frozen layer ${i} (${bn.names[i]}) is the base's, bit for bit`);
      const err = maxRelativeError(tuned(w), tuned(expected));
      t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
      t.deepEqual(w, weights[0], `rank ${rank} equals rank 0 bit for bit`);
    }
  });
}

// Model families through runJob, in one process over the in-memory bus: N replicas with uneven
// shares, then a membership change (rank 0 lost, a worker added) half-way, against one replica
// training alone on the same global batches.
const FAMILIES: { name: string; json: Record<string, unknown> }[] = [
  {
    name: 'a convolutional model with dropout',
    json: {
      model: {
        layers: [
          { reshape: { targetShape: [28, 28, 1] } },
          { conv2d: { filters: 4, kernelSize: [5, 5], strides: [2, 2], activation: 'relu' } },
          { maxPooling2d: { poolSize: [2, 2] } },
          { dropout: { rate: 0.25 } },
          { flatten: {} },
          { dense: { units: 10, activation: 'softmax' } },
        ],
        loss: 'categoricalCrossentropy',
        optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
      },
      dataset: { name: 'mnist', trainLimit: 96 },
    },
  },
  {
    name: 'an LSTM with dropout',
    json: {
      model: {
        layers: [{ lstm: { units: 8 } }, { dropout: { rate: 0.3 } }, { dense: { units: 1 } }],
        loss: 'meanSquaredError',
        optimizer: { adam: { learningRate: 0.01 } },
      },
      dataset: { name: 'adding', trainLimit: 96 },
    },
  },
  {
    name: 'an embedding and GRU',
    json: {
      model: {
        layers: [{ embedding: { inputDim: 32, outputDim: 8 } }, { gru: { units: 8 } }, { dense: { units: 4, activation: 'softmax' } }],
        loss: 'categoricalCrossentropy',
        optimizer: { rmsprop: { learningRate: 0.01 } },
      },
      dataset: { name: 'keywords', trainLimit: 96 },
    },
  },
  {
    name: 'a GAN whose discriminator has dropout',
    json: {
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 32, activation: 'leakyRelu' } }, { dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 32, activation: 'leakyRelu' } }, { dropout: { rate: 0.3 } }, { dense: { units: 1, activation: 'sigmoid' } }],
        generatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
        discriminatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
      },
      dataset: { name: 'mnist', trainLimit: 96 },
    },
  },
  {
    name: 'a conditional GAN (AC-GAN: one-hot classes in, class logits out)',
    json: {
      gan: {
        latentDim: 8,
        conditional: true,
        generator: [{ dense: { units: 32, activation: 'leakyRelu' } }, { dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 32, activation: 'leakyRelu' } }, { dropout: { rate: 0.3 } }, { dense: { units: 11 } }],
        generatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
        discriminatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
      },
      dataset: { name: 'mnist', trainLimit: 96 },
    },
  },
  {
    // No batch norm: each replica normalizes by its own share's statistics (as DDP without
    // SyncBatchNorm does), so a model with it is not equal to one process by design.
    name: 'a convolutional GAN (transposed convolutions, upsampling)',
    json: {
      gan: {
        latentDim: 8,
        generator: [
          { dense: { units: 6 * 6 * 4, activation: 'leakyRelu' } },
          { reshape: { targetShape: [6, 6, 4] } },
          { conv2dTranspose: { filters: 4, kernelSize: [4], strides: [2], activation: 'leakyRelu' } },
          { upSampling2d: {} },
          { conv2dTranspose: { filters: 1, kernelSize: [3], padding: 'same', activation: 'sigmoid' } },
          { flatten: {} },
        ],
        discriminator: [
          { reshape: { targetShape: [28, 28, 1] } },
          { conv2d: { filters: 4, kernelSize: [4], strides: [2], padding: 'same', activation: 'leakyRelu' } },
          { dropout: { rate: 0.3 } },
          { flatten: {} },
          { dense: { units: 1, activation: 'sigmoid' } },
        ],
        generatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
        discriminatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
      },
      dataset: { name: 'mnist', trainLimit: 96 },
    },
  },
];

// 4 steps per epoch, 8 steps: two epochs, so every sample is drawn twice with fresh masks.
const FAMILY_STEPS = 8;
const PLANS: GenerationPlan[] = [
  { workers: [0, 1], shares: [3, 1], until: 3 },
  // Rank 0 (worker 0) is gone; worker 1 becomes rank 0 and workers 2, 3 join.
  { workers: [1, 2, 3], shares: [1, 2, 1] },
];

for (const family of FAMILIES) {
  test.serial(`${family.name}: uneven shares and a membership change half-way match one process`, async (t) => {
    const s = validateJobSpec(JobSpec.fromJSON({ name: 'family', ...family.json, training: { epochs: 2, globalBatchSize: 24, seed: 9, maxSteps: FAMILY_STEPS }, workers: { min: 1, max: 4 } }));
    const dataset = loadDataset(s.dataset!.name);
    const alone = await trainAlone(s, dataset);
    const expected = await alone.replica.getWeights();
    const initial = (await import('../src/train/run-job.js')).createReplica({ jobId: 'x', spec: s, rank: 0, worldSize: 1, generation: 1, shares: [1], artifactPrefix: '', allreduceTimeoutSeconds: 1, checkpoint: '', checkpointObject: '', natsCredentials: undefined }, dataset);
    t.true(flatRelativeError(await initial.getWeights(), expected) > 1e-3, 'training moved the weights');
    initial.dispose();
    alone.replica.dispose();
    const results = await trainInProcess(s, dataset, PLANS);
    t.is(results.length, 3);
    const weights = await Promise.all(results.map((r) => r.replica.getWeights()));
    for (const r of results) r.replica.dispose();
    for (const [rank, w] of weights.entries()) {
      const err = flatRelativeError(w, expected);
      t.true(err < 1e-5, `rank ${rank}: relative error ${err}`);
      t.deepEqual(w, weights[0], `rank ${rank} equals rank 0 bit for bit`);
    }
  });
}

test.serial('dropout masks differ by sample and by epoch, and a sample gets the same mask on any rank', async (t) => {
  const s = validateJobSpec(JobSpec.fromJSON({ name: 'masks', ...FAMILIES[0]!.json, training: { epochs: 1, globalBatchSize: 24, seed: 9 }, workers: { min: 1, max: 1 } }));
  const { SampleDraws, SampleDropout } = await import('../src/model/sample-dropout.js');
  const draws = new SampleDraws();
  const layer = new SampleDropout({ rate: 0.5, layer: 3, draws });
  const ones = tf.ones([3, 64]);
  const masks = (samples: number[], epoch: number) => draws.during({ seed: s.training!.seed, epoch, samples, pass: 0 }, () => (layer.apply(ones, { training: true }) as tf.Tensor).arraySync() as number[][]);
  const [a, b, c] = masks([5, 6, 7], 0);
  const [c2, a2] = masks([7, 5, 9], 0).slice(0, 2);
  t.deepEqual(a2, a, 'sample 5 in another batch, at another row');
  t.deepEqual(c2, c, 'sample 7 in another batch');
  t.notDeepEqual(a, b);
  t.notDeepEqual(masks([5, 6, 7], 1)[0], a, 'a new epoch draws a new mask');
  t.true(a!.every((v) => v === 0 || v === 2));
  t.deepEqual((layer.apply(ones, { training: false }) as tf.Tensor).arraySync(), (ones.arraySync() as number[][]), 'the identity at inference');
  t.throws(() => layer.apply(ones, { training: true }), { message: /without sample keys/ });
  ones.dispose();

  // Published, a model with it holds Keras' plain Dropout: it loads anywhere and predicts the same.
  const { buildModel } = await import('../src/model/build.js');
  const model = buildModel(s.model!.layers, [784], 1);
  const loaded = await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] });
  loaded.setWeights(model.getWeights());
  t.is(loaded.layers.find((l) => l.getClassName() === 'Dropout')?.constructor.name, 'Dropout');
  const x = tf.randomUniform([2, 784]);
  t.deepEqual((loaded.predict(x) as tf.Tensor).arraySync(), (model.predict(x) as tf.Tensor).arraySync());
  x.dispose();
  model.dispose();
  loaded.dispose();
});
