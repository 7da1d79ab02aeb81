// Builds a TF.js model from a job's layer specs; one builder per layer kind, in one table.
// Specs arrive validated and normalized by the coordinator (defaults filled in).
import * as tf from '@tensorflow/tfjs';
import type { Layer } from '@syncline/proto';
import { SampleDraws, SampleDropout } from './sample-dropout.js';

type Kind = NonNullable<Layer['kind']>;
type Case = Kind['$case'];
type ValueOf<C extends Case> = Extract<Kind, { $case: C }>['value'];

interface BuildContext {
  seed: number;
  /** Position of the layer in its stack. */
  index: number;
  draws: SampleDraws;
  inputShape?: number[];
}

type LayerBuilder<V> = (value: V, ctx: BuildContext) => tf.layers.Layer[];

/** Negative-side slope of leakyRelu (Keras' LeakyReLU default is 0.3; GANs commonly use 0.2). */
const LEAKY_ALPHA = 0.2;

function initializer(name: string, seed: number): ReturnType<typeof tf.initializers.zeros> {
  switch (name) {
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed });
    case 'heUniform':
      return tf.initializers.heUniform({ seed });
    case 'heNormal':
      return tf.initializers.heNormal({ seed });
    case 'leCunUniform':
      return tf.initializers.leCunUniform({ seed });
    case 'leCunNormal':
      return tf.initializers.leCunNormal({ seed });
    case 'zeros':
      return tf.initializers.zeros();
    default:
      return tf.initializers.glorotUniform({ seed });
  }
}

/**
 * TF.js names most activations as Keras does; leakyRelu is a separate layer there, so a
 * layer with it becomes (layer with linear activation, LeakyReLU layer).
 */
function withActivation(activation: string, build: (act: string) => tf.layers.Layer): tf.layers.Layer[] {
  if (activation === 'leakyRelu') return [build('linear'), tf.layers.leakyReLU({ alpha: LEAKY_ALPHA })];
  return [build(activation || 'linear')];
}

const input = (ctx: BuildContext) => (ctx.inputShape ? { inputShape: ctx.inputShape } : {});
type ActivationName = Parameters<typeof tf.layers.dense>[0]['activation'];

const pooling =
  (make: (args: Parameters<typeof tf.layers.maxPooling2d>[0]) => tf.layers.Layer): LayerBuilder<ValueOf<'maxPooling2d'>> =>
  (v, ctx) => [
    make({
      poolSize: v.poolSize as [number, number],
      strides: v.strides as [number, number],
      padding: v.padding as 'valid' | 'same',
      ...input(ctx),
    }),
  ];

const recurrent =
  (make: (args: Parameters<typeof tf.layers.lstm>[0]) => tf.layers.Layer): LayerBuilder<ValueOf<'lstm'>> =>
  (v, ctx) =>
    withActivation(v.activation, (activation) =>
      make({
        units: v.units,
        activation: activation as ActivationName,
        returnSequences: v.returnSequences,
        kernelInitializer: initializer(v.kernelInitializer, ctx.seed),
        recurrentInitializer: tf.initializers.orthogonal({ seed: ctx.seed + 1 }),
        ...input(ctx),
      }),
    );

const builders: { [C in Case]: LayerBuilder<ValueOf<C>> } = {
  dense: (v, ctx) =>
    withActivation(v.activation, (activation) =>
      tf.layers.dense({ units: v.units, activation: activation as ActivationName, kernelInitializer: initializer(v.kernelInitializer, ctx.seed), ...input(ctx) }),
    ),
  conv2d: (v, ctx) =>
    withActivation(v.activation, (activation) =>
      tf.layers.conv2d({
        filters: v.filters,
        kernelSize: v.kernelSize as [number, number],
        strides: v.strides as [number, number],
        padding: v.padding as 'valid' | 'same',
        activation: activation as ActivationName,
        kernelInitializer: initializer(v.kernelInitializer, ctx.seed),
        ...input(ctx),
      }),
    ),
  conv2dTranspose: (v, ctx) =>
    withActivation(v.activation, (activation) =>
      tf.layers.conv2dTranspose({
        filters: v.filters,
        kernelSize: v.kernelSize as [number, number],
        strides: v.strides as [number, number],
        padding: v.padding as 'valid' | 'same',
        activation: activation as ActivationName,
        kernelInitializer: initializer(v.kernelInitializer, ctx.seed),
        ...input(ctx),
      }),
    ),
  upSampling2d: (v, ctx) => [
    tf.layers.upSampling2d({ size: v.size as [number, number], interpolation: v.interpolation as 'nearest' | 'bilinear', ...input(ctx) }),
  ],
  maxPooling2d: pooling(tf.layers.maxPooling2d),
  averagePooling2d: pooling(tf.layers.averagePooling2d),
  // tf.layers.activation knows no leakyRelu (TF.js 4.22): a LeakyReLU layer, as withActivation adds.
  activation: (v, ctx) => [
    v.activation === 'leakyRelu'
      ? tf.layers.leakyReLU({ alpha: LEAKY_ALPHA, ...input(ctx) })
      : tf.layers.activation({ activation: v.activation as NonNullable<ActivationName>, ...input(ctx) }),
  ],
  flatten: (_v, ctx) => [tf.layers.flatten(input(ctx))],
  reshape: (v, ctx) => [tf.layers.reshape({ targetShape: v.targetShape, ...input(ctx) })],
  // Masks keyed by sample, not by a seeded generator: the same whichever rank trains a sample.
  dropout: (v, ctx) => [new SampleDropout({ rate: v.rate, layer: ctx.index, draws: ctx.draws, ...input(ctx) })],
  batchNormalization: (v, ctx) => [tf.layers.batchNormalization({ momentum: v.momentum, epsilon: v.epsilon, ...input(ctx) })],
  embedding: (v, ctx) => [
    tf.layers.embedding({ inputDim: v.inputDim, outputDim: v.outputDim, embeddingsInitializer: initializer(v.embeddingsInitializer, ctx.seed), ...input(ctx) }),
  ],
  simpleRnn: recurrent(tf.layers.simpleRNN),
  lstm: recurrent(tf.layers.lstm),
  gru: recurrent(tf.layers.gru),
};

function buildLayer(layer: Layer, ctx: BuildContext): tf.layers.Layer[] {
  const kind = layer.kind;
  if (!kind) throw new Error('layer without a kind');
  const build = builders[kind.$case] as LayerBuilder<typeof kind.value>;
  return build(kind.value, ctx);
}

/**
 * A sequential model whose initial weights depend only on `seed`. Its dropout layers draw their
 * masks from the keys `draws` holds during a training pass.
 */
export function buildModel(layers: Layer[], inputShape: number[], seed: number, draws = new SampleDraws()): tf.Sequential {
  const model = tf.sequential();
  addLayers(model, layers, seed, draws, { inputShape });
  return model;
}

/**
 * Adds `layers` on top of `model`. `offset`: the position of the first in the whole stack (a
 * base model's kept layers come first), which keys its initial weights and dropout masks;
 * `inputShape`: for the first layer of an empty model.
 */
export function addLayers(model: tf.Sequential, layers: Layer[], seed: number, draws: SampleDraws, opts: { offset?: number; inputShape?: number[] } = {}): void {
  const offset = opts.offset ?? 0;
  layers.forEach((layer, i) => {
    const index = offset + i;
    for (const l of buildLayer(layer, { seed: (Math.imul(seed, 1000) + index * 7) >>> 0, index, draws, ...(index === 0 && opts.inputShape ? { inputShape: opts.inputShape } : {}) })) model.add(l);
  });
}

/** The model's trainable variables in a fixed order (the order of the fusion buffer); frozen layers have none. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  // LayerVariable keeps its tf.Variable in `val`; the optimizer needs the engine variable.
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

/**
 * Non-trainable state of the layers that train (batch-norm moving statistics), which replicas
 * average at the end: frozen layers' weights are not state, they never change.
 */
export function stateVariables(model: tf.LayersModel): tf.Variable[] {
  return model.layers.filter((l) => l.trainable).flatMap((l) => l.nonTrainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
}
