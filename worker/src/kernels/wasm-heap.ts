// Scratch tensors on the wasm backend's heap for our kernels: fresh allocations, and views
// (tensors registered over part of another tensor's memory, released without freeing it), so
// the backend's own C kernels can run on slices without copies. Everything a scope creates is
// released by `release()`. Typed arrays over the heap go stale whenever the heap grows (any
// allocation, in JS or inside a C kernel): take them with `f32` after the last allocation.
import type { DataType, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export class HeapScope {
  private readonly owned: TensorInfo[] = [];
  private readonly views: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** A new tensor on the heap, freed by `release()`. Contents are undefined. */
  alloc(shape: number[], dtype: DataType = 'float32'): TensorInfo {
    const t = this.backend.makeOutput(shape, dtype);
    this.owned.push(t);
    return t;
  }

  /** A tensor over `base`'s memory from element `offset` on (4-byte elements). */
  view(base: TensorInfo, offset: number, shape: number[]): TensorInfo {
    const t = this.backend.makeOutput(shape, base.dtype, this.backend.dataIdMap.get(base.dataId).memoryOffset + offset * 4);
    this.views.push(t);
    return t;
  }

  /** Releases one view now (its XNNPACK operators go with it). */
  dropView(view: TensorInfo): void {
    const i = this.views.indexOf(view);
    if (i >= 0) this.views.splice(i, 1);
    this.unregister(view);
  }

  /** The id the C kernels know a tensor by. */
  id(t: TensorInfo): number {
    return this.backend.dataIdMap.get(t.dataId).id;
  }

  f32(t: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  i32(t: TensorInfo): Int32Array {
    return this.backend.typedArrayFromHeap(t) as Int32Array;
  }

  release(): void {
    for (const v of this.views.splice(0)) this.unregister(v);
    for (const t of this.owned.splice(0)) this.backend.disposeData(t.dataId);
  }

  private unregister(view: TensorInfo): void {
    const data = this.backend.dataIdMap.get(view.dataId);
    if (!data) return;
    // The C side drops the tensor (and runs its disposal callbacks); the memory stays.
    this.backend.wasm.tfjs.disposeData(data.id);
    this.backend.dataIdMap.delete(view.dataId);
  }
}
