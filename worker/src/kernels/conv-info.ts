// Convolution geometry for our NHWC-only kernels, as the wasm backend's own kernels compute it.
import { backend_util } from '@tensorflow/tfjs';
import type { ConvInfo } from './im2col.js';

export function nhwcConvInfo(
  kernelName: string,
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: backend_util.ExplicitPadding | 'valid' | 'same' | number,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
  dataFormat: 'NHWC' | 'NCHW' | undefined,
): ConvInfo {
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC'),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error(`wasm ${kernelName} supports NHWC only; got ${dataFormat}`);
  return info;
}
