// Ring all-reduce: reduce-scatter then all-gather around the ring rank → rank + 1, each message to the
// next rank's own subject. Shard g's partial sum starts at rank g + 1 and travels the ring, each rank
// adding its part, until its owner g completes it; the result then travels on around the ring to every
// other rank. Every chunk moves on as soon as it arrives, so all chunks of all shards are in flight at
// once (no lock-step). Per rank 2(N−1)/N × S bytes, but 2(N−1) hops, and partial sums travel as float64.
//
// Exactness: partial sums travel as float64 (not float32), so the only rounding to float32 is the
// owner's, once, and every rank holds the owner's bits. The order of the float64 additions is the
// ring's, not rank order: shard g is summed as 0 + x[g+1] + x[g+2] + … + x[g] (ranks mod N). That equals
// the rank-order sum bit for bit unless a float64 addition rounds, i.e. unless one element's values span
// more than about 2^29 in magnitude; in general |ring − rank order| ≤ 2(N−1)·2^-53·Σ|x| before the
// final rounding to float32. (With compression, partials travel compressed and are re-encoded at each
// hop: fp16 rounds N times, int8 quantizes N times and feeds each rank's loss back into its next step.
// Chunks of the exact tail, ctx.exactFrom, travel uncompressed: float32 inputs, float64 partials.)
//
// Flow: a rank starts the sum of a new chunk only while fewer than a window of the chunks it started
// have come back to it as results (it is the first rank a result reaches), which bounds what waits in
// the server for any rank; everything else is forwarded as it arrives.
import type { ChunkLayout } from './chunking.js';
import { addDecoded, addValues, bytesPerElement, Encoding, writeDecoded } from './codec.js';
import { AllReduceMismatchError, type MissingFromRank } from './errors.js';
import { AlgorithmId, allocateFrame, FrameKind, framePayload, type Frame } from './messages.js';
import { chunkHeader, frameMismatch, type AllReduceAlgorithm, type AllReduceContext, type Round } from './round.js';
import { windowChunks } from './window.js';
import { encodeChunk, encodeResult, reductionLayout, wireEncoding } from './wire.js';

export const ringAllReduce: AllReduceAlgorithm = {
  name: 'ring',
  id: AlgorithmId.ring,
  begin: (ctx, data) => new RingRound(ctx, data),
};

class RingRound implements Round {
  /** Results, and the first hop of a partial sum (a plain input); */
  private readonly encoding: Encoding;
  /** partial sums after the first hop: float64 when uncompressed. */
  private readonly partialEncoding: Encoding;
  private readonly layout: ChunkLayout;
  private readonly next: number;
  private readonly previous: number;
  private readonly result: Float32Array;
  /** Per chunk: 1 once the partial sum from the previous rank arrived. */
  private readonly partialArrived: Uint8Array;
  /** Per chunk: 1 once its final value is in `result`. */
  private readonly done: Uint8Array;
  private chunksLeft: number;
  /** One chunk's partial sum at a time: each is encoded into its frame before the next arrives. */
  private readonly partial: Float64Array;
  /** What this rank contributes: the input, or the input plus the int8 residual. */
  private readonly values: Float32Array | Float64Array;
  private readonly window: number;
  /** Chunks of the shard this rank starts: started so far, and come back as results. */
  private started = 0;
  private returned = 0;

  constructor(
    private readonly ctx: AllReduceContext,
    data: Float32Array,
  ) {
    const { rank, worldSize } = ctx;
    this.encoding = wireEncoding(ctx.compression);
    this.partialEncoding = this.encoding === Encoding.f32 ? Encoding.f64 : this.encoding;
    const widest = bytesPerElement(this.encoding) >= bytesPerElement(this.partialEncoding) ? this.encoding : this.partialEncoding;
    this.layout = reductionLayout(ctx, widest, Encoding.f64, worldSize);
    this.next = (rank + 1) % worldSize;
    this.previous = (rank + worldSize - 1) % worldSize;
    this.result = new Float32Array(ctx.length);
    this.partialArrived = new Uint8Array(this.layout.count);
    this.done = new Uint8Array(this.layout.count);
    this.chunksLeft = this.layout.count;
    this.partial = ctx.scratch(this.layout.maxChunkElements);
    this.values = ctx.feedback?.prepare(data) ?? data;
    // Every shard's path passes each rank twice (partial sum, result): 2N streams end at each rank.
    this.window = windowChunks(ctx.maxChunkBytes, 2 * worldSize, ctx.inFlightBytes);
    if (worldSize === 1) {
      const { first, end } = this.layout.chunksOf(0);
      for (let chunk = first; chunk < end; chunk++) this.complete(chunk, this.withOwn(chunk, this.emptyPartial(chunk)));
    } else {
      this.startPartials();
    }
  }

  receive(frame: Frame): void {
    const { ctx, layout } = this;
    const shard = layout.matches(frame) ? layout.shard(frame.chunkIndex) : -1;
    const position = this.position(shard);
    const exact = frame.chunkIndex < layout.count && layout.isExact(frame.chunkIndex);
    const expected = frame.kind === FrameKind.gather || position === 1 ? this.inputEncoding(exact) : this.partialEncodingOf(exact);
    let mismatch = frameMismatch(ctx, layout, frame, AlgorithmId.ring, expected);
    if (mismatch === undefined && frame.sender !== this.previous) {
      mismatch = `rank ${frame.sender} sent to rank ${ctx.rank}, whose ring neighbour is rank ${this.previous}`;
    } else if (mismatch === undefined && frame.kind === FrameKind.reduce && position === 0) {
      mismatch = `rank ${frame.sender} sent a partial sum of shard ${shard}, whose sum starts at rank ${ctx.rank}`;
    } else if (mismatch === undefined && frame.kind === FrameKind.gather && shard === ctx.rank) {
      mismatch = `rank ${frame.sender} sent a result for shard ${shard}, which rank ${ctx.rank} owns`;
    }
    if (mismatch !== undefined) {
      ctx.reject(new AllReduceMismatchError(ctx.operation, mismatch));
      return;
    }
    const chunk = frame.chunkIndex;
    if (frame.kind === FrameKind.reduce) {
      if (this.partialArrived[chunk] === 1) return;
      this.partialArrived[chunk] = 1;
      // 0 + partial first, as a local sum starts from +0 (so -0 inputs round the same way).
      const sums = this.emptyPartial(chunk);
      addDecoded(frame.encoding, frame.payload, frame.scale, sums, 0);
      this.withOwn(chunk, sums);
      if (position === ctx.worldSize - 1) this.complete(chunk, sums);
      else this.send(FrameKind.reduce, this.partialEncodingOf(this.layout.isExact(chunk)), chunk, sums);
      return;
    }
    if (this.done[chunk] === 1) return;
    writeDecoded(frame.encoding, frame.payload, frame.scale, this.result, frame.elementOffset);
    if (this.next !== shard) {
      // Pass the owner's encoded result on unchanged: re-encoding could change int8 scales.
      const forward = allocateFrame({ ...frame, sender: ctx.rank });
      framePayload(forward).set(frame.payload);
      ctx.sendTo(this.next, forward);
    }
    this.chunkDone(chunk);
    if (shard === this.previous) {
      this.returned++;
      this.startPartials();
    }
  }

  missing(): MissingFromRank[] {
    const chunks: number[] = [];
    for (let chunk = 0; chunk < this.layout.count; chunk++) {
      const awaitsPartial = this.position(this.layout.shard(chunk)) > 0 && this.partialArrived[chunk] === 0;
      if (awaitsPartial || this.done[chunk] === 0) chunks.push(chunk);
    }
    return chunks.length === 0 ? [] : [{ rank: this.previous, chunks, chunkCount: this.layout.count }];
  }

  /** Inputs and results: the job's encoding, float32 in the exact tail. */
  private inputEncoding(exact: boolean): Encoding {
    return exact ? Encoding.f32 : this.encoding;
  }

  /** Partial sums after the first hop: float64 when uncompressed. */
  private partialEncodingOf(exact: boolean): Encoding {
    return exact ? Encoding.f64 : this.partialEncoding;
  }

  /** Where this rank is on shard `shard`'s path: 0 starts its sum, worldSize − 1 owns it. */
  private position(shard: number): number {
    const n = this.ctx.worldSize;
    return (((this.ctx.rank - shard - 1) % n) + n) % n;
  }

  /**
   * This rank starts the sums of the shard before its own: its contribution, as it is, to the next rank,
   * as far as the window allows.
   */
  private startPartials(): void {
    const { layout, values, ctx } = this;
    const { first, end: last } = layout.chunksOf(this.previous);
    while (first + this.started < last && this.started - this.returned < this.window) {
      const chunk = first + this.started++;
      const offset = layout.offset(chunk);
      const end = offset + layout.size(chunk);
      const header = this.header(FrameKind.reduce, this.inputEncoding(layout.isExact(chunk)), chunk);
      ctx.sendTo(this.next, encodeChunk(header, values.subarray(offset, end), ctx.feedback?.residual.subarray(offset, end)));
    }
  }

  private emptyPartial(chunk: number): Float64Array {
    return this.partial.subarray(0, this.layout.size(chunk)).fill(0);
  }

  private withOwn(chunk: number, sums: Float64Array): Float64Array {
    addValues(sums, 0, this.values, this.layout.offset(chunk), sums.length);
    return sums;
  }

  private send(kind: FrameKind, encoding: Encoding, chunk: number, sums: Float64Array): void {
    const offset = this.layout.offset(chunk);
    const residual = this.ctx.feedback?.residual.subarray(offset, offset + sums.length);
    this.ctx.sendTo(this.next, encodeChunk(this.header(kind, encoding, chunk), sums, residual));
  }

  /** We own the chunk and its sum is complete: round it, keep it, send it around. */
  private complete(chunk: number, sums: Float64Array): void {
    const { ctx, layout } = this;
    const offset = layout.offset(chunk);
    const frame = encodeResult(
      this.header(FrameKind.gather, this.inputEncoding(layout.isExact(chunk)), chunk),
      sums,
      this.result.subarray(offset, offset + sums.length),
      ctx.feedback?.residual.subarray(offset, offset + sums.length),
    );
    if (ctx.worldSize > 1) ctx.sendTo(this.next, frame);
    this.chunkDone(chunk);
  }

  private header(kind: FrameKind, encoding: Encoding, chunk: number) {
    const { layout } = this;
    return chunkHeader(this.ctx, {
      kind,
      algorithm: AlgorithmId.ring,
      encoding,
      chunkIndex: chunk,
      chunkCount: layout.count,
      elementOffset: layout.offset(chunk),
      elementCount: layout.size(chunk),
    });
  }

  private chunkDone(chunk: number): void {
    this.done[chunk] = 1;
    if (--this.chunksLeft === 0) this.ctx.resolve(this.result);
  }
}
