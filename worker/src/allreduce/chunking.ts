// How a buffer is cut into shards (one per owning rank, for ring and sharded) and shards into messages.
// Every rank derives the same layout from (length, elementsPerChunk, shards), which is what lets
// receivers check a chunk's offset and size instead of trusting them.
import { HEADER_BYTES, type FrameHeader } from './messages.js';

export class ChunkLayout {
  /** Total chunks; every shard has at least one, so an empty shard still synchronises its ranks. */
  readonly count: number;
  private readonly offsets: Float64Array;
  private readonly sizes: Float64Array;
  private readonly shardOf: Int32Array;
  /** Chunks of shard j are firstChunk[j] ..< firstChunk[j + 1]. */
  private readonly firstChunk: Int32Array;

  constructor(
    readonly length: number,
    readonly elementsPerChunk: number,
    readonly shards = 1,
  ) {
    this.firstChunk = new Int32Array(shards + 1);
    let count = 0;
    for (let shard = 0; shard < shards; shard++) {
      this.firstChunk[shard] = count;
      count += Math.max(1, Math.ceil(this.shardSize(shard) / elementsPerChunk));
    }
    this.firstChunk[shards] = count;
    this.count = count;
    this.offsets = new Float64Array(count);
    this.sizes = new Float64Array(count);
    this.shardOf = new Int32Array(count);
    for (let shard = 0; shard < shards; shard++) {
      const start = this.shardStart(shard);
      const end = this.shardStart(shard + 1);
      for (let chunk = this.firstChunk[shard]!, at = start; chunk < this.firstChunk[shard + 1]!; chunk++) {
        this.offsets[chunk] = at;
        this.sizes[chunk] = Math.min(elementsPerChunk, end - at);
        this.shardOf[chunk] = shard;
        at += elementsPerChunk;
      }
    }
  }

  /** First element of `shard`; shards differ in size by at most one element. */
  shardStart(shard: number): number {
    return Math.floor((shard * this.length) / this.shards);
  }

  shardSize(shard: number): number {
    return this.shardStart(shard + 1) - this.shardStart(shard);
  }

  /** The chunks of `shard` are `first ..< end`. */
  chunksOf(shard: number): { first: number; end: number } {
    return { first: this.firstChunk[shard]!, end: this.firstChunk[shard + 1]! };
  }

  shard(chunk: number): number {
    return this.shardOf[chunk]!;
  }

  offset(chunk: number): number {
    return this.offsets[chunk]!;
  }

  size(chunk: number): number {
    return this.sizes[chunk]!;
  }

  /** Whether a peer cut its buffer the same way, i.e. has the same length, chunk size and shards. */
  matches(h: FrameHeader): boolean {
    return (
      h.totalLength === this.length &&
      h.chunkCount === this.count &&
      h.elementOffset === this.offset(h.chunkIndex) &&
      h.elementCount === this.size(h.chunkIndex)
    );
  }

  /** Explains a frame that does not match, for AllReduceMismatchError. */
  mismatch(h: FrameHeader, rank: number): string {
    return (
      `rank ${h.sender} sent chunk ${h.chunkIndex}/${h.chunkCount} at ${h.elementOffset}+${h.elementCount} of ` +
      `${h.totalLength} elements; rank ${rank} expects ${this.count} chunks of ≤ ${this.elementsPerChunk} over ` +
      `${this.length} elements in ${this.shards} shard${this.shards === 1 ? '' : 's'} ` +
      `(same length, maxChunkBytes and world size on every rank?)`
    );
  }
}

/** Elements of `bytes` bytes each that fit one message of at most `maxChunkBytes` bytes, header included. */
export function elementsPerChunk(maxChunkBytes: number, bytes = 4): number {
  const elements = Math.floor((maxChunkBytes - HEADER_BYTES) / bytes);
  if (!Number.isFinite(elements) || elements < 1) {
    throw new RangeError(`maxChunkBytes ${maxChunkBytes} leaves no room for data after the ${HEADER_BYTES}-byte header`);
  }
  return elements;
}
