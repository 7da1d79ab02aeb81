// An opt-in per-step timeline in Chrome's trace-event format (chrome://tracing, Perfetto):
// one track per worker, a span for each part of a step, like Horovod's timeline.

export interface TraceEvent {
  name: string;
  ph: 'X' | 'M';
  /** Microseconds since the Unix epoch, so the tracks of several processes line up. */
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

/** Spans kept per worker; a long job keeps its last ones. */
const MAX_SPANS = 20_000;

export class Timeline {
  private readonly events: TraceEvent[] = [];

  constructor(
    private readonly rank: number,
    private readonly label: string,
  ) {}

  /** Wall-clock milliseconds with sub-millisecond precision. */
  static now(): number {
    return performance.timeOrigin + performance.now();
  }

  span(name: string, startMs: number, endMs: number, step: number): void {
    if (this.events.length >= MAX_SPANS) this.events.shift();
    this.events.push({ name, ph: 'X', ts: Math.round(startMs * 1000), dur: Math.max(0, Math.round((endMs - startMs) * 1000)), pid: this.rank, tid: 0, args: { step } });
  }

  /** This worker's events, with the track's name. */
  toEvents(): TraceEvent[] {
    return [{ name: 'process_name', ph: 'M', ts: 0, pid: this.rank, tid: 0, args: { name: `rank ${this.rank} (${this.label})` } }, ...this.events];
  }
}
