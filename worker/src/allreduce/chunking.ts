// How a buffer is cut into shards (one per owning rank, for ring and sharded) and shards into messages.
// Every rank derives the same layout from (length, elementsPerChunk, shards), which is what lets
// receivers check a chunk's offset and size instead of trusting them.
import { HEADER_BYTES, type FrameHeader } from './messages.js';

export interface ExactTail {
  /** Elements from here to the end travel uncompressed (a step's statistics, after its gradients). */
  from: number;
  /** Chunk size there, in elements: they may be wider than the compressed ones. */
  elementsPerChunk: number;
}

export class ChunkLayout {
  /** Total chunks; every shard has at least one, so an empty shard still synchronises its ranks. */
  readonly count: number;
  /** The most elements any chunk holds. */
  readonly maxChunkElements: number;
  private readonly offsets: Float64Array;
  private readonly sizes: Float64Array;
  private readonly shardOf: Int32Array;
  private readonly exactChunk: Uint8Array;
  /** Chunks of shard j are firstChunk[j] ..< firstChunk[j + 1]. */
  private readonly firstChunk: Int32Array;

  /**
   * Chunks of `elementsPerChunk` elements within each of `shards` shards; with `exact`, no chunk
   * straddles `exact.from`, and chunks from there on are exact and of `exact.elementsPerChunk`.
   */
  constructor(
    readonly length: number,
    readonly elementsPerChunk: number,
    readonly shards = 1,
    readonly exact?: ExactTail,
  ) {
    const split = exact === undefined ? length : Math.min(length, Math.max(0, exact.from));
    const exactPer = exact?.elementsPerChunk ?? elementsPerChunk;
    const offsets: number[] = [];
    const sizes: number[] = [];
    const shardOf: number[] = [];
    const exactFlags: number[] = [];
    this.firstChunk = new Int32Array(shards + 1);
    for (let shard = 0; shard < shards; shard++) {
      this.firstChunk[shard] = offsets.length;
      const start = this.shardStart(shard);
      const end = this.shardStart(shard + 1);
      const pieces: [number, number, number][] = [];
      if (start < split) pieces.push([start, Math.min(end, split), elementsPerChunk]);
      if (end > split) pieces.push([Math.max(start, split), end, exactPer]);
      if (pieces.length === 0) pieces.push([start, start, start >= split ? exactPer : elementsPerChunk]);
      for (const [from, to, per] of pieces) {
        let at = from;
        do {
          offsets.push(at);
          sizes.push(Math.min(per, to - at));
          shardOf.push(shard);
          exactFlags.push(from >= split ? 1 : 0);
          at += per;
        } while (at < to);
      }
    }
    this.firstChunk[shards] = offsets.length;
    this.count = offsets.length;
    this.offsets = Float64Array.from(offsets);
    this.sizes = Float64Array.from(sizes);
    this.shardOf = Int32Array.from(shardOf);
    this.exactChunk = Uint8Array.from(exactFlags);
    this.maxChunkElements = sizes.reduce((a, b) => Math.max(a, b), 0);
  }

  /** Whether `chunk` lies in the exact tail (it then travels uncompressed). */
  isExact(chunk: number): boolean {
    return this.exactChunk[chunk] === 1;
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
      `${this.length} elements in ${this.shards} shard${this.shards === 1 ? '' : 's'}` +
      `${this.exact ? `, exact from element ${this.exact.from}` : ''} (same length, maxChunkBytes, world size and buffer layout on every rank?)`
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
