// Job records. The coordinator keeps nothing that matters only in memory: every change of a
// job goes to a JetStream key-value bucket, so a restarted coordinator rebuilds its view.
import { BUCKETS, Job } from '@syncline/proto';
import type { KV, NatsConnection } from 'nats';
import { JobNotFoundError } from '../errors.js';
import { kvKeys } from './kv-keys.js';


export interface JobStore {
  create(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  list(): Promise<Job[]>;
  /** Applies `change` to the stored job atomically (compare-and-set, retried on conflict). */
  update(id: string, change: (job: Job) => void): Promise<Job>;
}

export class KvJobStore implements JobStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<KvJobStore> {
    return new KvJobStore(nc, await nc.jetstream().views.kv(BUCKETS.jobs, { history: 1 }));
  }

  async create(job: Job): Promise<void> {
    await this.kv.create(job.id, Job.encode(job).finish());
  }

  async get(id: string): Promise<Job | undefined> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return Job.decode(entry.value);
  }

  async list(): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const key of await kvKeys(this.nc, BUCKETS.jobs)) {
      const job = await this.get(key);
      if (job) jobs.push(job);
    }
    return jobs.sort((a, b) => a.createdUnixMs - b.createdUnixMs || a.id.localeCompare(b.id));
  }

  async update(id: string, change: (job: Job) => void): Promise<Job> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.kv.get(id);
      if (!entry || entry.operation !== 'PUT') throw new JobNotFoundError(id);
      const job = Job.decode(entry.value);
      change(job);
      job.updatedUnixMs = Date.now();
      try {
        await this.kv.update(id, Job.encode(job).finish(), entry.revision);
        return job;
      } catch (err) {
        // A concurrent writer won the revision; re-read and re-apply.
        if (attempt >= 10) throw err;
      }
    }
  }
}
