// The frames this rank sent for its latest operations of one kind, so that a peer that lost some
// to an outage (a nats-server restart, a cluster node lost) can ask for them again. A rank is
// never more than one operation ahead of any peer (an operation needs every rank's part), so the
// current operation and the one before it are all a peer can still be missing.
import { HEADER_BYTES } from './messages.js';

/** `to` for a frame published once for every other rank (a fan-out subject). */
export const EVERY_PEER = -1;

interface Sent {
  to: number;
  chunk: number;
  frame: Uint8Array;
}

/** The chunk index in an encoded frame's header. */
function chunkOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).getUint32(16, true);
}

export class SentFrames {
  private readonly steps = new Map<number, Sent[]>();

  /** An operation starts: keeps the frames of the latest one before it, forgets older ones. */
  begin(step: number): void {
    const previous = [...this.steps.keys()].filter((s) => s < step).sort((a, b) => b - a)[0];
    for (const s of [...this.steps.keys()]) if (s !== previous) this.steps.delete(s);
    this.steps.set(step, []);
  }

  /** Remembers a frame sent for `step` to rank `to` (or EVERY_PEER). Frames are never changed after sending. */
  record(step: number, to: number, frame: Uint8Array): void {
    this.steps.get(step)?.push({ to, chunk: chunkOf(frame), frame });
  }

  /** The frames of `step` that `rank` should have received, among chunks `chunks`. */
  framesFor(step: number, rank: number, chunks: readonly number[]): Uint8Array[] {
    const wanted = new Set(chunks);
    return (this.steps.get(step) ?? []).filter((s) => (s.to === rank || s.to === EVERY_PEER) && wanted.has(s.chunk)).map((s) => s.frame);
  }

  clear(): void {
    this.steps.clear();
  }
}
