// Conv2D, FusedConv2D (bias and activation as oneDNN post-ops) and both gradients on oneDNN.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { Activation } from '../addon.js';
import type { NativeBackend } from '../backend.js';
import { channelsLast, geometry } from './geometry.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: Rounding;
  activation?: string;
  leakyreluAlpha?: number;
}

interface ConvInputs {
  x: TensorInfo;
  filter: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}

function forward(inputs: ConvInputs, backend: NativeBackend, attrs: ConvAttrs): TensorInfo | undefined {
  const { x, filter, bias } = inputs;
  const code = Activation[(attrs.activation ?? 'linear') as keyof typeof Activation];
  if (code === undefined || inputs.preluActivationWeights || !isFloat(backend, x, filter, bias) || !channelsLast(attrs.dataFormat) || x.shape.length !== 4) return undefined;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  if (bias && tf.util.sizeFromShape(bias.shape) !== info.outChannels) return undefined;
  const out = output(backend, info.outShape);
  backend.addon.conv2d(geometry(info), f32(backend, x), f32(backend, filter), bias ? f32(backend, bias) : null, out.values, code, attrs.leakyreluAlpha ?? 0.2);
  return out.info;
}

export const conv2DConfig = nativeKernel<ConvInputs, ConvAttrs>('Conv2D', forward);
export const fusedConv2DConfig = nativeKernel<ConvInputs, ConvAttrs>('FusedConv2D', forward);

export const conv2DBackpropInputConfig = nativeKernel<{ dy: TensorInfo; filter: TensorInfo }, ConvAttrs & { inputShape: [number, number, number, number] }>(
  'Conv2DBackpropInput',
  ({ dy, filter }, backend, attrs) => {
    if (!isFloat(backend, dy, filter) || !channelsLast(attrs.dataFormat)) return undefined;
    const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const out = output(backend, info.inShape);
    backend.addon.conv2dBackpropInput(geometry(info), f32(backend, dy), f32(backend, filter), out.values);
    return out.info;
  },
);

export const conv2DBackpropFilterConfig = nativeKernel<{ x: TensorInfo; dy: TensorInfo }, ConvAttrs & { filterShape: [number, number, number, number] }>(
  'Conv2DBackpropFilter',
  ({ x, dy }, backend, attrs) => {
    if (!isFloat(backend, x, dy) || !channelsLast(attrs.dataFormat)) return undefined;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const out = output(backend, info.filterShape);
    backend.addon.conv2dBackpropFilter(geometry(info), f32(backend, x), f32(backend, dy), out.values);
    return out.info;
  },
);
