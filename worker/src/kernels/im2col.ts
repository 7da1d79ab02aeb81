// Patch matrices of a 2-D convolution (NHWC), for computing its gradients as GEMMs. Output
// pixels are taken in chunks of whole output rows (a row is (image, oy)) so the patch matrix of
// a chunk stays cache-sized: XNNPACK's GEMM runs 24-25 GFLOP/s with an inner dimension of
// 2k-9k and about half that at 37k, and the full matrix of a batch can take gigabytes.
import type { backend_util } from '@tensorflow/tfjs';
import { transpose2d } from './transpose2d.js';

export type ConvInfo = backend_util.Conv2DInfo;

/** Output pixels per GEMM, and the most floats one patch matrix may hold. */
const CHUNK_PIXELS = 4096;
const CHUNK_FLOATS = 4 << 20;

/** Output rows per chunk for patch matrices `patchSize` wide. */
export function rowsPerChunk(info: ConvInfo, patchSize: number): number {
  const pixels = Math.min(CHUNK_PIXELS, Math.floor(CHUNK_FLOATS / patchSize));
  return Math.max(1, Math.floor(pixels / info.outWidth));
}

/**
 * Writes the transposed patch matrix of output rows [row0, row1) into `cols`:
 * cols[((fh * FW + fw) * CI + ci) * pixels + p] = x[image, iy, ix, ci] (0 in the padding), with
 * p the output pixel's index within the chunk and pixels = (row1 - row0) * outWidth.
 */
export function im2colTransposed(info: ConvInfo, x: Float32Array, cols: Float32Array, row0: number, row1: number): void {
  const { inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const pixels = (row1 - row0) * OW;
  // Output row outermost: its few input rows stay in cache while every tap copies from them.
  for (let r = row0; r < row1; r++) {
    const image = Math.floor(r / OH);
    const oy = r % OH;
    const p0 = (r - row0) * OW;
    for (let fh = 0; fh < FH; fh++) {
      const iy = oy * sh - pt + fh * dh;
      const inside = iy >= 0 && iy < H;
      for (let fw = 0; fw < FW; fw++) {
        const rowBase = (fh * FW + fw) * CI * pixels + p0;
        // Output columns whose input column ix = ox * sw + shift lies inside the image.
        const shift = fw * dw - pl;
        let lo = OW;
        let hi = OW;
        if (inside && W - 1 - shift >= 0) {
          lo = shift >= 0 ? 0 : Math.min(OW, ((sw - 1 - shift) / sw) | 0);
          hi = Math.max(lo, Math.min(OW, (((W - 1 - shift) / sw) | 0) + 1));
        }
        if (lo > 0 || hi < OW) {
          for (let ci = 0; ci < CI; ci++) {
            const d = rowBase + ci * pixels;
            cols.fill(0, d, d + lo);
            cols.fill(0, d + hi, d + OW);
          }
        }
        if (hi > lo) transpose2d(x, ((image * H + iy) * W + lo * sw + shift) * CI, sw * CI, cols, rowBase + lo, pixels, hi - lo, CI);
      }
    }
  }
}

/**
 * Adds the patch-matrix gradient of output rows [row0, row1) into dx:
 * dx[image, iy, ix, ci] += dcols[p * patch + (fh * FW + fw) * CI + ci], patch = FH * FW * CI.
 */
export function col2imAdd(info: ConvInfo, dcols: Float32Array, dx: Float32Array, row0: number, row1: number): void {
  const { inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const patch = FH * FW * CI;
  for (let r = row0; r < row1; r++) {
    const image = Math.floor(r / OH);
    const oy = r % OH;
    for (let fh = 0; fh < FH; fh++) {
      const iy = oy * sh - pt + fh * dh;
      if (iy < 0 || iy >= H) continue;
      const dxRow = (image * H + iy) * W;
      for (let ox = 0; ox < OW; ox++) {
        const src0 = ((r - row0) * OW + ox) * patch + fh * FW * CI;
        for (let fw = 0; fw < FW; fw++) {
          const ix = ox * sw - pl + fw * dw;
          if (ix < 0 || ix >= W) continue;
          const d = (dxRow + ix) * CI;
          const s = src0 + fw * CI;
          for (let ci = 0; ci < CI; ci++) dx[d + ci] = dx[d + ci]! + dcols[s + ci]!;
        }
      }
    }
  }
}
