// Broadcast: the root publishes its buffer in chunks; every other rank assembles it.
import { sendChunks } from './chunking.js';
import { AllReduceMismatchError, type MissingFromRank } from './errors.js';
import { FrameKind, type Frame } from './messages.js';
import type { Round, RoundContext } from './round.js';

/** The root's side: publishes `data` and settles at once. */
export function sendBroadcast(ctx: RoundContext, data: Float32Array): Round {
  sendChunks(ctx, FrameKind.broadcast, data);
  // A copy, so the root owns its result exactly like the receivers do.
  ctx.resolve(data.slice());
  return { receive: () => {}, missing: () => [] };
}

/** Every other rank's side: assembles the root's chunks. */
export function receiveBroadcast(ctx: RoundContext, root: number): Round {
  return new ReceiveRound(ctx, root);
}

class ReceiveRound implements Round {
  private readonly result: Float32Array;
  private readonly arrived: Uint8Array;
  private chunksLeft: number;

  constructor(
    private readonly ctx: RoundContext,
    private readonly root: number,
  ) {
    this.result = new Float32Array(ctx.layout.length);
    this.arrived = new Uint8Array(ctx.layout.count);
    this.chunksLeft = ctx.layout.count;
  }

  receive(frame: Frame): void {
    const { layout } = this.ctx;
    if (frame.sender !== this.root) {
      const detail = `rank ${frame.sender} broadcast for a tag whose root is rank ${this.root} here`;
      this.ctx.reject(new AllReduceMismatchError(this.ctx.operation, detail));
      return;
    }
    if (!layout.matches(frame)) {
      this.ctx.reject(new AllReduceMismatchError(this.ctx.operation, layout.mismatch(frame, this.ctx.rank)));
      return;
    }
    const chunk = frame.chunkIndex;
    if (this.arrived[chunk] === 1) return;
    this.arrived[chunk] = 1;
    this.result.set(frame.payload, frame.elementOffset);
    if (--this.chunksLeft === 0) this.ctx.resolve(this.result);
  }

  missing(): MissingFromRank[] {
    const chunks: number[] = [];
    for (let chunk = 0; chunk < this.ctx.layout.count; chunk++) {
      if (this.arrived[chunk] === 0) chunks.push(chunk);
    }
    return [{ rank: this.root, chunks, chunkCount: this.ctx.layout.count }];
  }
}
