// Per-rank timelines of jobs that asked for one, kept in the object store and merged on read.
import { BUCKETS, jobBucket, objectNames } from '@syncline/proto';
import type { NatsConnection, ObjectStore } from 'nats';
import { JobNotFoundError } from '../errors.js';


export class TimelineStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly store: ObjectStore,
  ) {}

  static async open(nc: NatsConnection): Promise<TimelineStore> {
    return new TimelineStore(nc, await nc.jetstream().views.os(BUCKETS.objects));
  }

  async put(jobId: string, generation: number, rank: number, eventsJson: Uint8Array): Promise<void> {
    await this.store.putBlob({ name: `${objectNames.timelinePrefix(jobId)}g${generation}-rank${rank}.json` }, eventsJson);
  }

  /**
   * Every object the job left: its timelines here, and in the job's own store (checkpoint,
   * generation states) all but `keep` (published model files); a job store left empty goes.
   */
  async deleteJobObjects(jobId: string, keep: (name: string) => boolean): Promise<void> {
    for (const o of await this.store.list()) {
      if (o.name.startsWith(objectNames.timelinePrefix(jobId))) await this.store.delete(o.name);
    }
    const jobStore = await this.nc.jetstream().views.os(jobBucket(jobId));
    let kept = 0;
    for (const o of await jobStore.list()) {
      if (keep(o.name)) kept++;
      else await jobStore.delete(o.name);
    }
    if (kept === 0) await jobStore.destroy().catch(() => undefined);
  }

  /** `{"traceEvents": [...]}` with every rank's events; NOT_FOUND when the job recorded none. */
  async merged(jobId: string): Promise<Uint8Array> {
    const names = (await this.store.list()).map((o) => o.name).filter((n) => n.startsWith(objectNames.timelinePrefix(jobId))).sort();
    if (names.length === 0) throw new JobNotFoundError(`${jobId} (no timeline: submit with training.timeline)`);
    const events: unknown[] = [];
    for (const name of names) {
      const bytes = await this.store.getBlob(name);
      if (bytes) events.push(...(JSON.parse(new TextDecoder().decode(bytes)) as unknown[]));
    }
    return new TextEncoder().encode(JSON.stringify({ traceEvents: events, displayTimeUnit: 'ms' }));
  }
}
