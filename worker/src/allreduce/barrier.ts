// Start barrier. Core NATS has no replay, so a rank may publish data only once every peer is subscribed.
// A rank says hello after subscribing, so hearing its hello proves it is subscribed. Hellos that ask for
// a reply get one (the Collective sends it, also after this barrier is done, for late joiners), and a
// waiting rank repeats its hello with backoff, so any start order and lost messages still converge.
import type { MissingFromRank } from './errors.js';

const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 1_000;

export class StartBarrier {
  private readonly heard: Uint8Array;
  private heardCount = 1; // ourselves
  private retryMs = FIRST_RETRY_MS;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly rank: number,
    private readonly worldSize: number,
    /** Publishes this rank's hello; `wantsReply` while it still waits for peers. */
    private readonly sendHello: (wantsReply: boolean) => void,
    private readonly onComplete: () => void,
  ) {
    this.heard = new Uint8Array(worldSize);
    this.heard[rank] = 1;
  }

  get complete(): boolean {
    return this.heardCount === this.worldSize;
  }

  /** Call once subscribed. Peers heard from meanwhile already count. */
  begin(): void {
    if (this.stopped) return;
    this.sendHello(!this.complete);
    if (this.complete) this.finish();
    else this.scheduleRetry();
  }

  /** A hello (or reply) from `sender` arrived. */
  heardFrom(sender: number): void {
    if (this.stopped || this.heard[sender] === 1) return;
    this.heard[sender] = 1;
    this.heardCount++;
    if (this.complete) this.finish();
  }

  missing(): MissingFromRank[] {
    const missing: MissingFromRank[] = [];
    for (let rank = 0; rank < this.worldSize; rank++) {
      if (this.heard[rank] === 0) missing.push({ rank, chunks: [], chunkCount: 0 });
    }
    return missing;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private finish(): void {
    this.stop();
    this.onComplete();
  }

  private scheduleRetry(): void {
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.sendHello(true);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      this.scheduleRetry();
    }, this.retryMs);
  }
}
