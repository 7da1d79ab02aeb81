// Tile as block copies. Batch norm's gradient tiles its per-channel statistics to the shape of
// the activations (tf.grads of FusedBatchNorm), and the cpu kernel computes every output
// element's source index one by one: on a DCGAN step that was the slowest kernel after the
// convolutions. Here each input row is copied once, then whole blocks are doubled along each
// axis from the innermost out (copyWithin), so the work is a memcpy of the output.
import type { TensorInfo } from '@tensorflow/tfjs';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

type Values = Float32Array;

/** Writes `x` (of `shape`) tiled `reps` times along each axis into `out`. */
export function tileInto(x: Values, shape: readonly number[], reps: readonly number[], out: Values): void {
  const rank = shape.length;
  const outShape = shape.map((d, i) => d * reps[i]!);
  const inStrides = new Array<number>(rank);
  const outStrides = new Array<number>(rank);
  for (let k = rank - 1, a = 1, b = 1; k >= 0; k--) {
    inStrides[k] = a;
    outStrides[k] = b;
    a *= shape[k]!;
    b *= outShape[k]!;
  }
  // Fills the block of axes k.. at the output position of reps 0 (`outAt`), from `xAt`.
  const fill = (k: number, xAt: number, outAt: number): void => {
    const n = shape[k]!;
    if (k === rank - 1) {
      if (n === 1) {
        out.fill(x[xAt]!, outAt, outAt + reps[k]!);
        return;
      }
      out.set(x.subarray(xAt, xAt + n), outAt);
    } else {
      for (let i = 0; i < n; i++) fill(k + 1, xAt + i * inStrides[k]!, outAt + i * outStrides[k]!);
    }
    const length = n * outStrides[k]!;
    for (let j = 1; j < reps[k]!; j++) out.copyWithin(outAt + j * length, outAt, outAt + length);
  };
  fill(0, 0, 0);
}

export const tileConfig = nativeKernel<{ x: TensorInfo }, { reps: number[] }>('Tile', ({ x }, backend, { reps }) => {
  if (!isFloat(backend, x) || x.shape.length === 0 || reps.length !== x.shape.length) return undefined;
  const out = output(backend, x.shape.map((d, i) => d * reps[i]!));
  if (out.values.length > 0) tileInto(f32(backend, x), x.shape, reps, out.values);
  return out.info;
});
