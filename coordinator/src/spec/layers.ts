// Every layer kind: its field checks, its defaults and the shape it produces from its input
// shape (without the batch dimension). One entry per kind, in one table; a mismatch between
// layers is found here, at submit time, and named by the layer's field path.
import type { Layer } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';
import { integerIn, numberIn, oneOf, shapeText } from './checks.js';

export const ACTIVATIONS = ['sigmoid', 'relu', 'tanh', 'softmax', 'linear', 'leakyRelu', 'elu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const INITIALIZERS = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'leCunUniform', 'leCunNormal', 'zeros'] as const;
export const PADDINGS = ['valid', 'same'] as const;
export const INTERPOLATIONS = ['nearest', 'bilinear'] as const;

const MAX_UNITS = 65536;
const MAX_KERNEL = 64;
/** Largest height or width a layer may produce (an upsampling stack grows quickly). */
const MAX_SPATIAL = 1 << 14;

type Kind = NonNullable<Layer['kind']>;
type Case = Kind['$case'];
type ValueOf<C extends Case> = Extract<Kind, { $case: C }>['value'];

export interface LayerContext {
  /** Field path of the layer's kind, e.g. `model.layers[2].conv2d`. */
  field: string;
  /** Position in its stack (embedding must come first). */
  index: number;
  /** The input's element type: tokens only before an embedding. */
  input: 'float' | 'tokens';
  vocabulary: number | undefined;
}

interface LayerRule<V> {
  /** Checks the fields and returns the layer with defaults filled in. */
  normalize(value: V, ctx: LayerContext): V;
  /** The output shape for `input`, or throws naming the layer. */
  outputShape(value: V, input: number[], ctx: LayerContext): number[];
}

function activation(field: string, value: string, fallback: Activation): Activation {
  return oneOf(field, 'activation', value === '' ? fallback : value, ACTIVATIONS);
}

function initializer(field: string, value: string): string {
  return oneOf(field, 'initializer', value === '' ? 'glorotUniform' : value, INITIALIZERS);
}

function pair(field: string, values: number[], fallback: [number, number], max: number): number[] {
  if (values.length === 0) return fallback;
  if (values.length > 2) throw new InvalidSpecError(field, `takes one or two values, got ${values.length}`);
  values.forEach((v, i) => integerIn(`${field}[${i}]`, v, 1, max));
  return values.length === 1 ? [values[0]!, values[0]!] : values;
}

function requireRank(ctx: LayerContext, input: number[], rank: number, meaning: string): void {
  if (input.length !== rank) {
    throw new InvalidSpecError(ctx.field, `expects input of rank ${rank} (${meaning}), got shape ${shapeText(input)}`);
  }
}

function requireFloat(ctx: LayerContext): void {
  if (ctx.input === 'tokens') {
    throw new InvalidSpecError(ctx.field, 'the dataset gives integer tokens: the first layer must be an embedding');
  }
}

/** Output length of a window sliding over `size` (Keras' conv/pool arithmetic). */
function windowOutput(ctx: LayerContext, size: number, window: number, stride: number, padding: string): number {
  const out = padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
  if (out < 1) {
    throw new InvalidSpecError(ctx.field, `a window of ${window} with padding "${padding}" does not fit an input of size ${size}`);
  }
  return out;
}

/** Output length of a transposed convolution (Keras' deconv_output_length, no output padding). */
function transposedOutput(ctx: LayerContext, size: number, window: number, stride: number, padding: string): number {
  const out = padding === 'same' ? size * stride : (size - 1) * stride + window;
  if (out > MAX_SPATIAL) throw new InvalidSpecError(ctx.field, `produces a size of ${out}, above the limit of ${MAX_SPATIAL}`);
  return out;
}

const pooling: LayerRule<ValueOf<'maxPooling2d'>> = {
  normalize(v, ctx) {
    const poolSize = pair(`${ctx.field}.poolSize`, v.poolSize, [2, 2], MAX_KERNEL);
    return {
      poolSize,
      strides: pair(`${ctx.field}.strides`, v.strides, [poolSize[0]!, poolSize[1]!], MAX_KERNEL),
      padding: oneOf(`${ctx.field}.padding`, 'padding', v.padding || 'valid', PADDINGS),
    };
  },
  outputShape(v, input, ctx) {
    requireFloat(ctx);
    requireRank(ctx, input, 3, 'height, width, channels');
    return [
      windowOutput(ctx, input[0]!, v.poolSize[0]!, v.strides[0]!, v.padding),
      windowOutput(ctx, input[1]!, v.poolSize[1]!, v.strides[1]!, v.padding),
      input[2]!,
    ];
  },
};

const recurrent: LayerRule<ValueOf<'lstm'>> = {
  normalize(v, ctx) {
    return {
      units: integerIn(`${ctx.field}.units`, v.units, 1, MAX_UNITS),
      activation: activation(`${ctx.field}.activation`, v.activation, 'tanh'),
      returnSequences: v.returnSequences,
      kernelInitializer: initializer(`${ctx.field}.kernelInitializer`, v.kernelInitializer),
    };
  },
  outputShape(v, input, ctx) {
    requireFloat(ctx);
    requireRank(ctx, input, 2, 'time steps, features');
    return v.returnSequences ? [input[0]!, v.units] : [v.units];
  },
};

const rules: { [C in Case]: LayerRule<ValueOf<C>> } = {
  dense: {
    normalize: (v, ctx) => ({
      units: integerIn(`${ctx.field}.units`, v.units, 1, MAX_UNITS),
      activation: activation(`${ctx.field}.activation`, v.activation, 'linear'),
      kernelInitializer: initializer(`${ctx.field}.kernelInitializer`, v.kernelInitializer),
    }),
    outputShape(v, input, ctx) {
      requireFloat(ctx);
      if (input.length === 0) throw new InvalidSpecError(ctx.field, 'expects an input with at least one dimension');
      return [...input.slice(0, -1), v.units];
    },
  },
  conv2d: {
    normalize(v, ctx) {
      if (v.kernelSize.length === 0) throw new InvalidSpecError(`${ctx.field}.kernelSize`, 'is required (one or two values)');
      return {
        filters: integerIn(`${ctx.field}.filters`, v.filters, 1, MAX_UNITS),
        kernelSize: pair(`${ctx.field}.kernelSize`, v.kernelSize, [1, 1], MAX_KERNEL),
        strides: pair(`${ctx.field}.strides`, v.strides, [1, 1], MAX_KERNEL),
        padding: oneOf(`${ctx.field}.padding`, 'padding', v.padding || 'valid', PADDINGS),
        activation: activation(`${ctx.field}.activation`, v.activation, 'linear'),
        kernelInitializer: initializer(`${ctx.field}.kernelInitializer`, v.kernelInitializer),
      };
    },
    outputShape(v, input, ctx) {
      requireFloat(ctx);
      requireRank(ctx, input, 3, 'height, width, channels');
      return [
        windowOutput(ctx, input[0]!, v.kernelSize[0]!, v.strides[0]!, v.padding),
        windowOutput(ctx, input[1]!, v.kernelSize[1]!, v.strides[1]!, v.padding),
        v.filters,
      ];
    },
  },
  conv2dTranspose: {
    normalize(v, ctx) {
      if (v.kernelSize.length === 0) throw new InvalidSpecError(`${ctx.field}.kernelSize`, 'is required (one or two values)');
      return {
        filters: integerIn(`${ctx.field}.filters`, v.filters, 1, MAX_UNITS),
        kernelSize: pair(`${ctx.field}.kernelSize`, v.kernelSize, [1, 1], MAX_KERNEL),
        strides: pair(`${ctx.field}.strides`, v.strides, [1, 1], MAX_KERNEL),
        padding: oneOf(`${ctx.field}.padding`, 'padding', v.padding || 'valid', PADDINGS),
        activation: activation(`${ctx.field}.activation`, v.activation, 'linear'),
        kernelInitializer: initializer(`${ctx.field}.kernelInitializer`, v.kernelInitializer),
      };
    },
    outputShape(v, input, ctx) {
      requireFloat(ctx);
      requireRank(ctx, input, 3, 'height, width, channels');
      return [
        transposedOutput(ctx, input[0]!, v.kernelSize[0]!, v.strides[0]!, v.padding),
        transposedOutput(ctx, input[1]!, v.kernelSize[1]!, v.strides[1]!, v.padding),
        v.filters,
      ];
    },
  },
  upSampling2d: {
    normalize: (v, ctx) => ({
      size: pair(`${ctx.field}.size`, v.size, [2, 2], MAX_KERNEL),
      interpolation: oneOf(`${ctx.field}.interpolation`, 'interpolation', v.interpolation || 'nearest', INTERPOLATIONS),
    }),
    outputShape(v, input, ctx) {
      requireFloat(ctx);
      requireRank(ctx, input, 3, 'height, width, channels');
      const grow = (size: number, factor: number): number => {
        const out = size * factor;
        if (out > MAX_SPATIAL) throw new InvalidSpecError(ctx.field, `produces a size of ${out}, above the limit of ${MAX_SPATIAL}`);
        return out;
      };
      return [grow(input[0]!, v.size[0]!), grow(input[1]!, v.size[1]!), input[2]!];
    },
  },
  maxPooling2d: pooling,
  averagePooling2d: pooling,
  flatten: {
    normalize: () => ({}),
    outputShape(_v, input, ctx) {
      requireFloat(ctx);
      return [input.reduce((a, b) => a * b, 1)];
    },
  },
  reshape: {
    normalize(v, ctx) {
      if (v.targetShape.length === 0) throw new InvalidSpecError(`${ctx.field}.targetShape`, 'is required');
      v.targetShape.forEach((d, i) => integerIn(`${ctx.field}.targetShape[${i}]`, d, 1, 1 << 24));
      return { targetShape: [...v.targetShape] };
    },
    outputShape(v, input, ctx) {
      requireFloat(ctx);
      const from = input.reduce((a, b) => a * b, 1);
      const to = v.targetShape.reduce((a, b) => a * b, 1);
      if (from !== to) {
        throw new InvalidSpecError(
          `${ctx.field}.targetShape`,
          `${shapeText(v.targetShape)} has ${to} elements but its input ${shapeText(input)} has ${from}`,
        );
      }
      return [...v.targetShape];
    },
  },
  activation: {
    // Required: the layer is nothing but its activation.
    normalize: (v, ctx) => ({ activation: oneOf(`${ctx.field}.activation`, 'activation', v.activation, ACTIVATIONS) }),
    outputShape(_v, input, ctx) {
      requireFloat(ctx);
      return input;
    },
  },
  dropout: {
    normalize: (v, ctx) => ({ rate: numberIn(`${ctx.field}.rate`, v.rate, 0, 1) }),
    outputShape: (_v, input) => input,
  },
  batchNormalization: {
    normalize: (v, ctx) => ({
      momentum: v.momentum === 0 ? 0.99 : numberIn(`${ctx.field}.momentum`, v.momentum, 0, 1),
      epsilon: v.epsilon === 0 ? 1e-3 : numberIn(`${ctx.field}.epsilon`, v.epsilon, 1e-12, 1),
    }),
    outputShape(_v, input, ctx) {
      requireFloat(ctx);
      return input;
    },
  },
  embedding: {
    normalize: (v, ctx) => ({
      inputDim: integerIn(`${ctx.field}.inputDim`, v.inputDim, 1, 1 << 24),
      outputDim: integerIn(`${ctx.field}.outputDim`, v.outputDim, 1, MAX_UNITS),
      embeddingsInitializer: oneOf(`${ctx.field}.embeddingsInitializer`, 'initializer', v.embeddingsInitializer || 'glorotUniform', INITIALIZERS),
    }),
    outputShape(v, input, ctx) {
      if (ctx.index !== 0 || ctx.input !== 'tokens') {
        throw new InvalidSpecError(ctx.field, 'an embedding must be the first layer, on a dataset of integer tokens');
      }
      if (ctx.vocabulary !== undefined && v.inputDim < ctx.vocabulary) {
        throw new InvalidSpecError(`${ctx.field}.inputDim`, `must be at least the dataset's vocabulary (${ctx.vocabulary}), got ${v.inputDim}`);
      }
      requireRank({ ...ctx }, input, 1, 'time steps of token ids');
      return [input[0]!, v.outputDim];
    },
  },
  simpleRnn: recurrent,
  lstm: recurrent,
  gru: recurrent,
};

export const LAYER_TYPES = ['dense', 'conv2d', 'maxPooling2d', 'averagePooling2d', 'flatten', 'reshape', 'dropout', 'batchNormalization', 'embedding', 'simpleRNN', 'lstm', 'gru', 'conv2dTranspose', 'upSampling2d', 'activation'];

/** JSON name of a layer kind (`simpleRnn` is spelled `simpleRNN` in job files). */
export function layerJsonName(kind: Case): string {
  return kind === 'simpleRnn' ? 'simpleRNN' : kind;
}

export interface CheckedStack {
  layers: Layer[];
  /** The input shape of each layer (for counting parameters). */
  inputShapes: number[][];
  outputShape: number[];
  /** Field path of the last layer's size: `...dense.units` for a dense layer, else the layer's kind. */
  outputField: string;
  /** The activation of the last layer that has one (for loss checks), and its field. */
  lastActivation: { value: string; field: string } | undefined;
}

/** Checks a stack of layers on an input shape; returns the normalized layers and the output shape. */
export function checkStack(
  layers: Layer[],
  field: string,
  input: { shape: number[]; kind: 'float' | 'tokens'; vocabulary?: number },
): CheckedStack {
  if (layers.length === 0) throw new InvalidSpecError(field, 'at least one layer is required');
  let shape = input.shape;
  let lastActivation: CheckedStack['lastActivation'];
  let outputField = field;
  const inputShapes: number[][] = [];
  const out = layers.map((layer, index) => {
    const kind = layer.kind;
    if (!kind) throw new InvalidSpecError(`${field}[${index}]`, `unknown or missing layer type; expected one of: ${LAYER_TYPES.join(', ')}`);
    const ctx: LayerContext = {
      field: `${field}[${index}].${layerJsonName(kind.$case)}`,
      index,
      input: index === 0 ? input.kind : 'float',
      vocabulary: input.vocabulary,
    };
    const rule = rules[kind.$case] as LayerRule<typeof kind.value>;
    const value = rule.normalize(kind.value, ctx);
    inputShapes.push(shape);
    shape = rule.outputShape(value, shape, ctx);
    if ('activation' in value && typeof value.activation === 'string') lastActivation = { value: value.activation, field: `${ctx.field}.activation` };
    else if (kind.$case !== 'dropout' && kind.$case !== 'flatten' && kind.$case !== 'reshape') lastActivation = undefined;
    outputField = kind.$case === 'dense' ? `${ctx.field}.units` : ctx.field;
    return { kind: { $case: kind.$case, value } } as Layer;
  });
  return { layers: out, inputShapes, outputShape: shape, outputField, lastActivation };
}

/**
 * The field checks of each layer without shapes, for a stack whose input is not known here (the
 * layers on a base model, checked offline): the shapes are the coordinator's to check.
 */
export function checkLayerFields(layers: Layer[], field: string): void {
  if (layers.length === 0) throw new InvalidSpecError(field, 'at least one layer is required');
  layers.forEach((layer, index) => {
    const kind = layer.kind;
    if (!kind) throw new InvalidSpecError(`${field}[${index}]`, `unknown or missing layer type; expected one of: ${LAYER_TYPES.join(', ')}`);
    const rule = rules[kind.$case] as LayerRule<typeof kind.value>;
    rule.normalize(kind.value, { field: `${field}[${index}].${layerJsonName(kind.$case)}`, index, input: 'float', vocabulary: undefined });
  });
}
