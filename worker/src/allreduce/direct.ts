// Direct all-reduce: every rank publishes its whole buffer once (the server fans it out) and sums
// everyone's locally. One hop, so the lowest latency for small buffers; but each rank receives
// (worldSize − 1) × the buffer, so the server's egress grows with worldSize² for large ones.
//
// Determinism: each chunk is accumulated in float64 strictly in rank order, then rounded to float32
// once, so every rank computes bit-identical sums. Under compression every rank (the sender included)
// adds the decoded wire values. Chunks of the exact tail (ctx.exactFrom) travel as float32 whatever
// the compression.
//
// Flow: a rank publishes chunk k only once chunk k − window has arrived from every peer, so no rank
// runs far ahead of the slowest reader and nothing piles up for it in the server.
import type { ChunkLayout } from './chunking.js';
import { addDecoded, Encoding } from './codec.js';
import { AllReduceMismatchError, type MissingFromRank } from './errors.js';
import { AlgorithmId, decodeFrame, FrameKind, type Frame } from './messages.js';
import { RankOrderSum, type Contribution } from './rank-order.js';
import { chunkHeader, frameMismatch, type AllReduceAlgorithm, type AllReduceContext, type Round } from './round.js';
import { windowChunks } from './window.js';
import { encodeChunk, reductionLayout, wireEncoding } from './wire.js';

export const directAllReduce: AllReduceAlgorithm = {
  name: 'direct',
  id: AlgorithmId.direct,
  begin: (ctx, data) => new DirectRound(ctx, data),
};

class DirectRound implements Round {
  private readonly encoding: Encoding;
  private readonly layout: ChunkLayout;
  private readonly sums: Float64Array;
  private readonly order: RankOrderSum;
  private chunksLeft: number;
  private readonly values: Float32Array | Float64Array;
  private readonly window: number;
  /** Per chunk: how many peers' contributions arrived. */
  private readonly peersArrived: Int32Array;
  /** Chunks 0 ..< this arrived from every peer. */
  private allArrived = 0;
  /** Our next chunk to publish. */
  private nextToSend = 0;

  constructor(
    private readonly ctx: AllReduceContext,
    data: Float32Array,
  ) {
    this.encoding = wireEncoding(ctx.compression);
    const layout = reductionLayout(ctx, this.encoding, Encoding.f32);
    this.layout = layout;
    this.sums = ctx.scratch(layout.length);
    this.chunksLeft = layout.count;
    this.order = new RankOrderSum(
      ctx.worldSize,
      layout.count,
      0,
      layout.count,
      (_rank, chunk, contribution) => this.add(chunk, contribution!),
      () => this.chunkDone(),
    );
    this.values = ctx.feedback?.prepare(data) ?? data;
    // Each peer's stream to us, and ours to each peer, can hold up to a window of chunks.
    this.window = windowChunks(ctx.maxChunkBytes, 2 * (ctx.worldSize - 1), ctx.inFlightBytes);
    this.peersArrived = new Int32Array(layout.count);
    this.advance();
  }

  receive(frame: Frame): void {
    const mismatch =
      frame.kind === FrameKind.reduce
        ? frameMismatch(this.ctx, this.layout, frame, AlgorithmId.direct, this.encodingOf(frame.chunkIndex))
        : `rank ${frame.sender} sent a reduced result, which the direct all-reduce never sends`;
    if (mismatch !== undefined) {
      this.ctx.reject(new AllReduceMismatchError(this.ctx.operation, mismatch));
      return;
    }
    if (this.order.offer(frame.sender, frame.chunkIndex, frame) && ++this.peersArrived[frame.chunkIndex]! === this.ctx.worldSize - 1) {
      this.advance();
    }
  }

  missing(): MissingFromRank[] {
    return this.order.missing();
  }

  private encodingOf(chunk: number): Encoding {
    return chunk < this.layout.count && this.layout.isExact(chunk) ? Encoding.f32 : this.encoding;
  }

  /** Moves past chunks every peer has delivered, and publishes what the window now allows. */
  private advance(): void {
    const { ctx, layout } = this;
    while (this.allArrived < layout.count && this.peersArrived[this.allArrived] === ctx.worldSize - 1) this.allArrived++;
    while (this.nextToSend < layout.count && this.nextToSend < this.allArrived + this.window) {
      const chunk = this.nextToSend++;
      const offset = layout.offset(chunk);
      const end = offset + layout.size(chunk);
      const header = chunkHeader(ctx, {
        kind: FrameKind.reduce,
        algorithm: AlgorithmId.direct,
        encoding: this.encodingOf(chunk),
        chunkIndex: chunk,
        chunkCount: layout.count,
        elementOffset: offset,
        elementCount: end - offset,
      });
      const frame = encodeChunk(header, this.values.subarray(offset, end), ctx.feedback?.residual.subarray(offset, end));
      if (ctx.worldSize > 1) ctx.sendToAll(frame);
      // Our own frame, decoded like everyone else decodes it.
      this.order.offer(ctx.rank, chunk, decodeFrame(frame)!);
    }
  }

  private add(chunk: number, contribution: Exclude<Contribution, null>): void {
    addDecoded(contribution.encoding, contribution.payload, contribution.scale, this.sums, this.layout.offset(chunk));
  }

  private chunkDone(): void {
    // The only rounding to float32, identical on every rank.
    if (--this.chunksLeft === 0) this.ctx.resolve(new Float32Array(this.sums));
  }
}
