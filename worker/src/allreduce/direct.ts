// Direct all-reduce: every rank publishes its whole buffer and sums everyone's locally.
// Traffic per rank grows with worldSize × length, fine for small worlds; a ring can replace it later.
//
// Determinism: each chunk is accumulated in float64 strictly in rank order (chunks arriving early
// are parked), then rounded to float32 once, so every rank computes bit-identical sums.
import { sendChunks } from './chunking.js';
import { AllReduceMismatchError, type MissingFromRank } from './errors.js';
import { FrameKind, type Frame } from './messages.js';
import type { AllReduceAlgorithm, Round, RoundContext } from './round.js';

export const directAllReduce: AllReduceAlgorithm = (ctx, data) => new DirectRound(ctx, data);

class DirectRound implements Round {
  private readonly sums: Float64Array;
  /** Per chunk: the rank whose contribution is added next. */
  private readonly nextRank: Int32Array;
  /** rank * chunkCount + chunk → 1 once that contribution arrived (duplicates are ignored). */
  private readonly arrived: Uint8Array;
  /** Contributions that arrived before their turn in rank order, by the same index. */
  private readonly parked = new Map<number, Float32Array>();
  private chunksLeft: number;

  constructor(
    private readonly ctx: RoundContext,
    data: Float32Array,
  ) {
    const { layout, worldSize } = ctx;
    this.sums = new Float64Array(layout.length);
    this.nextRank = new Int32Array(layout.count);
    this.arrived = new Uint8Array(worldSize * layout.count);
    this.chunksLeft = layout.count;
    sendChunks(ctx, FrameKind.data, data);
    for (let chunk = 0; chunk < layout.count; chunk++) {
      const offset = layout.offset(chunk);
      this.accept(ctx.rank, chunk, data.subarray(offset, offset + layout.size(chunk)));
    }
  }

  receive(frame: Frame): void {
    const { layout } = this.ctx;
    if (!layout.matches(frame)) {
      this.ctx.reject(new AllReduceMismatchError(this.ctx.operation, layout.mismatch(frame, this.ctx.rank)));
      return;
    }
    this.accept(frame.sender, frame.chunkIndex, frame.payload);
  }

  missing(): MissingFromRank[] {
    const { layout, worldSize } = this.ctx;
    const missing: MissingFromRank[] = [];
    for (let rank = 0; rank < worldSize; rank++) {
      const chunks: number[] = [];
      for (let chunk = 0; chunk < layout.count; chunk++) {
        if (this.arrived[rank * layout.count + chunk] === 0) chunks.push(chunk);
      }
      if (chunks.length > 0) missing.push({ rank, chunks, chunkCount: layout.count });
    }
    return missing;
  }

  private accept(rank: number, chunk: number, values: Float32Array): void {
    const count = this.ctx.layout.count;
    const index = rank * count + chunk;
    if (this.arrived[index] === 1) return;
    this.arrived[index] = 1;
    if (rank !== this.nextRank[chunk]) {
      this.parked.set(index, values);
      return;
    }
    const offset = this.ctx.layout.offset(chunk);
    this.add(values, offset);
    let next = rank + 1;
    for (; next < this.ctx.worldSize && this.arrived[next * count + chunk] === 1; next++) {
      const parkedIndex = next * count + chunk;
      this.add(this.parked.get(parkedIndex)!, offset);
      this.parked.delete(parkedIndex);
    }
    this.nextRank[chunk] = next;
    if (next === this.ctx.worldSize && --this.chunksLeft === 0) {
      // The only rounding to float32, identical on every rank.
      this.ctx.resolve(new Float32Array(this.sums));
    }
  }

  private add(values: Float32Array, offset: number): void {
    const sums = this.sums;
    for (let i = 0; i < values.length; i++) sums[offset + i]! += values[i]!;
  }
}
