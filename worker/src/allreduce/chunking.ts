// How a buffer is cut into messages. Every rank derives the same layout from (length, elementsPerChunk),
// which is what lets receivers check a chunk's offset and size instead of trusting them.
import { encodeFrame, HEADER_BYTES, type FrameHeader, type FrameKind } from './messages.js';
import type { RoundContext } from './round.js';

export class ChunkLayout {
  /** Always at least 1: an empty buffer still sends one empty chunk, so the operation synchronises ranks. */
  readonly count: number;

  constructor(
    readonly length: number,
    readonly elementsPerChunk: number,
  ) {
    this.count = Math.max(1, Math.ceil(length / elementsPerChunk));
  }

  offset(chunk: number): number {
    return chunk * this.elementsPerChunk;
  }

  size(chunk: number): number {
    return Math.min(this.elementsPerChunk, this.length - this.offset(chunk));
  }

  /** Whether a peer cut its buffer the same way, i.e. has the same length and chunk size. */
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
      `${this.length} elements (same length and maxChunkBytes on every rank?)`
    );
  }
}

/** Float32 elements that fit one message of at most `maxChunkBytes` bytes, header included. */
export function elementsPerChunk(maxChunkBytes: number): number {
  const elements = Math.floor((maxChunkBytes - HEADER_BYTES) / Float32Array.BYTES_PER_ELEMENT);
  if (!Number.isFinite(elements) || elements < 1) {
    throw new RangeError(`maxChunkBytes ${maxChunkBytes} leaves no room for data after the ${HEADER_BYTES}-byte header`);
  }
  return elements;
}

/** Publishes `data` (of `ctx.layout.length` elements) as this rank's chunks for `ctx.step`. */
export function sendChunks(ctx: RoundContext, kind: FrameKind, data: Float32Array): void {
  const { layout } = ctx;
  for (let chunk = 0; chunk < layout.count; chunk++) {
    const offset = layout.offset(chunk);
    const values = data.subarray(offset, offset + layout.size(chunk));
    const header: FrameHeader = {
      kind,
      wantsReply: false,
      generation: ctx.generation,
      step: ctx.step,
      sender: ctx.rank,
      chunkIndex: chunk,
      chunkCount: layout.count,
      totalLength: layout.length,
      elementOffset: offset,
      elementCount: values.length,
    };
    ctx.send(encodeFrame(header, values));
  }
}
