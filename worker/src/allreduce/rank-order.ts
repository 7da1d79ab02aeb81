// Adds every rank's contribution to each chunk exactly once and strictly in rank order, parking the
// ones that arrive before their turn, so float64 sums round identically wherever they are computed.
import type { MissingFromRank } from './errors.js';
import { detachFrame, type Frame } from './messages.js';

/** `null` stands for the summing rank's own contribution, which never travels. */
export type Contribution = Frame | null;

export class RankOrderSum {
  /** Per chunk: the rank whose contribution is added next. */
  private readonly nextRank: Int32Array;
  /** rank * count + chunk → 1 once that contribution arrived (duplicates are ignored). */
  private readonly arrived: Uint8Array;
  private readonly parked = new Map<number, Contribution>();

  /**
   * Chunks are numbered 0 ..< count here; `firstChunk` maps them to the layout's numbers (of
   * `layoutCount`) for reports. `add` accumulates one contribution; `complete` runs once a chunk has all.
   */
  constructor(
    private readonly worldSize: number,
    private readonly count: number,
    private readonly firstChunk: number,
    private readonly layoutCount: number,
    private readonly add: (rank: number, chunk: number, contribution: Contribution) => void,
    private readonly complete: (chunk: number) => void,
  ) {
    this.nextRank = new Int32Array(count);
    this.arrived = new Uint8Array(worldSize * count);
  }

  /** False for a duplicate, which changes nothing. */
  offer(rank: number, chunk: number, contribution: Contribution): boolean {
    const count = this.count;
    const index = rank * count + chunk;
    if (this.arrived[index] === 1) return false;
    this.arrived[index] = 1;
    if (rank !== this.nextRank[chunk]) {
      this.parked.set(index, contribution === null ? null : detachFrame(contribution));
      return true;
    }
    this.add(rank, chunk, contribution);
    let next = rank + 1;
    for (; next < this.worldSize && this.arrived[next * count + chunk] === 1; next++) {
      const parkedIndex = next * count + chunk;
      this.add(next, chunk, this.parked.get(parkedIndex)!);
      this.parked.delete(parkedIndex);
    }
    this.nextRank[chunk] = next;
    if (next === this.worldSize) this.complete(chunk);
    return true;
  }

  missing(): MissingFromRank[] {
    const missing: MissingFromRank[] = [];
    for (let rank = 0; rank < this.worldSize; rank++) {
      const chunks: number[] = [];
      for (let chunk = 0; chunk < this.count; chunk++) {
        if (this.arrived[rank * this.count + chunk] === 0) chunks.push(this.firstChunk + chunk);
      }
      if (chunks.length > 0) missing.push({ rank, chunks, chunkCount: this.layoutCount });
    }
    return missing;
  }
}
