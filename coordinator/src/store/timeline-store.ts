// Per-rank timelines of jobs that asked for one, kept in the object store and merged on read.
import { BUCKETS, objectNames } from '@syncline/proto';
import type { NatsConnection, ObjectStore } from 'nats';
import { JobNotFoundError } from '../errors.js';


export class TimelineStore {
  private constructor(private readonly store: ObjectStore) {}

  static async open(nc: NatsConnection): Promise<TimelineStore> {
    return new TimelineStore(await nc.jetstream().views.os(BUCKETS.objects));
  }

  async put(jobId: string, generation: number, rank: number, eventsJson: Uint8Array): Promise<void> {
    await this.store.putBlob({ name: `${objectNames.timelinePrefix(jobId)}g${generation}-rank${rank}.json` }, eventsJson);
  }

  /** Every object the job left in the store (timelines, checkpoint, generation states), except `keep` (published model files). */
  async deleteJobObjects(jobId: string, keep: (name: string) => boolean): Promise<void> {
    for (const o of await this.store.list()) {
      if (o.name.startsWith(`jobs/${jobId}/`) && !keep(o.name)) await this.store.delete(o.name);
    }
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
