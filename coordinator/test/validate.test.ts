// validateJobSpec: a valid MNIST spec gets its defaults; each class of bad spec names its field.

import test from 'ava';
import type { DatasetSpec, DenseLayer, JobSpec, ModelSpec, SgdOptimizer, TrainingSpec, WorkersSpec } from '@syncline/proto';
import { InvalidSpecError } from '../src/errors.js';
import { validateJobSpec } from '../src/spec/validate.js';

const MNIST_MLP: JobSpec = {
  name: 'mnist-mlp',
  model: {
    layers: [
      { kind: { $case: 'dense', value: { units: 128, activation: 'relu', kernelInitializer: '' } } },
      { kind: { $case: 'dense', value: { units: 10, activation: 'softmax', kernelInitializer: '' } } },
    ],
    loss: 'categoricalCrossentropy',
    optimizer: { kind: { $case: 'sgd', value: { learningRate: 0.1, momentum: 0.9, nesterov: false } } },
    metrics: [],
    base: undefined,
  },
  dataset: { name: 'mnist', trainLimit: 0, classes: [], augment: undefined },
  training: { epochs: 5, globalBatchSize: 64, seed: 1, maxSteps: 0, learningRateSchedule: undefined, clipGlobalNorm: 0, fixedShares: false, timeline: false, checkpointEverySteps: 0, heldoutEverySteps: 0, publishBest: false, earlyStopping: undefined },
  workers: { min: 2, max: 2, accelerator: '' },
  communication: undefined,
  gan: undefined,
  visibility: '',
};

/** A fresh copy of the valid spec, changed by `mutate`. */
function specWith(mutate: (spec: JobSpec) => void): JobSpec {
  const spec = structuredClone(MNIST_MLP);
  mutate(spec);
  return spec;
}

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`fixture has no ${what}`);
  return value;
}

const model = (spec: JobSpec): ModelSpec => present(spec.model, 'model');
const dataset = (spec: JobSpec): DatasetSpec => present(spec.dataset, 'dataset');
const training = (spec: JobSpec): TrainingSpec => present(spec.training, 'training');
const workers = (spec: JobSpec): WorkersSpec => present(spec.workers, 'workers');

function dense(spec: JobSpec, index: number): DenseLayer {
  const kind = model(spec).layers[index]?.kind;
  if (kind?.$case !== 'dense') throw new Error(`fixture has no dense layer ${index}`);
  return kind.value;
}

function sgd(spec: JobSpec): SgdOptimizer {
  const kind = model(spec).optimizer?.kind;
  if (kind?.$case !== 'sgd') throw new Error('fixture has no sgd optimizer');
  return kind.value;
}

test('accepts the MNIST MLP and fills in the full training set', (t) => {
  const input = structuredClone(MNIST_MLP);
  const normalized = validateJobSpec(input);
  t.deepEqual(normalized, specWith((s) => {
    dataset(s).trainLimit = 8000;
    training(s).checkpointEverySteps = 100;
    s.communication = { algorithm: 'auto', compression: 'none' };
    workers(s).accelerator = 'any';
    dense(s, 0).kernelInitializer = 'glorotUniform';
    dense(s, 1).kernelInitializer = 'glorotUniform';
    model(s).metrics = ['accuracy'];
  }));
  t.deepEqual(input, MNIST_MLP, 'the input is not modified');
});

test('fills in a linear activation and workers.max = workers.min', (t) => {
  const normalized = validateJobSpec(
    specWith((s) => {
      dense(s, 0).activation = '';
      workers(s).max = 0;
      dataset(s).trainLimit = 500;
    }),
  );
  t.is(dense(normalized, 0).activation, 'linear');
  t.deepEqual(normalized.workers, { min: 2, max: 2, accelerator: 'any' });
  t.is(dataset(normalized).trainLimit, 500);
});

test('accepts a sigmoid output for binaryCrossentropy and any activation for meanSquaredError', (t) => {
  t.notThrows(() => validateJobSpec(specWith((s) => {
    model(s).loss = 'binaryCrossentropy';
    dense(s, 1).activation = 'sigmoid';
  })));
  t.notThrows(() => validateJobSpec(specWith((s) => {
    model(s).loss = 'meanSquaredError';
    dense(s, 1).activation = '';
  })));
});

test('rejects a meanSquaredError output that is not one unit per class (targets are one-hot)', (t) => {
  const err = t.throws(() => validateJobSpec(specWith((s) => {
    model(s).loss = 'meanSquaredError';
    dense(s, 1).units = 1;
  })), { instanceOf: InvalidSpecError });
  t.is(err?.field, 'model.layers[1].dense.units');
});

interface InvalidCase {
  title: string;
  spec: JobSpec | undefined;
  field: string;
  /** Text the message must contain: the bad value, where there is one. */
  mentions?: string;
}

const invalid: InvalidCase[] = [
  { title: 'a missing spec', spec: undefined, field: 'spec' },

  { title: 'an empty name', spec: specWith((s) => { s.name = ''; }), field: 'name' },
  { title: 'a name with a space', spec: specWith((s) => { s.name = 'my job'; }), field: 'name', mentions: '"my job"' },
  { title: 'a name with a dot', spec: specWith((s) => { s.name = 'a.b'; }), field: 'name', mentions: '"a.b"' },
  { title: 'a name starting with a dash', spec: specWith((s) => { s.name = '-x'; }), field: 'name', mentions: '"-x"' },
  { title: 'a name over 64 characters', spec: specWith((s) => { s.name = 'a'.repeat(65); }), field: 'name', mentions: '65' },

  { title: 'a missing model', spec: specWith((s) => { s.model = undefined; }), field: 'model' },
  { title: 'no layers', spec: specWith((s) => { model(s).layers = []; }), field: 'model.layers' },
  {
    title: 'a layer without a type',
    spec: specWith((s) => { model(s).layers.splice(0, 1, { kind: undefined }); }),
    field: 'model.layers[0]',
    mentions: 'expected one of: dense',
  },
  {
    title: 'an unknown activation',
    spec: specWith((s) => { dense(s, 0).activation = 'swish'; }),
    field: 'model.layers[0].dense.activation',
    mentions: '"swish"',
  },
  { title: 'zero units', spec: specWith((s) => { dense(s, 0).units = 0; }), field: 'model.layers[0].dense.units', mentions: 'got 0' },
  { title: 'fractional units', spec: specWith((s) => { dense(s, 0).units = 1.5; }), field: 'model.layers[0].dense.units', mentions: 'got 1.5' },
  { title: 'too many units', spec: specWith((s) => { dense(s, 0).units = 65537; }), field: 'model.layers[0].dense.units', mentions: 'got 65537' },

  { title: 'an unknown loss', spec: specWith((s) => { model(s).loss = 'hinge'; }), field: 'model.loss', mentions: '"hinge"' },
  { title: 'an empty loss', spec: specWith((s) => { model(s).loss = ''; }), field: 'model.loss', mentions: 'missing loss' },
  { title: 'a missing optimizer', spec: specWith((s) => { model(s).optimizer = undefined; }), field: 'model.optimizer' },
  { title: 'an optimizer without a type', spec: specWith((s) => { model(s).optimizer = { kind: undefined }; }), field: 'model.optimizer' },
  ...[0, -1, Number.NaN, Number.POSITIVE_INFINITY].map((learningRate) => ({
    title: `learning rate ${learningRate}`,
    spec: specWith((s) => { sgd(s).learningRate = learningRate; }),
    field: 'model.optimizer.sgd.learningRate',
    mentions: `got ${learningRate}`,
  })),
  ...[1, -0.1, Number.NaN].map((momentum) => ({
    title: `momentum ${momentum}`,
    spec: specWith((s) => { sgd(s).momentum = momentum; }),
    field: 'model.optimizer.sgd.momentum',
    mentions: `got ${momentum}`,
  })),

  {
    title: 'last layer units that do not match the classes',
    spec: specWith((s) => { dense(s, 1).units = 12; }),
    field: 'model.layers[1].dense.units',
    mentions: 'output shape is [12]',
  },
  {
    title: 'categoricalCrossentropy without softmax',
    spec: specWith((s) => { dense(s, 1).activation = 'relu'; }),
    field: 'model.layers[1].dense.activation',
    mentions: '"relu"',
  },
  {
    title: 'categoricalCrossentropy with the default activation',
    spec: specWith((s) => { dense(s, 1).activation = ''; }),
    field: 'model.layers[1].dense.activation',
    mentions: '"linear"',
  },
  {
    title: 'binaryCrossentropy without sigmoid',
    spec: specWith((s) => { model(s).loss = 'binaryCrossentropy'; }),
    field: 'model.layers[1].dense.activation',
    mentions: '"softmax"',
  },

  { title: 'a missing dataset', spec: specWith((s) => { s.dataset = undefined; }), field: 'dataset' },
  { title: 'an unknown dataset', spec: specWith((s) => { dataset(s).name = 'cifar10'; }), field: 'dataset.name', mentions: '"cifar10"' },
  { title: 'a dataset named after an Object method', spec: specWith((s) => { dataset(s).name = 'toString'; }), field: 'dataset.name' },
  { title: 'a train limit above the train set', spec: specWith((s) => { dataset(s).trainLimit = 8001; }), field: 'dataset.trainLimit', mentions: 'got 8001' },

  { title: 'a missing training section', spec: specWith((s) => { s.training = undefined; }), field: 'training' },
  { title: 'zero epochs', spec: specWith((s) => { training(s).epochs = 0; }), field: 'training.epochs', mentions: 'got 0' },
  { title: 'too many epochs', spec: specWith((s) => { training(s).epochs = 10001; }), field: 'training.epochs', mentions: 'got 10001' },
  { title: 'a zero global batch', spec: specWith((s) => { training(s).globalBatchSize = 0; }), field: 'training.globalBatchSize', mentions: 'got 0' },
  { title: 'a seed beyond uint32', spec: specWith((s) => { training(s).seed = 2 ** 32; }), field: 'training.seed', mentions: `got ${2 ** 32}` },
  { title: 'negative max steps', spec: specWith((s) => { training(s).maxSteps = -1; }), field: 'training.maxSteps', mentions: 'got -1' },

  { title: 'a missing workers section', spec: specWith((s) => { s.workers = undefined; }), field: 'workers' },
  { title: 'zero minimum workers', spec: specWith((s) => { workers(s).min = 0; }), field: 'workers.min', mentions: 'got 0' },
  { title: 'workers.max below workers.min', spec: specWith((s) => { workers(s).max = 1; }), field: 'workers.max', mentions: 'got 1' },
  { title: 'more than 256 workers', spec: specWith((s) => { workers(s).max = 257; }), field: 'workers.max', mentions: 'got 257' },
  {
    title: 'a global batch smaller than the worker count',
    spec: specWith((s) => { training(s).globalBatchSize = 1; }),
    field: 'training.globalBatchSize',
    mentions: 'workers (2)',
  },
  {
    title: 'a global batch larger than the limited train set',
    spec: specWith((s) => { dataset(s).trainLimit = 32; }),
    field: 'training.globalBatchSize',
    mentions: 'got 64',
  },
];

for (const { title, spec, field, mentions } of invalid) {
  test(`rejects ${title}`, (t) => {
    const error = t.throws(() => validateJobSpec(spec), { instanceOf: InvalidSpecError });
    t.is(error.field, field);
    if (mentions !== undefined) t.true(error.message.includes(mentions), error.message);
  });
}

test('accepts workers.accelerator any, gpu and cpu, and rejects others naming the field', (t) => {
  for (const accelerator of ['any', 'gpu', 'cpu']) t.is(validateJobSpec(specWith((s) => (workers(s).accelerator = accelerator))).workers?.accelerator, accelerator);
  const err = t.throws(() => validateJobSpec(specWith((s) => (workers(s).accelerator = 'gpus'))), { instanceOf: InvalidSpecError });
  t.is(err?.field, 'workers.accelerator');
  t.regex(err?.message ?? '', /unknown accelerator "gpus"; expected one of: any, gpu, cpu \(did you mean gpu\?\)/);
});

test('rejects an unknown all-reduce algorithm and compression', (t) => {
  const alg = t.throws(() => validateJobSpec(specWith((s) => { s.communication = { algorithm: 'tree', compression: '' }; })), { instanceOf: InvalidSpecError });
  t.is(alg?.field, 'communication.algorithm');
  t.regex(alg?.message ?? '', /"tree"/);
  const comp = t.throws(() => validateJobSpec(specWith((s) => { s.communication = { algorithm: 'ring', compression: 'fp8' }; })), { instanceOf: InvalidSpecError });
  t.is(comp?.field, 'communication.compression');
});
