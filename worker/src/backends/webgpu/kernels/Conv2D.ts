// Conv2D and FusedConv2D on webgpu, NHWC: our tiled product (gemm-program.ts) as an implicit
// GEMM. Row m of A is output pixel (sample, row, column); column k is filter tap (row, column,
// input channel); A reads the input image where that tap lands, 0 in the padding, without an
// im2col copy. B is the HWIO filter itself, [taps x in-channels, out-channels]. Any strides,
// padding and dilations; bias and activation fused. NCHW goes to TF.js's kernel.
import * as tf from '@tensorflow/tfjs';
import type { Conv2DAttrs, FusedConv2DAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { NO_EPILOGUE, planEpilogue } from './epilogue.js';
import { exceedsDispatch } from './gemm-program.js';
import { convGeometry } from './conv-geometry.js';
import { runGemm } from './run-gemm.js';
import { theirs } from './theirs.js';

type KernelArgs = Parameters<KernelFunc>[0];

const IMAGE = {
  rowMajor: true,
  load: `if (row >= uniforms.dimM || col >= uniforms.dimK) { return 0.0; }
        let pixels = uniforms.outSize.x * uniforms.outSize.y;
        let image = row / pixels;
        let pixel = row - image * pixels;
        let outRow = pixel / uniforms.outSize.y;
        let outCol = pixel - outRow * uniforms.outSize.y;
        let tapWidth = uniforms.filterWidth * uniforms.inChannels;
        let tapRow = col / tapWidth;
        let rest = col - tapRow * tapWidth;
        let tapCol = rest / uniforms.inChannels;
        let channel = rest - tapCol * uniforms.inChannels;
        let inRow = outRow * uniforms.strides.x - uniforms.pads.x + tapRow * uniforms.dilations.x;
        let inCol = outCol * uniforms.strides.y - uniforms.pads.y + tapCol * uniforms.dilations.y;
        if (inRow < 0 || inRow >= uniforms.inSize.x || inCol < 0 || inCol >= uniforms.inSize.y) { return 0.0; }
        return x[((image * uniforms.inSize.x + inRow) * uniforms.inSize.y + inCol) * uniforms.inChannels + channel];`,
};

const FILTER = {
  rowMajor: true,
  load: `if (row >= uniforms.dimK || col >= uniforms.dimN) { return 0.0; }
        return W[row * uniforms.dimN + col];`,
};

interface ConvArgs {
  x: TensorInfo;
  filter: TensorInfo;
  attrs: Conv2DAttrs;
  bias?: TensorInfo;
  prelu?: TensorInfo;
  activation?: string | null;
  leakyreluAlpha?: number;
}

function conv2d(gpu: WebGPUBackend, c: ConvArgs): TensorInfo | string {
  const { x, filter, attrs } = c;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') return `${x.dtype} input, ${filter.dtype} filter`;
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (format !== 'channelsLast') return 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
  const shape = { batch: 1, m: info.batchSize * info.outHeight * info.outWidth, n: info.outChannels, k: info.filterHeight * info.filterWidth * info.inChannels };
  const tooLarge = exceedsDispatch(gpu.device, shape);
  if (tooLarge) return tooLarge;
  const epilogue = c.bias || c.activation ? planEpilogue(info.outChannels, c.activation, c.bias, c.prelu) : NO_EPILOGUE;
  if (typeof epilogue === 'string') return epilogue;

  return runGemm(gpu, {
    name: 'Conv2D',
    shape,
    operands: [x, filter],
    operandNames: ['x', 'W'],
    ...convGeometry(info, 'inChannels', true),
    a: IMAGE,
    b: FILTER,
    epilogue,
    epilogueTensors: [...(c.bias ? [c.bias] : []), ...(epilogue.prelu ? [c.prelu!] : [])],
    leakyreluAlpha: c.leakyreluAlpha,
    outShape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels],
  });
}

export const conv2DConfig: KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: 'webgpu',
  kernelFunc: (args: KernelArgs) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const out = conv2d(args.backend as WebGPUBackend, { x, filter, attrs: args.attrs as unknown as Conv2DAttrs });
    return typeof out === 'string' ? theirs(tf.Conv2D, args, out) : out;
  },
};

export const fusedConv2DConfig: KernelConfig = {
  kernelName: tf.FusedConv2D,
  backendName: 'webgpu',
  kernelFunc: (args: KernelArgs) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const attrs = args.attrs as unknown as FusedConv2DAttrs;
    const out = conv2d(args.backend as WebGPUBackend, { x, filter, attrs, bias, prelu: preluActivationWeights, activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha });
    return typeof out === 'string' ? theirs(tf.FusedConv2D, args, out) : out;
  },
};
