// The models of `npm run bench -- vs-pytorch` on Syncline's side (worker/bench/pytorch/train.py
// builds the same ones in PyTorch): batch 256, SGD, random data; and the DCGAN of
// examples/mnist-dcgan.json (Adam, as the example trains it) at the same batch.
import { readFileSync } from 'node:fs';
import { JobSpec } from '@syncline/proto';
import type { DatasetShape } from '../src/data/dataset.js';

export const BATCH = 256;

export interface BenchModel {
  layers: unknown[];
  inputShape: number[];
  loss: string;
  /** Target values per sample: classes (one-hot) or one regression value. */
  targets: number;
}

const conv = (filters: number) => ({ conv2d: { filters, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', activation: 'relu' } });

export const BENCH_MODELS: Record<'mlp' | 'cnn' | 'lstm', BenchModel> = {
  mlp: {
    inputShape: [784],
    layers: [{ dense: { units: 256, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
    loss: 'categoricalCrossentropy',
    targets: 10,
  },
  cnn: {
    inputShape: [28, 28, 1],
    layers: [conv(32), conv(64), { maxPooling2d: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } }, { flatten: {} }, { dense: { units: 128, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
    loss: 'categoricalCrossentropy',
    targets: 10,
  },
  lstm: {
    inputShape: [30, 2],
    layers: [{ lstm: { units: 128 } }, { dense: { units: 1 } }],
    loss: 'meanSquaredError',
    targets: 1,
  },
};

export function benchSpec(name: string, model: BenchModel): JobSpec {
  return JobSpec.fromJSON({
    name,
    model: { layers: model.layers, loss: model.loss, optimizer: { sgd: { learningRate: 0.01 } } },
    dataset: { name: 'random' },
    training: { epochs: 1, globalBatchSize: BATCH, seed: 1 },
    workers: { min: 1, max: 1 },
  });
}

export function benchShape(model: BenchModel): DatasetShape {
  const featureSize = model.inputShape.reduce((a, b) => a * b, 1);
  return {
    inputShape: model.inputShape,
    featureSize,
    target: model.targets > 1 ? { kind: 'classes', classes: model.targets } : { kind: 'regression', size: 1 },
    targetSize: model.targets,
  };
}

/** Random inputs and targets for one batch (one-hot classes, or values in [0, 1)). */
export function benchBatch(model: BenchModel): { x: Float32Array; y: Float32Array } {
  const featureSize = model.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: BATCH * featureSize }, () => Math.random());
  const y = new Float32Array(BATCH * model.targets);
  for (let i = 0; i < BATCH; i++) {
    if (model.targets > 1) y[i * model.targets + (i % model.targets)] = 1;
    else y[i] = Math.random();
  }
  return { x, y };
}

/**
 * The job of examples/mnist-dcgan.json at batch BATCH on one worker, over random "digits" ([784]
 * in [0, 1)); its one-value kernel sizes and strides written as pairs, as the coordinator's
 * validation hands them to workers.
 */
export function dcganBenchSpec(): JobSpec {
  const example = JSON.parse(readFileSync(new URL('../../examples/mnist-dcgan.json', import.meta.url), 'utf8'));
  const asPairs = (layers: Record<string, Record<string, unknown>>[]) =>
    layers.map((layer) =>
      Object.fromEntries(Object.entries(layer).map(([kind, options]) => [kind, Object.fromEntries(Object.entries(options).map(([key, value]) =>
        [key, (key === 'kernelSize' || key === 'strides') && Array.isArray(value) && value.length === 1 ? [value[0], value[0]] : value]))])));
  const gan = { ...example.gan, generator: asPairs(example.gan.generator), discriminator: asPairs(example.gan.discriminator) };
  return JobSpec.fromJSON({ ...example, gan, dataset: { name: 'random' }, training: { epochs: 1, globalBatchSize: BATCH, seed: 1 }, workers: { min: 1, max: 1 } });
}

export const DCGAN_SHAPE: DatasetShape = benchShape(BENCH_MODELS.mlp);
