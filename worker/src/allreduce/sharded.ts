// Sharded all-reduce: rank j owns shard j (1/worldSize of the buffer). Reduce-scatter: every rank sends
// each other shard straight to its owner's subject; the owner sums its shard. All-gather: the owner
// publishes each reduced chunk once on its fan-out subject and the server delivers it to everyone.
// Per rank S out (N − 1 shards to their owners, its own result once) and 2(N−1)/N × S in, over only two
// hops; through one server that is the least any algorithm can move (the server's egress is 2(N−1) × S,
// and its ingress N × S, less than the ring's 2(N−1) × S).
//
// Exactness: the owner adds all N contributions in float64 in rank order and rounds once, so results
// equal the local rank-order sum bit for bit, and every rank holds the owner's bits. Chunks flow
// independently: each is reduced and published as soon as its contributions are in.
//
// Flow: towards each owner a rank keeps a window of chunks whose result has not come back yet; each
// result that arrives lets the next chunk go. That bounds what waits in the server for any one rank.
//
// Chunks of the exact tail (ctx.exactFrom) travel as float32 whatever the compression.
import type { ChunkLayout } from './chunking.js';
import { addDecoded, addValues, Encoding, writeDecoded } from './codec.js';
import { AllReduceMismatchError, mergeMissing, type MissingFromRank } from './errors.js';
import { AlgorithmId, FrameKind, type Frame } from './messages.js';
import { RankOrderSum, type Contribution } from './rank-order.js';
import { chunkHeader, frameMismatch, type AllReduceAlgorithm, type AllReduceContext, type Round } from './round.js';
import { windowChunks } from './window.js';
import { encodeChunk, encodeResult, reductionLayout, wireEncoding } from './wire.js';

export const shardedAllReduce: AllReduceAlgorithm = {
  name: 'sharded',
  id: AlgorithmId.sharded,
  begin: (ctx, data) => new ShardedRound(ctx, data),
};

class ShardedRound implements Round {
  private readonly encoding: Encoding;
  private readonly layout: ChunkLayout;
  /** Float64 sums of our own shard, indexed from its start. */
  private readonly sums: Float64Array;
  private readonly shardStart: number;
  private readonly firstChunk: number;
  private readonly order: RankOrderSum;
  private readonly result: Float32Array;
  /** Per chunk of the layout: 1 once its final value is in `result`. */
  private readonly done: Uint8Array;
  private chunksLeft: number;
  /** What this rank contributes: the input, or the input plus the int8 residual. */
  private readonly values: Float32Array | Float64Array;
  private readonly window: number;
  /** Per owner: our chunks of its shard sent so far, and its results received so far. */
  private readonly sent: Int32Array;
  private readonly gathered: Int32Array;

  constructor(
    private readonly ctx: AllReduceContext,
    data: Float32Array,
  ) {
    const { rank, worldSize } = ctx;
    this.encoding = wireEncoding(ctx.compression);
    const layout = reductionLayout(ctx, this.encoding, Encoding.f32, worldSize);
    this.layout = layout;
    this.shardStart = layout.shardStart(rank);
    this.sums = ctx.scratch(layout.shardSize(rank));
    const own = layout.chunksOf(rank);
    this.firstChunk = own.first;
    this.result = new Float32Array(layout.length);
    this.done = new Uint8Array(layout.count);
    this.chunksLeft = layout.count;
    this.order = new RankOrderSum(
      worldSize,
      own.end - own.first,
      own.first,
      layout.count,
      (_rank, chunk, contribution) => this.add(chunk + own.first, contribution),
      (chunk) => this.reduced(chunk + own.first),
    );
    this.values = ctx.feedback?.prepare(data) ?? data;
    // Up to N − 1 contribution streams and N − 1 result streams end at each rank.
    this.window = windowChunks(ctx.maxChunkBytes, 2 * (worldSize - 1), ctx.inFlightBytes);
    this.sent = new Int32Array(worldSize);
    this.gathered = new Int32Array(worldSize);
    this.scatter();
    for (let chunk = own.first; chunk < own.end; chunk++) this.order.offer(rank, chunk - own.first, null);
  }

  receive(frame: Frame): void {
    const { layout, ctx } = this;
    let mismatch = frameMismatch(ctx, layout, frame, AlgorithmId.sharded, this.encodingOf(frame.chunkIndex));
    const shard = mismatch === undefined ? layout.shard(frame.chunkIndex) : -1;
    if (mismatch === undefined && frame.kind === FrameKind.reduce && shard !== ctx.rank) {
      mismatch = `rank ${frame.sender} sent rank ${ctx.rank} a contribution to shard ${shard}, which rank ${shard} owns`;
    } else if (mismatch === undefined && frame.kind === FrameKind.gather && shard !== frame.sender) {
      mismatch = `rank ${frame.sender} published a result for shard ${shard}, which rank ${shard} owns`;
    }
    if (mismatch !== undefined) {
      ctx.reject(new AllReduceMismatchError(ctx.operation, mismatch));
      return;
    }
    if (frame.kind === FrameKind.reduce) {
      this.order.offer(frame.sender, frame.chunkIndex - this.firstChunk, frame);
    } else if (this.done[frame.chunkIndex] === 0) {
      writeDecoded(frame.encoding, frame.payload, frame.scale, this.result, frame.elementOffset);
      this.gathered[frame.sender]!++;
      this.chunkDone(frame.chunkIndex);
      this.scatter();
    }
  }

  missing(): MissingFromRank[] {
    const { layout } = this;
    const gathers: MissingFromRank[] = [];
    for (let owner = 0; owner < this.ctx.worldSize; owner++) {
      if (owner === this.ctx.rank) continue;
      const chunks: number[] = [];
      const { first, end } = layout.chunksOf(owner);
      for (let chunk = first; chunk < end; chunk++) if (this.done[chunk] === 0) chunks.push(chunk);
      if (chunks.length > 0) gathers.push({ rank: owner, chunks, chunkCount: layout.count });
    }
    return mergeMissing(this.order.missing(), gathers);
  }

  private encodingOf(chunk: number): Encoding {
    return chunk < this.layout.count && this.layout.isExact(chunk) ? Encoding.f32 : this.encoding;
  }

  /** Reduce-scatter: what the windows allow of every other shard to its owner, round robin so all owners start at once. */
  private scatter(): void {
    const { ctx, layout, values } = this;
    const residual = ctx.feedback?.residual;
    for (let progress = true; progress; ) {
      progress = false;
      for (let hop = 1; hop < ctx.worldSize; hop++) {
        const owner = (ctx.rank + hop) % ctx.worldSize;
        const { first, end } = layout.chunksOf(owner);
        const chunk = first + this.sent[owner]!;
        if (chunk >= end || this.sent[owner]! - this.gathered[owner]! >= this.window) continue;
        this.sent[owner]!++;
        progress = true;
        const offset = layout.offset(chunk);
        const stop = offset + layout.size(chunk);
        const header = chunkHeader(ctx, {
          kind: FrameKind.reduce,
          algorithm: AlgorithmId.sharded,
          encoding: this.encodingOf(chunk),
          chunkIndex: chunk,
          chunkCount: layout.count,
          elementOffset: offset,
          elementCount: stop - offset,
        });
        ctx.sendTo(owner, encodeChunk(header, values.subarray(offset, stop), residual?.subarray(offset, stop)));
      }
    }
  }

  private add(chunk: number, contribution: Contribution): void {
    const at = this.layout.offset(chunk) - this.shardStart;
    if (contribution !== null) {
      addDecoded(contribution.encoding, contribution.payload, contribution.scale, this.sums, at);
      return;
    }
    // Our own part never travels, so it is added uncompressed.
    addValues(this.sums, at, this.values, this.layout.offset(chunk), this.layout.size(chunk));
  }

  /** All contributions to one of our chunks are in: round it, keep it, publish it. */
  private reduced(chunk: number): void {
    const { ctx, layout } = this;
    const offset = layout.offset(chunk);
    const size = layout.size(chunk);
    const header = chunkHeader(ctx, {
      kind: FrameKind.gather,
      algorithm: AlgorithmId.sharded,
      encoding: this.encodingOf(chunk),
      chunkIndex: chunk,
      chunkCount: layout.count,
      elementOffset: offset,
      elementCount: size,
    });
    const at = offset - this.shardStart;
    const frame = encodeResult(
      header,
      this.sums.subarray(at, at + size),
      this.result.subarray(offset, offset + size),
      ctx.feedback?.residual.subarray(offset, offset + size),
    );
    if (ctx.worldSize > 1) ctx.sendToAll(frame);
    this.chunkDone(chunk);
  }

  private chunkDone(chunk: number): void {
    this.done[chunk] = 1;
    if (--this.chunksLeft === 0) this.ctx.resolve(this.result);
  }
}
