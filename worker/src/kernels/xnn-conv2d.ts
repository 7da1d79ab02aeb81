/// <reference types="emscripten" />
// NHWC convolution on the wasm heap through the backend's own C `Conv2D` (XNNPACK), with
// explicit paddings, for kernels that can be written as a convolution.
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { HeapScope } from './wasm-heap.js';

type WasmConv2D = (...args: number[]) => void;

const entryPoints = new WeakMap<BackendWasm, WasmConv2D>();

function wasmConv2D(backend: BackendWasm): WasmConv2D {
  let f = entryPoints.get(backend);
  if (!f) {
    f = backend.wasm.cwrap('Conv2D', null, new Array<string>(19).fill('number')) as WasmConv2D;
    entryPoints.set(backend, f);
  }
  return f;
}

export interface Conv2DGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  filterHeight: number;
  filterWidth: number;
  outChannels: number;
  /** Top, right, bottom, left. */
  pads: [number, number, number, number];
}

/** out = conv2d(x, filter), stride 1, no dilation; filter is [FH, FW, inChannels, outChannels]. */
export function xnnConv2d(scope: HeapScope, x: TensorInfo, filter: TensorInfo, out: TensorInfo, g: Conv2DGeometry): void {
  const [top, right, bottom, left] = g.pads;
  wasmConv2D(scope.backend)(
    scope.id(x),
    g.batch,
    g.inHeight,
    g.inWidth,
    scope.id(filter),
    g.filterHeight,
    g.filterWidth,
    top,
    right,
    bottom,
    left,
    0,
    1,
    1,
    1,
    1,
    g.inChannels,
    g.outChannels,
    scope.id(out),
  );
}
