// The filter gradient of a convolution, split over the batch. TF.js's webgpu kernel runs one
// invocation per filter element, each summing over every (sample, output row, output column):
// the Keras CNN's first layer has 288 filter elements, so 288 invocations of 173,000
// multiply-adds each, a few hundred threads on a GPU that runs hundreds of thousands. Ours runs
// one invocation per (filter element, chunk of samples), writing partial sums that a reduction
// over the chunks adds up: the same products, summed in chunk order, with enough parallel work.
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { webgpu_util } from '@tensorflow/tfjs-backend-webgpu';

/** Invocations to aim for: enough to fill a large GPU several times over. */
const TARGET_INVOCATIONS = 1 << 18;

/** Samples per chunk: as many chunks as bring the invocations to the target, at most one per sample. */
export function samplesPerChunk(batch: number, filterSize: number): number {
  const chunks = Math.max(1, Math.min(batch, Math.ceil(TARGET_INVOCATIONS / filterSize)));
  return Math.ceil(batch / chunks);
}

class SplitFilterGradProgram implements WebGPUProgram {
  readonly variableNames = ['x', 'dy'];
  readonly uniforms = 'pads : vec2<i32>, strides : vec2<i32>, batchSize : i32, outHeight : i32, outWidth : i32, inHeight : i32, inWidth : i32, chunk : i32,';
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey = 'synclineConv2DDerFilterSplit';

  constructor(chunks: number, filterShape: [number, number, number, number]) {
    this.outputShape = [chunks, ...filterShape];
    this.dispatchLayout = webgpu_util.flatDispatchLayout(this.outputShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, this.outputShape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          // A rank-5 coordinate is TF.js's vec5 struct (x, y, z, w, u), not an indexable vector.
          let first = coords.x * uniforms.chunk;
          let last = min(first + uniforms.chunk, uniforms.batchSize);
          let wR = coords.y;
          let wC = coords.z;
          let d1 = coords.w;
          let d2 = coords.u;
          var dotProd = 0.0;
          for (var b = first; b < last; b = b + 1) {
            for (var yR = 0; yR < uniforms.outHeight; yR = yR + 1) {
              let xR = wR + yR * uniforms.strides[0] - uniforms.pads[0];
              if (xR < 0 || xR >= uniforms.inHeight) {
                continue;
              }
              for (var yC = 0; yC < uniforms.outWidth; yC = yC + 1) {
                let xC = wC + yC * uniforms.strides[1] - uniforms.pads[1];
                if (xC < 0 || xC >= uniforms.inWidth) {
                  continue;
                }
                dotProd = dotProd + getX(b, xR, xC, d1) * getDy(b, yR, yC, d2);
              }
            }
          }
          setOutputAtIndex(index, dotProd);
        }
      }
    `;
  }
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
    const gpu = backend as WebGPUBackend;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat));
    if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter on webgpu: only NHWC (channelsLast) is supported');
    const chunk = samplesPerChunk(info.batchSize, filterShape.reduce((a, b) => a * b, 1));
    const chunks = Math.ceil(info.batchSize / chunk);
    const program = new SplitFilterGradProgram(chunks, info.filterShape as [number, number, number, number]);
    const uniforms = [
      { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
      { type: 'int32', data: [info.strideHeight, info.strideWidth] },
      { type: 'int32', data: [info.batchSize] },
      { type: 'int32', data: [info.outHeight] },
      { type: 'int32', data: [info.outWidth] },
      { type: 'int32', data: [info.inHeight] },
      { type: 'int32', data: [info.inWidth] },
      { type: 'int32', data: [chunk] },
    ];
    const partial = gpu.runWebGPUProgram(program, [x, dy], 'float32', uniforms);
    if (chunks === 1) {
      return { dataId: partial.dataId, shape: info.filterShape, dtype: 'float32' };
    }
    // The sum over the chunks, through the backend's own reduction.
    const sumKernel = tf.getKernel(tf.Sum, 'webgpu');
    if (!sumKernel) throw new Error('the webgpu backend has no Sum kernel');
    const sum = sumKernel.kernelFunc({ inputs: { x: partial }, backend, attrs: { axis: [0], keepDims: false } }) as TensorInfo;
    gpu.disposeData(partial.dataId);
    return sum;
  },
};
