// Conv2DBackpropInput on webgpu, NHWC: the gradient of a convolution with respect to its input
// (and the forward pass of conv2dTranspose), as an implicit GEMM through our tiled product.
// Row m of A is input pixel (sample, row, column); column k is filter tap (row, column, output
// channel); A reads dy at the output pixel that tap came from, 0 where none did (padding, or
// between strides). B is the filter read as [taps x out-channels, in-channels], transposed in
// place. NCHW goes to TF.js's kernel.
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { NO_EPILOGUE } from './epilogue.js';
import { exceedsDispatch } from './gemm-program.js';
import { convGeometry } from './conv-geometry.js';
import { runGemm } from './run-gemm.js';
import { theirs } from './theirs.js';

type KernelArgs = Parameters<KernelFunc>[0];

const GRADIENT = {
  rowMajor: true,
  load: `if (row >= uniforms.dimM || col >= uniforms.dimK) { return 0.0; }
        let pixels = uniforms.inSize.x * uniforms.inSize.y;
        let image = row / pixels;
        let pixel = row - image * pixels;
        let inRow = pixel / uniforms.inSize.y;
        let inCol = pixel - inRow * uniforms.inSize.y;
        let tapWidth = uniforms.filterWidth * uniforms.outChannels;
        let tapRow = col / tapWidth;
        let rest = col - tapRow * tapWidth;
        let tapCol = rest / uniforms.outChannels;
        let channel = rest - tapCol * uniforms.outChannels;
        let fromRow = inRow + uniforms.pads.x - tapRow;
        let fromCol = inCol + uniforms.pads.y - tapCol;
        if (fromRow < 0 || fromCol < 0) { return 0.0; }
        let outRow = fromRow / uniforms.strides.x;
        let outCol = fromCol / uniforms.strides.y;
        if (outRow * uniforms.strides.x != fromRow || outCol * uniforms.strides.y != fromCol) { return 0.0; }
        if (outRow >= uniforms.outSize.x || outCol >= uniforms.outSize.y) { return 0.0; }
        return dy[((image * uniforms.outSize.x + outRow) * uniforms.outSize.y + outCol) * uniforms.outChannels + channel];`,
};

/** Element (tap·outChannels + outChannel, inChannel) of the HWIO filter. */
const FILTER = {
  rowMajor: false,
  load: `if (row >= uniforms.dimK || col >= uniforms.dimN) { return 0.0; }
        let tap = row / uniforms.outChannels;
        let channel = row - tap * uniforms.outChannels;
        return W[(tap * uniforms.dimN + col) * uniforms.outChannels + channel];`,
};

function conv2DBackpropInput(gpu: WebGPUBackend, dy: TensorInfo, filter: TensorInfo, attrs: Conv2DBackpropInputAttrs): TensorInfo | string {
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return `${dy.dtype} dy, ${filter.dtype} filter`;
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (format !== 'channelsLast') return 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
  const shape = { batch: 1, m: info.batchSize * info.inHeight * info.inWidth, n: info.inChannels, k: info.filterHeight * info.filterWidth * info.outChannels };
  const tooLarge = exceedsDispatch(gpu.device, shape);
  if (tooLarge) return tooLarge;

  return runGemm(gpu, {
    name: 'Conv2DBackpropInput',
    shape,
    operands: [dy, filter],
    operandNames: ['dy', 'W'],
    ...convGeometry(info, 'outChannels'),
    a: GRADIENT,
    b: FILTER,
    epilogue: NO_EPILOGUE,
    epilogueTensors: [],
    outShape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
  });
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'webgpu',
  kernelFunc: (args: KernelArgs) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const out = conv2DBackpropInput(args.backend as WebGPUBackend, dy, filter, args.attrs as unknown as Conv2DBackpropInputAttrs);
    return typeof out === 'string' ? theirs(tf.Conv2DBackpropInput, args, out) : out;
  },
};
