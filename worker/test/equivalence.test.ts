// The central correctness test: N workers exchanging gradients over a real nats-server end
// with the same weights as one process training plain TF.js on the same global batches.
import anyTest, { type TestFn } from 'ava';
import * as tf from '@tensorflow/tfjs';
import { JobSpec, epochOrder, stepsPerEpoch, type Assignment } from '@syncline/proto';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import type { NatsConnection } from 'nats';
import { Collective } from '../src/allreduce/collective.js';
import { NatsBus, connectNats } from '../src/allreduce/nats-bus.js';
import type { AlgorithmChoice } from '../src/allreduce/select.js';
import { selectBackend } from '../src/backend.js';
import { gatherRows, limitSplit } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { runJob } from '../src/train/run-job.js';

const test = anyTest as TestFn<{ nats: NatsServer }>;

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

function spec(): JobSpec {
  return JobSpec.fromJSON({
    name: 'equivalence',
    model: {
      layers: [{ dense: { units: 32, activation: 'tanh' } }, { dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.2, momentum: 0.9 } },
    },
    dataset: { name: 'mnist', trainLimit: TRAIN },
    training: { epochs: 2, globalBatchSize: BATCH, seed: 11, maxSteps: STEPS },
    workers: { min: 1, max: 4 },
  });
}

/** Plain TF.js, one process: mean loss over each whole global batch, the same optimizer. */
function reference(initial: Float32Array[]): Float32Array[] {
  const s = spec();
  const data = loadMnist();
  const train = limitSplit(data.train, data, TRAIN);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 32, activation: 'tanh' }),
      tf.layers.dense({ units: 16, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.setWeights(initial.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
  const optimizer = tf.train.momentum(0.2, 0.9);
  const perEpoch = stepsPerEpoch(TRAIN, BATCH);
  for (let step = 0; step < STEPS; step++) {
    const order = epochOrder(s.training!.seed, Math.floor(step / perEpoch), TRAIN);
    const start = (step % perEpoch) * BATCH;
    const rows = gatherRows(train, data, order.slice(start, Math.min(TRAIN, start + BATCH)));
    const n = rows.x.length / 784;
    const xs = tf.tensor2d(rows.x, [n, 784]);
    const ys = tf.tensor2d(rows.y, [n, 10]);
    optimizer.minimize(() => tf.mean(tf.metrics.categoricalCrossentropy(ys, model.apply(xs) as tf.Tensor)) as tf.Scalar);
    tf.dispose([xs, ys]);
  }
  const out = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  optimizer.dispose();
  return out;
}

async function distributed(
  t: { context: { nats: NatsServer } },
  shares: number[],
  algorithm: AlgorithmChoice = 'auto',
): Promise<{ weights: Float32Array[][]; initial: Float32Array[] }> {
  const connections: NatsConnection[] = [];
  const collectives: Collective[] = [];
  try {
    for (let rank = 0; rank < shares.length; rank++) connections.push(await connectNats(t.context.nats.url, `rank-${rank}`));
    const jobId = `eq-${shares.join('-')}-${algorithm}`;
    for (let rank = 0; rank < shares.length; rank++) {
      collectives.push(
        new Collective({ bus: new NatsBus(connections[rank]!), jobId, generation: 1, rank, worldSize: shares.length, timeoutMs: 20_000, algorithm }),
      );
    }
    await Promise.all(collectives.map((c) => c.start()));
    const results = await Promise.all(
      collectives.map((collective, rank) => {
        const assignment: Assignment = { jobId, spec: spec(), rank, worldSize: shares.length, generation: 1, shares, artifactPrefix: '', allreduceTimeoutSeconds: 20, checkpoint: '', checkpointObject: '' };
        return runJob({ assignment, dataset: loadMnist(), collective });
      }),
    );
    // Initial weights as broadcast by rank 0: rebuild rank 0's model from the same seed.
    const weights = results.map((r) => r.replica.publishedModel().getWeights().map((w) => w.dataSync() as Float32Array));
    for (const r of results) r.replica.dispose();
    const { Trainer } = await import('../src/train/trainer.js');
    const fresh = new Trainer(spec(), loadMnist());
    const initial = fresh.model.getWeights().map((w) => w.dataSync() as Float32Array);
    fresh.dispose();
    return { weights, initial };
  } finally {
    for (const c of collectives) c.close();
    await Promise.all(connections.map((nc) => nc.close()));
  }
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

const CASES: { shares: number[]; algorithm: AlgorithmChoice }[] = [
  { shares: [1, 1], algorithm: 'auto' },
  { shares: [1, 1, 1], algorithm: 'auto' },
  { shares: [3, 1], algorithm: 'auto' },
  { shares: [1, 1, 1], algorithm: 'direct' },
  { shares: [1, 1, 1], algorithm: 'ring' },
  { shares: [1, 1, 1], algorithm: 'sharded' },
];

for (const { shares, algorithm } of CASES) {
  test.serial(`${shares.length} workers with shares ${shares.join(':')} and the ${algorithm} all-reduce match single-process training`, async (t) => {
    const { weights, initial } = await distributed(t, shares, algorithm);
    const expected = reference(initial);
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
      const expected = reference(initial);
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
