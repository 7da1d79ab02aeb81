// The uniforms every convolution kernel's loaders read (Conv2D, Conv2DBackpropInput,
// Conv2DBackpropFilter): output and input size, strides, padding, optionally dilations, the
// filter's width and one channel count, declared and filled in the same order.
import type * as tf from '@tensorflow/tfjs';
import type { Gemm } from './run-gemm.js';

export function convGeometry(info: tf.backend_util.Conv2DInfo, channels: 'inChannels' | 'outChannels', withDilations = false): Pick<Gemm, 'uniforms' | 'uniformData'> {
  const dilations = withDilations ? [{ type: 'int32', data: [info.dilationHeight, info.dilationWidth] }] : [];
  return {
    uniforms: `outSize : vec2<i32>, inSize : vec2<i32>, strides : vec2<i32>, pads : vec2<i32>,${withDilations ? ' dilations : vec2<i32>,' : ''} filterWidth : i32, ${channels} : i32,`,
    uniformData: [
      { type: 'int32', data: [info.outHeight, info.outWidth] },
      { type: 'int32', data: [info.inHeight, info.inWidth] },
      { type: 'int32', data: [info.strideHeight, info.strideWidth] },
      { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
      ...dilations,
      { type: 'int32', data: [info.filterWidth] },
      { type: 'int32', data: [info[channels]] },
    ],
  };
}
