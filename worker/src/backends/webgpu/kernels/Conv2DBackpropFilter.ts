// The filter gradient of a convolution, NHWC, as an implicit GEMM through our tiled product:
// dW[tap, out-channel] = Σ over output pixels of x[pixel's input under tap] · dy[pixel, out-channel],
// M = filter taps (row, column, in-channel), N = out-channels, K = every (sample, output row,
// output column). TF.js's webgpu kernel runs one invocation per filter element, each summing
// over the whole batch: the Keras CNN's first layer has 288 filter elements, so 288 invocations
// of 173,000 multiply-adds each. Here K is that long sum, which the product splits into ranges
// (planGemm) whose partial products are added afterwards: enough workgroups, and each operand
// staged in workgroup memory instead of every product reading both from device memory.
// NCHW goes to TF.js's kernel.
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { NO_EPILOGUE } from './epilogue.js';
import { exceedsDispatch } from './gemm-program.js';
import { convGeometry } from './conv-geometry.js';
import { runGemm } from './run-gemm.js';
import { theirs } from './theirs.js';

type KernelArgs = Parameters<KernelFunc>[0];

/** A[tap, pixel]: the input element under filter tap `row` for output pixel `col`, 0 in the padding. */
const IMAGE_BY_TAP = {
  rowMajor: false,
  load: `if (row >= uniforms.dimM || col >= uniforms.dimK) { return 0.0; }
        let pixels = uniforms.outSize.x * uniforms.outSize.y;
        let image = col / pixels;
        let pixel = col - image * pixels;
        let outRow = pixel / uniforms.outSize.y;
        let outCol = pixel - outRow * uniforms.outSize.y;
        let tapWidth = uniforms.filterWidth * uniforms.inChannels;
        let tapRow = row / tapWidth;
        let rest = row - tapRow * tapWidth;
        let tapCol = rest / uniforms.inChannels;
        let channel = rest - tapCol * uniforms.inChannels;
        let inRow = outRow * uniforms.strides.x - uniforms.pads.x + tapRow;
        let inCol = outCol * uniforms.strides.y - uniforms.pads.y + tapCol;
        if (inRow < 0 || inRow >= uniforms.inSize.x || inCol < 0 || inCol >= uniforms.inSize.y) { return 0.0; }
        return x[((image * uniforms.inSize.x + inRow) * uniforms.inSize.y + inCol) * uniforms.inChannels + channel];`,
};

/** B[pixel, out-channel]: dy itself, [samples · rows · columns, out-channels]. */
const GRADIENT = {
  rowMajor: true,
  load: `if (row >= uniforms.dimK || col >= uniforms.dimN) { return 0.0; }
        return dy[row * uniforms.dimN + col];`,
};

function conv2DBackpropFilter(gpu: WebGPUBackend, x: TensorInfo, dy: TensorInfo, attrs: Conv2DBackpropFilterAttrs): TensorInfo | string {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return `${x.dtype} x, ${dy.dtype} dy`;
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (format !== 'channelsLast') return 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, format);
  const shape = { batch: 1, m: info.filterHeight * info.filterWidth * info.inChannels, n: info.outChannels, k: info.batchSize * info.outHeight * info.outWidth };
  const tooLarge = exceedsDispatch(gpu.device, shape);
  if (tooLarge) return tooLarge;

  return runGemm(gpu, {
    name: 'Conv2DBackpropFilter',
    shape,
    operands: [x, dy],
    operandNames: ['x', 'dy'],
    ...convGeometry(info, 'inChannels'),
    a: IMAGE_BY_TAP,
    b: GRADIENT,
    epilogue: NO_EPILOGUE,
    epilogueTensors: [],
    outShape: info.filterShape,
  });
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: (args: KernelArgs) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const out = conv2DBackpropFilter(args.backend as WebGPUBackend, x, dy, args.attrs as unknown as Conv2DBackpropFilterAttrs);
    return typeof out === 'string' ? theirs(tf.Conv2DBackpropFilter, args, out) : out;
  },
};
