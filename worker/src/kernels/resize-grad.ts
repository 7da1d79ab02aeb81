// The gradients of resizing (upSampling2d) over plain arrays, shared by the cpu/native and the
// wasm kernels. Each output row or column reads where the cpu backend's forward kernels
// (ResizeNearestNeighbor, ResizeBilinear) read, and the gradient scatters along the same map:
// each is the transpose of its forward pass.

export interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

function ratio(from: number, to: number, alignCorners: boolean): number {
  const aligned = alignCorners && to > 1;
  return (aligned ? from - 1 : from) / (aligned ? to - 1 : to);
}

/** For each of `to` outputs, the input index (of `from`) that nearest-neighbour resizing copies. */
export function nearestSources(from: number, to: number, { alignCorners, halfPixelCenters }: ResizeAttrs): Int32Array {
  const r = ratio(from, to, alignCorners);
  const out = new Int32Array(to);
  for (let i = 0; i < to; i++) {
    const frac = halfPixelCenters ? r * (i + 0.5) : r * i;
    let source = Math.min(from - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) source = Math.max(0, source);
    out[i] = source;
  }
  return out;
}

export interface LinearSources {
  low: Int32Array;
  high: Int32Array;
  /** Weight of `high`; `low` gets 1 - weight. */
  weight: Float32Array;
}

/** For each of `to` outputs, the two inputs bilinear resizing blends and the weight of the second. */
export function linearSources(from: number, to: number, { alignCorners, halfPixelCenters }: ResizeAttrs): LinearSources {
  const r = ratio(from, to, alignCorners);
  const low = new Int32Array(to);
  const high = new Int32Array(to);
  const weight = new Float32Array(to);
  for (let i = 0; i < to; i++) {
    const frac = halfPixelCenters ? r * (i + 0.5) - 0.5 : r * i;
    const floor = Math.max(0, Math.floor(frac));
    low[i] = floor;
    high[i] = Math.min(from - 1, Math.ceil(frac));
    weight[i] = frac - floor;
  }
  return { low, high, weight };
}

/** [batch, height, width, depth] of the resized images' input and of dy. */
export interface ResizeShapes {
  input: readonly number[];
  output: readonly number[];
}

/** Adds the gradient of nearest-neighbour resizing into `dx` (zeros on entry). */
export function nearestGrad(dy: Float32Array, dx: Float32Array, { input, output }: ResizeShapes, attrs: ResizeAttrs): void {
  const [batch, inHeight, inWidth, depth] = input as [number, number, number, number];
  const [, outHeight, outWidth] = output as [number, number, number, number];
  const rows = nearestSources(inHeight, outHeight, attrs);
  const cols = nearestSources(inWidth, outWidth, attrs);
  let at = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outHeight; r++) {
      const rowBase = (b * inHeight + rows[r]!) * inWidth;
      for (let c = 0; c < outWidth; c++) {
        const base = (rowBase + cols[c]!) * depth;
        for (let d = 0; d < depth; d++) dx[base + d]! += dy[at++]!;
      }
    }
  }
}

/** Adds the gradient of bilinear resizing into `dx` (zeros on entry). */
export function bilinearGrad(dy: Float32Array, dx: Float32Array, { input, output }: ResizeShapes, attrs: ResizeAttrs): void {
  const [batch, inHeight, inWidth, depth] = input as [number, number, number, number];
  const [, outHeight, outWidth] = output as [number, number, number, number];
  const rows = linearSources(inHeight, outHeight, attrs);
  const cols = linearSources(inWidth, outWidth, attrs);
  let at = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outHeight; r++) {
      const top = (b * inHeight + rows.low[r]!) * inWidth;
      const bottom = (b * inHeight + rows.high[r]!) * inWidth;
      const down = rows.weight[r]!;
      for (let c = 0; c < outWidth; c++) {
        const left = cols.low[c]!;
        const right = cols.high[c]!;
        const across = cols.weight[c]!;
        const topLeft = (1 - down) * (1 - across);
        const topRight = (1 - down) * across;
        const bottomLeft = down * (1 - across);
        const bottomRight = down * across;
        for (let d = 0; d < depth; d++) {
          const g = dy[at++]!;
          dx[(top + left) * depth + d]! += g * topLeft;
          dx[(top + right) * depth + d]! += g * topRight;
          dx[(bottom + left) * depth + d]! += g * bottomLeft;
          dx[(bottom + right) * depth + d]! += g * bottomRight;
        }
      }
    }
  }
}
