// The native backend's fused optimizer update (backends/native/fused-update.ts) leaves a
// replica exactly where TF.js's update leaves it: after several steps the weights and the
// optimizer's state are bit-identical to those of the same replica forced onto the TF.js path
// (SYNCLINE_FUSED_UPDATE=off), for each optimizer it fuses, with and without global-norm
// clipping. And it stays off where in place is not safe. Serial: the tests switch the global
// backend, the addon's threads and the environment.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { JobSpec } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import { loadAddon } from '../src/backends/native/addon.js';
import { FusedUpdate } from '../src/backends/native/fused-update.js';
import type { DatasetShape } from '../src/data/dataset.js';
import { Trainer, soloAllReduce } from '../src/train/trainer.js';
import type { OptimizerTensor } from '../src/train/checkpoint.js';

const FEATURES = 300; // 300 x 128 weights: above the size at which the kernels split over threads
const CLASSES = 10;
const BATCH = 64;
const STEPS = 6;

const shape: DatasetShape = { inputShape: [FEATURES], featureSize: FEATURES, target: { kind: 'classes', classes: CLASSES }, targetSize: CLASSES };

const OPTIMIZERS = {
  sgd: { sgd: { learningRate: 0.05 } },
  momentum: { sgd: { learningRate: 0.05, momentum: 0.9 } },
  nesterov: { sgd: { learningRate: 0.05, momentum: 0.9, nesterov: true } },
  adam: { adam: { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
} as const;
type OptimizerName = keyof typeof OPTIMIZERS;

function spec(optimizer: OptimizerName, clipGlobalNorm: number): JobSpec {
  return JobSpec.fromJSON({
    name: 'fused-update',
    model: {
      // Six variables (three kernels, three biases).
      layers: [{ dense: { units: 128, activation: 'tanh' } }, { dense: { units: 32, activation: 'relu' } }, { dense: { units: CLASSES, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: OPTIMIZERS[optimizer],
    },
    dataset: { name: 'random' },
    training: { epochs: 1, globalBatchSize: BATCH, seed: 7, clipGlobalNorm },
    workers: { min: 1, max: 1 },
  });
}

/** Batch `step` of a fixed pseudo-random sequence (the same for every run). */
function batch(step: number) {
  let state = 12345 + step * 7919;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const x = Float32Array.from({ length: BATCH * FEATURES }, () => next() * 2 - 1);
  const y = new Float32Array(BATCH * CLASSES);
  for (let i = 0; i < BATCH; i++) y[i * CLASSES + Math.floor(next() * CLASSES)] = 1;
  return { x, y, count: BATCH, epoch: 0, samples: Uint32Array.from({ length: BATCH }, (_, i) => step * BATCH + i) };
}

interface Run {
  weights: Float32Array;
  optimizer: OptimizerTensor[][];
  fusedSteps: number;
}

/**
 * STEPS steps of one replica, fused or forced onto TF.js's path. The learning rate changes every
 * step (a schedule), and after step `readAfter` the weights are read out (a checkpoint does),
 * which pins their arrays.
 */
async function train(optimizer: OptimizerName, clipNorm: number, fused: boolean, readAfter = -1): Promise<Run> {
  if (fused) delete process.env.SYNCLINE_FUSED_UPDATE;
  else process.env.SYNCLINE_FUSED_UPDATE = 'off';
  const trainer = new Trainer(spec(optimizer, clipNorm), shape);
  delete process.env.SYNCLINE_FUSED_UPDATE;
  try {
    for (let step = 0; step < STEPS; step++) {
      await trainer.step(batch(step), 1 / (1 + step), soloAllReduce(trainer));
      if (step === readAfter) await trainer.getWeights();
    }
    return { weights: await trainer.getWeights(), optimizer: await trainer.optimizerStates(), fusedSteps: trainer.fusedSteps };
  } finally {
    trainer.dispose();
  }
}

const bits = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

function setThreads(n: number): void {
  const load = loadAddon();
  if ('reason' in load) throw new Error(load.reason);
  load.addon.setThreads(n);
}

test.before(async () => {
  await selectBackend('native', { threads: 1 });
});

// The first step of a stateful optimizer creates its slots through TF.js; so does the step
// after a read-out (the arrays are pinned) or a restore; every other step is fused.
const cases: { optimizer: OptimizerName; clipNorm: number; threads: number }[] = [
  ...(Object.keys(OPTIMIZERS) as OptimizerName[]).flatMap((optimizer) => [
    { optimizer, clipNorm: 0, threads: 1 },
    // Small enough that every step clips.
    { optimizer, clipNorm: 0.01, threads: 1 },
  ]),
  { optimizer: 'adam', clipNorm: 0.01, threads: 3 },
  { optimizer: 'momentum', clipNorm: 0, threads: 3 },
];

for (const { optimizer, clipNorm, threads } of cases) {
  test.serial(`${optimizer}${clipNorm > 0 ? `, clipped to ${clipNorm}` : ''}, ${threads} thread(s): fused steps end bit-identical to TF.js's`, async (t) => {
    setThreads(threads);
    try {
      const reference = await train(optimizer, clipNorm, false);
      const fused = await train(optimizer, clipNorm, true);
      t.is(reference.fusedSteps, 0);
      // The first step may take TF.js's path: a stateful optimizer creates its slots there, and
      // initial weights need not be in the backend's own arrays (today they are not).
      t.true(fused.fusedSteps >= STEPS - 1, `${fused.fusedSteps} of ${STEPS} steps fused: every step after the first should be`);
      t.true(Buffer.from(bits(fused.weights)).equals(Buffer.from(bits(reference.weights))), 'weights differ');
      t.is(fused.optimizer.length, reference.optimizer.length);
      for (const [i, state] of reference.optimizer.entries()) {
        t.is(fused.optimizer[i]!.length, state.length);
        for (const [j, slot] of state.entries()) {
          const other = fused.optimizer[i]![j]!;
          t.deepEqual(other.shape, slot.shape);
          t.true(Buffer.from(bits(other.values)).equals(Buffer.from(bits(slot.values))), `optimizer slot ${j} differs`);
        }
      }
    } finally {
      setThreads(1);
    }
  });
}

test.serial('a step after the weights were read out takes TF.js path, and the result is the same', async (t) => {
  const reference = await train('adam', 0.01, false, 2);
  const fused = await train('adam', 0.01, true, 2);
  t.is(fused.fusedSteps, STEPS - 2);
  t.true(Buffer.from(bits(fused.weights)).equals(Buffer.from(bits(reference.weights))));
});

/** Gives `v` a fresh array of the backend's (a kernel's output). */
function renew(v: tf.Variable): void {
  const next = tf.add(v, 0);
  v.assign(next);
  next.dispose();
}

/**
 * STEPS / 2 steps, then a new replica takes the weights and optimizer state (as one joining a
 * later generation, or resuming from a checkpoint, does) and trains the other half.
 */
async function trainAcrossRestore(optimizer: OptimizerName, fused: boolean): Promise<Run> {
  if (fused) delete process.env.SYNCLINE_FUSED_UPDATE;
  else process.env.SYNCLINE_FUSED_UPDATE = 'off';
  const first = new Trainer(spec(optimizer, 0), shape);
  const second = new Trainer(spec(optimizer, 0), shape);
  delete process.env.SYNCLINE_FUSED_UPDATE;
  try {
    for (let step = 0; step < STEPS / 2; step++) await first.step(batch(step), 1, soloAllReduce(first));
    second.setWeights(await first.getWeights());
    await second.restoreOptimizers(await first.optimizerStates());
    for (let step = STEPS / 2; step < STEPS; step++) await second.step(batch(step), 1, soloAllReduce(second));
    return { weights: await second.getWeights(), optimizer: await second.optimizerStates(), fusedSteps: first.fusedSteps + second.fusedSteps };
  } finally {
    first.dispose();
    second.dispose();
  }
}

for (const optimizer of ['momentum', 'adam'] as const) {
  test.serial(`${optimizer}: fused steps continue exactly from restored weights and optimizer state`, async (t) => {
    const reference = await trainAcrossRestore(optimizer, false);
    const fused = await trainAcrossRestore(optimizer, true);
    // Each replica's first step takes TF.js's path (new slots; then restored, not yet the backend's, arrays).
    t.is(fused.fusedSteps, STEPS - 2);
    t.true(Buffer.from(bits(fused.weights)).equals(Buffer.from(bits(reference.weights))), 'weights differ');
    t.deepEqual(fused.optimizer, reference.optimizer);
  });
}

test.serial('FusedUpdate writes in place only where nothing else shares the storage', async (t) => {
  await tf.setBackend('native');
  const callerArray = Float32Array.from([1, 2, 3, 4]);
  const v = tf.variable(tf.tensor(callerArray));
  const optimizer = tf.train.sgd(0.5);
  const update = FusedUpdate.for(optimizer, [v]);
  if (!update) return t.fail('no fused update on the native backend');
  const summed = Float32Array.from([2, 4, 6, 8, 99]);
  try {
    // The variable's array is the caller's (tf.tensor keeps it): not written.
    t.false(update.apply(summed, 2, 0));
    t.deepEqual(Array.from(callerArray), [1, 2, 3, 4]);

    // A kernel's output: the backend's own array.
    renew(v);
    t.true(update.apply(summed, 2, 0));
    t.deepEqual(Array.from(v.dataSync()), [0.5, 1, 1.5, 2]);

    // Read out (dataSync above handed its array to the caller): pinned.
    const before = Array.from(v.dataSync());
    t.false(update.apply(summed, 2, 0));
    t.deepEqual(Array.from(v.dataSync()), before);

    // Fresh again, then shared by a second reference to the same data.
    renew(v);
    const alias = tf.reshape(v, [2, 2]);
    t.false(update.apply(summed, 2, 0));
    alias.dispose();
    t.true(update.apply(summed, 2, 0));
    t.is(optimizer.iterations, 2, 'only applied updates count as iterations');
  } finally {
    v.dispose();
    optimizer.dispose();
  }
});

test.serial('other backends and optimizers keep the TF.js path', async (t) => {
  const v = tf.variable(tf.zeros([3]));
  try {
    t.is(FusedUpdate.for(tf.train.rmsprop(0.1), [v]), undefined);
    await tf.setBackend('cpu');
    t.is(FusedUpdate.for(tf.train.sgd(0.1), [v]), undefined);
  } finally {
    await tf.setBackend('native');
    v.dispose();
  }
});
