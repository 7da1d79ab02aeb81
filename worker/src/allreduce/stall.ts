// Notices an operation that has stopped making progress: frames lost to an outage, or a peer
// that is only slow. Either way the rank then asks its peers for what it misses (they send again
// what they hold, and ignore the rest), first after a second without progress, then less often.
const CHECK_MS = 250;
const FIRST_STALL_MS = 1_000;
const MAX_STALL_MS = 8_000;

export class StallWatcher {
  private last = performance.now();
  private wait = FIRST_STALL_MS;
  private readonly timer: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(private readonly onStall: () => void) {
    this.timer = setInterval(() => this.tick(), CHECK_MS);
  }

  /** Something for the operation arrived. */
  progress(): void {
    this.last = performance.now();
    this.wait = FIRST_STALL_MS;
  }

  /** The transport reconnected after an outage: whatever was in flight may be lost, ask at once. */
  nudge(): void {
    this.last = -Infinity;
    this.wait = FIRST_STALL_MS;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    if (performance.now() - this.last < this.wait) return;
    // After a long computation timers run before the sockets are read: let pending frames count first.
    setImmediate(() => {
      if (this.stopped || performance.now() - this.last < this.wait) return;
      this.last = performance.now();
      this.wait = Math.min(2 * this.wait, MAX_STALL_MS);
      this.onStall();
    });
  }
}
