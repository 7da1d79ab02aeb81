// The workers connected to this coordinator, each with the way to reach it and what it runs.
import type { JoinResponse, WorkerHello } from '@syncline/proto';

export interface ConnectedWorker {
  id: string;
  hello: WorkerHello;
  joinedAt: number;
  /** The job this worker trains, if any. */
  jobId?: string;
  /** Compute speed measured in its last job (samples per second). */
  samplesPerSecond?: number;
  send(message: JoinResponse): void;
}

export class WorkerPool {
  private readonly workers = new Map<string, ConnectedWorker>();

  add(worker: ConnectedWorker): void {
    this.workers.set(worker.id, worker);
  }

  remove(id: string): ConnectedWorker | undefined {
    const w = this.workers.get(id);
    this.workers.delete(id);
    return w;
  }

  get(id: string): ConnectedWorker | undefined {
    return this.workers.get(id);
  }

  has(id: string): boolean {
    return this.workers.has(id);
  }

  /** Idle workers, longest-connected first. */
  idle(): ConnectedWorker[] {
    return [...this.workers.values()].filter((w) => w.jobId === undefined).sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id));
  }

  all(): ConnectedWorker[] {
    return [...this.workers.values()];
  }
}
