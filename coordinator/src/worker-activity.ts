// When each connected worker was last heard from (any message on its Join stream counts as a
// heartbeat), for the dashboard's worker list.
export class WorkerActivity {
  private readonly lastSeen = new Map<string, number>();

  seen(workerId: string, at = Date.now()): void {
    this.lastSeen.set(workerId, at);
  }

  lastSeenMs(workerId: string): number | undefined {
    return this.lastSeen.get(workerId);
  }

  forget(workerId: string): void {
    this.lastSeen.delete(workerId);
  }
}
