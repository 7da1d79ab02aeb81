// Reuses the arrays of disposed tensors for new kernel outputs. A fresh Float32Array of a few
// hundred kilobytes costs more than the kernel that fills it (zeroed pages from the kernel,
// then garbage collection of the old ones): at MLP sizes allocation alone took 0.7 ms per
// 800 KB, as long as the whole layer's product. A training step allocates the same sizes every
// step, so the arrays of one step serve the next.
//
// An array is reused only when nothing outside the backend can still see it: it was allocated
// here, no one read it out (readSync/read hand the array itself to the caller), and no kernel
// made a view of it (a contiguous Slice returns a subarray). Those are pinned and left to the
// garbage collector.
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly pinned = new WeakSet<ArrayBufferLike>();
  private bytes = 0;

  /** `limitBytes`: the most the pool holds while idle; arrays beyond it are dropped. */
  constructor(private readonly limitBytes = 512 * 2 ** 20) {}

  /** An array of `length` values; its contents are whatever was there (kernels overwrite all). */
  take(length: number): Float32Array {
    const list = this.free.get(length);
    const reused = list?.pop();
    if (reused) {
      this.bytes -= reused.byteLength;
      return reused;
    }
    const fresh = new Float32Array(length);
    this.owned.add(fresh);
    return fresh;
  }

  /** The array of a disposed tensor: kept for reuse when nothing else can see it. */
  give(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.owned.has(values) || this.pinned.has(values.buffer)) return;
    if (this.bytes + values.byteLength > this.limitBytes) return;
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.bytes += values.byteLength;
  }

  /** Marks an array (and every view of its buffer) as seen outside the backend. */
  pin(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.pinned.add(values.buffer);
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
