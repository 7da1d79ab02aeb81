// Hands frames of one kind to the round for their step (or tag). A peer may run a step ahead of us,
// so frames for steps we have not started yet are parked; frames for finished steps are dropped.
// Parking is bounded (two future steps, a byte budget): a frame beyond it is dropped, and asked
// for again if it turns out to be needed (collective.ts).
import { detachFrame, type Frame } from './messages.js';
import type { Round } from './round.js';

/** A peer is at most one operation ahead; two future steps leave room. */
const MAX_PARKED_STEPS = 2;

export class RoundRouter {
  /** Steps below this are finished (or were skipped) on this rank. */
  private floor = 0;
  private active: { step: number; round: Round } | undefined;
  private readonly early = new Map<number, Frame[]>();
  private parkedBytes = 0;

  constructor(private readonly maxParkedBytes = Infinity) {}

  /** Why `step` cannot start now, or undefined if it can. */
  refuse(step: number): Error | undefined {
    if (this.active !== undefined) return new Error(`step ${this.active.step} is still in progress; steps run one at a time`);
    if (step < this.floor) return new RangeError(`step ${step} already ran; steps must increase (next is ≥ ${this.floor})`);
    return undefined;
  }

  deliver(frame: Frame): void {
    if (frame.step < this.floor) return;
    if (this.active?.step === frame.step) {
      this.active.round.receive(frame);
      return;
    }
    const parked = this.early.get(frame.step);
    if (parked === undefined && this.early.size >= MAX_PARKED_STEPS) return;
    if (this.parkedBytes + frame.payload.length > this.maxParkedBytes) return;
    this.parkedBytes += frame.payload.length;
    // Parked frames outlive the transport's buffer: keep copies.
    if (parked === undefined) this.early.set(frame.step, [detachFrame(frame)]);
    else parked.push(detachFrame(frame));
  }

  /** Passes an acknowledgement to the round of `step`, if it runs now (one of a finished step is moot). */
  acknowledge(step: number, rank: number, received: number): void {
    if (this.active?.step === step) this.active.round.acknowledged?.(rank, received);
  }

  /** Makes `round` receive frames for `step`, starting with those that arrived before it. */
  open(step: number, round: Round): void {
    this.floor = step;
    this.dropBelow(step);
    this.active = { step, round };
    const parked = this.early.get(step);
    this.unpark(step);
    for (const frame of parked ?? []) {
      if (this.active?.round !== round) break; // settled while replaying
      round.receive(frame);
    }
  }

  finish(step: number): void {
    if (this.active?.step === step) this.active = undefined;
    this.floor = Math.max(this.floor, step + 1);
    this.dropBelow(this.floor);
  }

  clear(): void {
    this.active = undefined;
    this.early.clear();
    this.parkedBytes = 0;
  }

  private dropBelow(step: number): void {
    for (const parkedStep of [...this.early.keys()]) {
      if (parkedStep < step) this.unpark(parkedStep);
    }
  }

  private unpark(step: number): void {
    for (const frame of this.early.get(step) ?? []) this.parkedBytes -= frame.payload.length;
    this.early.delete(step);
  }
}
