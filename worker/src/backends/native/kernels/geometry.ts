// Convolution and pooling geometry as the addon takes it (kernels.h `ConvGeometry`), from the
// Conv2DInfo TF.js computes for the same attributes, so both backends agree on every size.
import type * as tf from '@tensorflow/tfjs';

export function geometry(info: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

/** Only NHWC is native; TF.js layers use it ('channelsLast') by default. */
export const channelsLast = (dataFormat: string | undefined) => dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
