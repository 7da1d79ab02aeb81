// Submit-time shape inference and the newer spec features: a mismatch between layers is
// refused with the offending layer's field path, never first found on a worker.
import test from 'ava';
import { BUILTIN_DATASETS, JobSpec } from '@syncline/proto';
import { InvalidSpecError } from '../src/errors.js';
import { countParameters } from '../src/spec/parameters.js';
import { validateJobSpec } from '../src/spec/validate.js';

const base = {
  name: 'shapes',
  dataset: { name: 'mnist' },
  training: { epochs: 1, globalBatchSize: 32, seed: 1 },
  workers: { min: 1, max: 2 },
};
const sgd = { sgd: { learningRate: 0.05 } };

function spec(extra: Record<string, unknown>): JobSpec {
  return JobSpec.fromJSON({ ...base, ...extra });
}

function cnn(layers: unknown[]): JobSpec {
  return spec({ model: { layers, loss: 'categoricalCrossentropy', optimizer: sgd } });
}

const adams = { generatorOptimizer: { adam: { learningRate: 0.001 } }, discriminatorOptimizer: { adam: { learningRate: 0.001 } } };
const softmax10 = { dense: { units: 10, activation: 'softmax' } };

test('a Keras-style CNN on mnist passes and gets its defaults', (t) => {
  const s = validateJobSpec(
    cnn([
      { reshape: { targetShape: [28, 28, 1] } },
      { conv2d: { filters: 8, kernelSize: [3], activation: 'relu' } },
      { maxPooling2d: {} },
      { batchNormalization: {} },
      { dropout: { rate: 0.25 } },
      { flatten: {} },
      softmax10,
    ]),
  );
  const conv = s.model!.layers[1]!.kind;
  t.deepEqual(conv?.$case === 'conv2d' && conv.value, { filters: 8, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', activation: 'relu', kernelInitializer: 'glorotUniform' });
  const pool = s.model!.layers[2]!.kind;
  t.deepEqual(pool?.$case === 'maxPooling2d' && pool.value, { poolSize: [2, 2], strides: [2, 2], padding: 'valid' });
  const bn = s.model!.layers[3]!.kind;
  t.deepEqual(bn?.$case === 'batchNormalization' && bn.value, { momentum: 0.99, epsilon: 1e-3 });
});

const mismatches: { title: string; spec: JobSpec; field: string; mentions: string }[] = [
  {
    title: 'conv2d on flat input',
    spec: cnn([{ conv2d: { filters: 8, kernelSize: [3] } }, { flatten: {} }, softmax10]),
    field: 'model.layers[0].conv2d',
    mentions: 'got shape [784]',
  },
  {
    title: 'a reshape that changes the element count',
    spec: cnn([{ reshape: { targetShape: [28, 27, 1] } }, { flatten: {} }, softmax10]),
    field: 'model.layers[0].reshape.targetShape',
    mentions: '756 elements',
  },
  {
    title: 'a kernel larger than its input',
    spec: cnn([{ reshape: { targetShape: [28, 28, 1] } }, { maxPooling2d: { poolSize: [8] } }, { maxPooling2d: { poolSize: [8] } }, { flatten: {} }, softmax10]),
    field: 'model.layers[2].maxPooling2d',
    mentions: 'does not fit an input of size 3',
  },
  {
    title: 'a dense output that is not flat',
    spec: cnn([{ reshape: { targetShape: [28, 28, 1] } }, softmax10]),
    field: 'model.layers[1].dense.units',
    mentions: 'output shape is [28, 28, 10]',
  },
  {
    title: 'an lstm on flat input',
    spec: cnn([{ lstm: { units: 8 } }, softmax10]),
    field: 'model.layers[0].lstm',
    mentions: 'rank 2',
  },
  {
    title: 'an embedding on float data',
    spec: cnn([{ embedding: { inputDim: 10, outputDim: 4 } }, { flatten: {} }, softmax10]),
    field: 'model.layers[0].embedding',
    mentions: 'integer tokens',
  },
  {
    title: 'a token dataset without an embedding',
    spec: JobSpec.fromJSON({ ...base, dataset: { name: 'keywords' }, model: { layers: [{ lstm: { units: 8 } }, { dense: { units: 4, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: sgd } }),
    field: 'model.layers[0].lstm',
    mentions: 'the first layer must be an embedding',
  },
  {
    title: 'an embedding smaller than the vocabulary',
    spec: JobSpec.fromJSON({ ...base, dataset: { name: 'keywords' }, model: { layers: [{ embedding: { inputDim: 8, outputDim: 4 } }, { gru: { units: 8 } }, { dense: { units: 4, activation: 'softmax' } }], loss: 'categoricalCrossentropy', optimizer: sgd } }),
    field: 'model.layers[0].embedding.inputDim',
    mentions: 'vocabulary (32)',
  },
  {
    title: 'a classification loss on a regression dataset',
    spec: JobSpec.fromJSON({ ...base, dataset: { name: 'adding' }, model: { layers: [{ lstm: { units: 8 } }, { dense: { units: 1, activation: 'sigmoid' } }], loss: 'binaryCrossentropy', optimizer: sgd } }),
    field: 'model.loss',
    mentions: 'real-valued targets',
  },
  {
    title: 'accuracy on a regression dataset',
    spec: JobSpec.fromJSON({ ...base, dataset: { name: 'adding' }, model: { layers: [{ lstm: { units: 8 } }, { dense: { units: 1 } }], loss: 'meanSquaredError', optimizer: sgd, metrics: ['accuracy'] } }),
    field: 'model.metrics[0]',
    mentions: 'regression',
  },
  {
    title: 'a GAN generator of the wrong sample shape',
    spec: spec({
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 100, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 1, activation: 'sigmoid' } }],
        generatorOptimizer: sgd,
        discriminatorOptimizer: sgd,
      },
    }),
    field: 'gan.generator[0]',
    mentions: 'outputs [100]',
  },
  {
    title: 'a GAN discriminator without one sigmoid output',
    spec: spec({
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 2, activation: 'softmax' } }],
        generatorOptimizer: sgd,
        discriminatorOptimizer: sgd,
      },
    }),
    field: 'gan.discriminator[0]',
    mentions: 'one sigmoid unit',
  },
  {
    title: 'Nesterov without momentum',
    spec: spec({ model: { layers: [softmax10], loss: 'categoricalCrossentropy', optimizer: { sgd: { learningRate: 0.1, nesterov: true } } } }),
    field: 'model.optimizer.sgd.nesterov',
    mentions: 'momentum above 0',
  },
  {
    title: 'an adam beta1 of 1',
    spec: spec({ model: { layers: [softmax10], loss: 'categoricalCrossentropy', optimizer: { adam: { learningRate: 0.1, beta1: 1 } } } }),
    field: 'model.optimizer.adam.beta1',
    mentions: 'got 1',
  },
  {
    title: 'a step decay that never steps',
    spec: JobSpec.fromJSON({ ...base, training: { ...base.training, learningRateSchedule: { stepDecay: { factor: 0.5, everySteps: 0 } } }, model: { layers: [softmax10], loss: 'categoricalCrossentropy', optimizer: sgd } }),
    field: 'training.learningRateSchedule.stepDecay.everySteps',
    mentions: 'got 0',
  },
  {
    title: 'a negative clipping norm',
    spec: JobSpec.fromJSON({ ...base, training: { ...base.training, clipGlobalNorm: -1 }, model: { layers: [softmax10], loss: 'categoricalCrossentropy', optimizer: sgd } }),
    field: 'training.clipGlobalNorm',
    mentions: 'got -1',
  },
  {
    title: 'an unknown initializer',
    spec: cnn([{ dense: { units: 10, activation: 'softmax', kernelInitializer: 'ones' } }]),
    field: 'model.layers[0].dense.kernelInitializer',
    mentions: '"ones"',
  },
  {
    title: 'a transposed convolution on flat input',
    spec: cnn([{ conv2dTranspose: { filters: 8, kernelSize: [3] } }, { flatten: {} }, softmax10]),
    field: 'model.layers[0].conv2dTranspose',
    mentions: 'got shape [784]',
  },
  {
    title: 'a transposed convolution without a kernel size',
    spec: cnn([{ reshape: { targetShape: [28, 28, 1] } }, { conv2dTranspose: { filters: 8 } }, { flatten: {} }, softmax10]),
    field: 'model.layers[1].conv2dTranspose.kernelSize',
    mentions: 'is required',
  },
  {
    title: 'an unknown interpolation',
    spec: cnn([{ reshape: { targetShape: [28, 28, 1] } }, { upSampling2d: { interpolation: 'bicubic' } }, { flatten: {} }, softmax10]),
    field: 'model.layers[1].upSampling2d.interpolation',
    mentions: 'expected one of: nearest, bilinear',
  },
  {
    title: 'an upsampling factor of 0',
    spec: cnn([{ reshape: { targetShape: [28, 28, 1] } }, { upSampling2d: { size: [2, 0] } }, { flatten: {} }, softmax10]),
    field: 'model.layers[1].upSampling2d.size[1]',
    mentions: 'got 0',
  },
  {
    title: 'a convolutional generator that overshoots 28x28 (7 → 15 → 30)',
    spec: spec({
      gan: {
        latentDim: 8,
        generator: [
          { dense: { units: 7 * 7 * 4 } },
          { reshape: { targetShape: [7, 7, 4] } },
          { conv2dTranspose: { filters: 4, kernelSize: [3], strides: [2], padding: 'valid' } },
          { upSampling2d: {} },
          { flatten: {} },
        ],
        discriminator: [{ dense: { units: 1, activation: 'sigmoid' } }],
        ...adams,
      },
    }),
    field: 'gan.generator[4]',
    mentions: 'it outputs [3600]',
  },
  {
    title: 'an unknown activation in an activation layer',
    spec: cnn([{ reshape: { targetShape: [28, 28, 1] } }, { conv2d: { filters: 4, kernelSize: [3] } }, { activation: { activation: 'leaky_relu' } }, { flatten: {} }, softmax10]),
    field: 'model.layers[2].activation.activation',
    mentions: 'unknown activation "leaky_relu"; expected one of: sigmoid, relu, tanh, softmax, linear, leakyRelu, elu',
  },
  {
    title: 'an activation layer without its activation',
    spec: cnn([{ dense: { units: 16 } }, { activation: {} }, softmax10]),
    field: 'model.layers[1].activation.activation',
    mentions: 'missing activation; expected one of: sigmoid, relu, tanh, softmax, linear, leakyRelu, elu',
  },
  {
    title: 'a GAN discriminator whose last activation layer is not a sigmoid',
    spec: spec({
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 1 } }, { activation: { activation: 'tanh' } }],
        ...adams,
      },
    }),
    field: 'gan.discriminator[1]',
    mentions: 'with activation "tanh"',
  },
  {
    title: 'both model and gan',
    spec: spec({ model: { layers: [softmax10], loss: 'categoricalCrossentropy', optimizer: sgd }, gan: { latentDim: 2 } }),
    field: 'gan',
    mentions: 'not both',
  },
];

for (const c of mismatches) {
  test(`rejects ${c.title}`, (t) => {
    const err = t.throws(() => validateJobSpec(c.spec), { instanceOf: InvalidSpecError });
    t.is(err?.field, c.field, err?.message);
    t.true(err!.message.includes(c.mentions), err!.message);
  });
}

test('recurrent, embedding and GAN specs that fit pass', (t) => {
  t.notThrows(() =>
    validateJobSpec(JobSpec.fromJSON({ ...base, dataset: { name: 'keywords' }, model: { layers: [{ embedding: { inputDim: 32, outputDim: 8 } }, { simpleRNN: { units: 8, returnSequences: true } }, { gru: { units: 8 } }, { dense: { units: 4, activation: 'softmax' } }], loss: 'sparseCategoricalCrossentropy', optimizer: { rmsprop: { learningRate: 0.01 } } } })),
  );
  t.notThrows(() =>
    validateJobSpec(JobSpec.fromJSON({ ...base, dataset: { name: 'adding' }, training: { ...base.training, clipGlobalNorm: 1, learningRateSchedule: { cosine: { minFactor: 0.1 } } }, model: { layers: [{ lstm: { units: 8 } }, { dense: { units: 1 } }], loss: 'meanSquaredError', optimizer: { adam: { learningRate: 0.01 } } } })),
  );
  const gan = validateJobSpec(
    spec({
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 32, activation: 'leakyRelu' } }, { dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ reshape: { targetShape: [28, 28, 1] } }, { conv2d: { filters: 4, kernelSize: [3], strides: [2] } }, { flatten: {} }, { dense: { units: 1, activation: 'sigmoid' } }],
        generatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
        discriminatorOptimizer: { adam: { learningRate: 0.001, beta1: 0.5 } },
      },
    }),
  );
  t.is(gan.model, undefined);
  t.is(gan.gan?.latentDim, 8);
  t.is(gan.gan?.realLabel, 1, 'no label smoothing unless asked');
});

test('gan.realLabel: one-sided label smoothing in (0.5, 1]', (t) => {
  const withLabel = (realLabel: number) =>
    validateJobSpec(
      spec({
        gan: {
          latentDim: 8,
          generator: [{ dense: { units: 784, activation: 'sigmoid' } }],
          discriminator: [{ dense: { units: 1, activation: 'sigmoid' } }],
          realLabel,
          ...adams,
        },
      }),
    );
  t.is(withLabel(0.9).gan?.realLabel, 0.9);
  t.is(withLabel(1).gan?.realLabel, 1);
  for (const bad of [0.5, 0.2, 1.1, -1, Number.NaN]) {
    const err = t.throws(() => withLabel(bad), { instanceOf: InvalidSpecError }, String(bad));
    t.is(err!.field, 'gan.realLabel');
    t.true(err!.message.includes('(0.5, 1]'), err!.message);
  }
});

test('transposed convolutions and upsampling infer their shapes and get their defaults', (t) => {
  const generator = [
    { dense: { units: 7 * 7 * 8 } },
    { reshape: { targetShape: [7, 7, 8] } },
    { conv2dTranspose: { filters: 4, kernelSize: [4], strides: [2], padding: 'same', activation: 'relu' } },
    { upSampling2d: { interpolation: 'bilinear' } },
    { conv2dTranspose: { filters: 1, kernelSize: [1] } },
    { flatten: {} },
  ];
  const gan = validateJobSpec(
    spec({
      gan: {
        latentDim: 8,
        generator,
        discriminator: [{ reshape: { targetShape: [28, 28, 1] } }, { conv2d: { filters: 4, kernelSize: [3], strides: [2] } }, { flatten: {} }, { dense: { units: 1, activation: 'sigmoid' } }],
        ...adams,
      },
    }),
  );
  const deconv = gan.gan!.generator[2]!.kind;
  t.deepEqual(deconv?.$case === 'conv2dTranspose' && deconv.value, { filters: 4, kernelSize: [4, 4], strides: [2, 2], padding: 'same', activation: 'relu', kernelInitializer: 'glorotUniform' });
  const up = gan.gan!.generator[3]!.kind;
  t.deepEqual(up?.$case === 'upSampling2d' && up.value, { size: [2, 2], interpolation: 'bilinear' });
  // "valid" grows by (input - 1) * stride + kernel: 7 → 16 with a 4x4 kernel at stride 2.
  const err = t.throws(
    () =>
      validateJobSpec(
        spec({
          gan: {
            latentDim: 8,
            generator: [{ dense: { units: 7 * 7 * 8 } }, { reshape: { targetShape: [7, 7, 8] } }, { conv2dTranspose: { filters: 1, kernelSize: [4], strides: [2] } }, { flatten: {} }],
            discriminator: [{ dense: { units: 1, activation: 'sigmoid' } }],
            ...adams,
          },
        }),
      ),
    { instanceOf: InvalidSpecError },
  );
  t.true(err!.message.includes('it outputs [256]'), err!.message);
});

test('activation layers: batch normalization before the activation, identity shapes, no parameters, the last activation for the loss', (t) => {
  const conv = [{ reshape: { targetShape: [28, 28, 1] } }, { conv2d: { filters: 8, kernelSize: [3] } }, { batchNormalization: {} }];
  const s = validateJobSpec(cnn([...conv, { activation: { activation: 'leakyRelu' } }, { flatten: {} }, { dense: { units: 10 } }, { activation: { activation: 'softmax' } }]));
  const act = s.model!.layers[3]!.kind;
  t.deepEqual(act?.$case === 'activation' && act.value, { activation: 'leakyRelu' });
  // conv 3*3*1*8 + 8, batch norm 4*8, dense 26*26*8*10 + 10; the activation layers add none.
  t.is(countParameters(s, BUILTIN_DATASETS.mnist!), 80 + 32 + 54090);
  // categoricalCrossentropy needs softmax last: a linear dense then a softmax activation layer is that.
  const err = t.throws(() => validateJobSpec(cnn([...conv, { flatten: {} }, { dense: { units: 10 } }, { activation: { activation: 'relu' } }])), { instanceOf: InvalidSpecError });
  t.is(err?.field, 'model.layers[5].activation.activation', err?.message);
  const gan = validateJobSpec(
    spec({
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 7 * 7 * 4 } }, { batchNormalization: {} }, { activation: { activation: 'relu' } }, { dense: { units: 784 } }, { activation: { activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 16 } }, { activation: { activation: 'elu' } }, { dense: { units: 1 } }, { activation: { activation: 'sigmoid' } }],
        ...adams,
      },
    }),
  );
  t.is(gan.gan!.discriminator.length, 4);
});

test('gan.conditional (AC-GAN): the generator takes latent + one-hot class, the discriminator ends in 1 + classes linear units', (t) => {
  const conditional = (discriminator: unknown[], extra: Record<string, unknown> = {}) =>
    validateJobSpec(spec({ ...extra, gan: { latentDim: 8, conditional: true, generator: [{ dense: { units: 784, activation: 'sigmoid' } }], discriminator, ...adams } }));
  const s = conditional([{ dense: { units: 16, activation: 'leakyRelu' } }, { dense: { units: 11 } }]);
  t.true(s.gan?.conditional);
  // Generator: (8 + 10) x 784 + 784; discriminator: 784 x 16 + 16 + 16 x 11 + 11.
  t.is(countParameters(s, BUILTIN_DATASETS.mnist!), 18 * 784 + 784 + (784 * 16 + 16) + (16 * 11 + 11));
  for (const [last, mentions] of [
    [{ dense: { units: 1, activation: 'sigmoid' } }, 'must end in 11 linear units'],
    [{ dense: { units: 11, activation: 'softmax' } }, 'with activation "softmax"'],
  ] as const) {
    const err = t.throws(() => conditional([last]), { instanceOf: InvalidSpecError });
    t.is(err!.field, 'gan.discriminator[0]');
    t.true(err!.message.includes(mentions), err!.message);
  }
  const regression = t.throws(() => conditional([{ dense: { units: 11 } }], { dataset: { name: 'adding' } }), { instanceOf: InvalidSpecError });
  t.is(regression!.field, 'gan.conditional', regression!.message);
});
