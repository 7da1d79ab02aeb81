// Broadcast: the root publishes its buffer in chunks on its fan-out subject; every other rank
// assembles it. Flow control: the root keeps at most a window of chunks ahead of the slowest
// receiver, which acknowledges what it holds every half window, so nothing piles up in the server
// for a slow reader (a large model's initial weights would otherwise get it dropped as a slow
// consumer). A receiver's request to send chunks again (after an outage) also tells the root
// what it holds, so a lost acknowledgement never stalls the root.
import { ChunkLayout, elementsPerChunk } from './chunking.js';
import { Encoding } from './codec.js';
import { AllReduceMismatchError, type MissingFromRank } from './errors.js';
import { AlgorithmId, allocateFrame, controlHeader, encodeFrame, FrameKind, type Frame } from './messages.js';
import { chunkHeader, type Round, type RoundContext } from './round.js';
import { windowChunks } from './window.js';

function layoutOf(ctx: RoundContext): ChunkLayout {
  return new ChunkLayout(ctx.length, elementsPerChunk(ctx.maxChunkBytes));
}

/** Chunks the root may send beyond what every receiver acknowledged (one stream ends at each). */
function windowOf(ctx: RoundContext): number {
  return windowChunks(ctx.maxChunkBytes, 1, ctx.inFlightBytes);
}

/** The root's side: publishes `data` as the receivers' acknowledgements allow; settles once all is sent. */
export function sendBroadcast(ctx: RoundContext, data: Float32Array): Round {
  return new SendRound(ctx, data);
}

class SendRound implements Round {
  private readonly layout: ChunkLayout;
  private readonly window: number;
  /** Per rank: chunks it acknowledged (the root's own entry counts as all). */
  private readonly acked: Int32Array;
  private next = 0;

  constructor(
    private readonly ctx: RoundContext,
    private readonly data: Float32Array,
  ) {
    this.layout = layoutOf(ctx);
    this.window = windowOf(ctx);
    this.acked = new Int32Array(ctx.worldSize);
    this.acked[ctx.rank] = this.layout.count;
    this.send();
  }

  receive(): void {
    // Nothing but acknowledgements comes to the root.
  }

  acknowledged(rank: number, received: number): void {
    if (rank < 0 || rank >= this.ctx.worldSize || received <= this.acked[rank]!) return;
    this.acked[rank] = received;
    this.send();
  }

  missing(): MissingFromRank[] {
    return [];
  }

  private send(): void {
    const { ctx, layout } = this;
    const limit = Math.min(...this.acked) + this.window;
    while (this.next < layout.count && this.next < limit) {
      const chunk = this.next++;
      const offset = layout.offset(chunk);
      const values = this.data.subarray(offset, offset + layout.size(chunk));
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
    if (this.next === layout.count) ctx.resolve(this.data.slice());
  }
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
  /** Chunks 0 ..< this arrived; acknowledged up to `acked`, every `ackEvery`. */
  private held = 0;
  private acked = 0;
  private readonly ackEvery: number;

  constructor(
    private readonly ctx: RoundContext,
    private readonly root: number,
  ) {
    this.layout = layoutOf(ctx);
    this.result = new Float32Array(ctx.length);
    this.arrived = new Uint8Array(this.layout.count);
    this.chunksLeft = this.layout.count;
    this.ackEvery = Math.max(1, Math.floor(windowOf(ctx) / 2));
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
    while (this.held < layout.count && this.arrived[this.held] === 1) this.held++;
    if (this.held >= this.acked + this.ackEvery && this.held < layout.count) this.acknowledge();
    if (--this.chunksLeft === 0) this.ctx.resolve(this.result);
  }

  missing(): MissingFromRank[] {
    const chunks: number[] = [];
    for (let chunk = 0; chunk < this.layout.count; chunk++) {
      if (this.arrived[chunk] === 0) chunks.push(chunk);
    }
    return [{ rank: this.root, chunks, chunkCount: this.layout.count }];
  }

  private acknowledge(): void {
    this.acked = this.held;
    const frame = allocateFrame({ ...controlHeader(FrameKind.ack, this.ctx.generation, this.ctx.step, this.ctx.rank), chunkIndex: this.held });
    this.ctx.sendControl(this.root, frame);
  }
}
