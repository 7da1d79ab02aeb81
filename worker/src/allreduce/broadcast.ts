// Broadcast: the root publishes its buffer in chunks on its fan-out subject; every other rank assembles it.
import { ChunkLayout, elementsPerChunk } from './chunking.js';
import { Encoding } from './codec.js';
import { AllReduceMismatchError, type MissingFromRank } from './errors.js';
import { AlgorithmId, encodeFrame, FrameKind, type Frame } from './messages.js';
import { chunkHeader, type Round, type RoundContext } from './round.js';

function layoutOf(ctx: RoundContext): ChunkLayout {
  return new ChunkLayout(ctx.length, elementsPerChunk(ctx.maxChunkBytes));
}

/** The root's side: publishes `data` and settles at once. */
export function sendBroadcast(ctx: RoundContext, data: Float32Array): Round {
  const layout = layoutOf(ctx);
  for (let chunk = 0; chunk < layout.count; chunk++) {
    const offset = layout.offset(chunk);
    const values = data.subarray(offset, offset + layout.size(chunk));
    const header = chunkHeader(ctx, {
      kind: FrameKind.broadcast,
      algorithm: AlgorithmId.none,
      encoding: Encoding.f32,
      chunkIndex: chunk,
      chunkCount: layout.count,
      elementOffset: offset,
      elementCount: values.length,
    });
    ctx.sendToAll(encodeFrame(header, values));
  }
  // A copy, so the root owns its result exactly like the receivers do.
  ctx.resolve(data.slice());
  return { receive: () => {}, missing: () => [] };
}

/** Every other rank's side: assembles the root's chunks. */
export function receiveBroadcast(ctx: RoundContext, root: number): Round {
  return new ReceiveRound(ctx, root);
}

class ReceiveRound implements Round {
  private readonly layout: ChunkLayout;
  private readonly result: Float32Array;
  private readonly arrived: Uint8Array;
  private chunksLeft: number;

  constructor(
    private readonly ctx: RoundContext,
    private readonly root: number,
  ) {
    this.layout = layoutOf(ctx);
    this.result = new Float32Array(ctx.length);
    this.arrived = new Uint8Array(this.layout.count);
    this.chunksLeft = this.layout.count;
  }

  receive(frame: Frame): void {
    const { layout } = this;
    if (frame.sender !== this.root) {
      const detail = `rank ${frame.sender} broadcast for a tag whose root is rank ${this.root} here`;
      this.ctx.reject(new AllReduceMismatchError(this.ctx.operation, detail));
      return;
    }
    if (frame.encoding !== Encoding.f32 || !layout.matches(frame)) {
      this.ctx.reject(new AllReduceMismatchError(this.ctx.operation, layout.mismatch(frame, this.ctx.rank)));
      return;
    }
    const chunk = frame.chunkIndex;
    if (this.arrived[chunk] === 1) return;
    this.arrived[chunk] = 1;
    new Uint8Array(this.result.buffer, frame.elementOffset * 4, frame.payload.length).set(frame.payload);
    if (--this.chunksLeft === 0) this.ctx.resolve(this.result);
  }

  missing(): MissingFromRank[] {
    const chunks: number[] = [];
    for (let chunk = 0; chunk < this.layout.count; chunk++) {
      if (this.arrived[chunk] === 0) chunks.push(chunk);
    }
    return [{ rank: this.root, chunks, chunkCount: this.layout.count }];
  }
}
