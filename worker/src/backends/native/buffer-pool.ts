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
type Pooled = Float32Array | Uint8Array;

export class BufferPool {
  private readonly floats = new Map<number, Float32Array[]>();
  private readonly bytesFree = new Map<number, Uint8Array[]>();
  private readonly owned = new WeakSet<Pooled>();
  private readonly pinned = new WeakSet<ArrayBufferLike>();
  private bytes = 0;

  /** `limitBytes`: the most the pool holds while idle; arrays beyond it are dropped. */
  constructor(private readonly limitBytes = 512 * 2 ** 20) {}

  /** An array of `length` values; its contents are whatever was there (kernels overwrite all). */
  take(length: number): Float32Array {
    return this.reuse(this.floats, length) ?? this.own(new Float32Array(length));
  }

  /** The same for bool tensors (one byte per value). */
  takeBytes(length: number): Uint8Array {
    return this.reuse(this.bytesFree, length) ?? this.own(new Uint8Array(length));
  }

  /** The array of a disposed tensor: kept for reuse when nothing else can see it. */
  give(values: unknown): void {
    if (!(values instanceof Float32Array || values instanceof Uint8Array) || !this.owned.has(values) || this.pinned.has(values.buffer)) return;
    if (this.bytes + values.byteLength > this.limitBytes) return;
    const lists: Map<number, Pooled[]> = values instanceof Float32Array ? this.floats : this.bytesFree;
    let list = lists.get(values.length);
    if (!list) lists.set(values.length, (list = []));
    list.push(values);
    this.bytes += values.byteLength;
  }

  private reuse<T extends Pooled>(lists: Map<number, T[]>, length: number): T | undefined {
    const reused = lists.get(length)?.pop();
    if (reused) this.bytes -= reused.byteLength;
    return reused;
  }

  private own<T extends Pooled>(fresh: T): T {
    this.owned.add(fresh);
    return fresh;
  }

  /** Marks an array (and every view of its buffer) as seen outside the backend. */
  pin(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.pinned.add(values.buffer);
  }

  /**
   * Whether only the backend can see `values`: allocated here (not an array a caller handed to
   * tf.tensor) and never read out or viewed. What in-place updates require.
   */
  exclusive(values: unknown): boolean {
    return (values instanceof Float32Array || values instanceof Uint8Array) && this.owned.has(values) && !this.pinned.has(values.buffer);
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
