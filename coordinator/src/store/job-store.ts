// Job records. The coordinator keeps nothing that matters only in memory: every change of a
// job goes to a JetStream key-value bucket, so a restarted coordinator rebuilds its view. Each
// request is retried through NATS outages, so a transition waits for the bucket instead of failing.
import { BUCKETS, Job, retryTransient, type Logger } from '@syncline/proto';
import type { KV, NatsConnection } from 'nats';
import { JobNotFoundError } from '../errors.js';
import { kvKeys } from './kv-keys.js';

export interface JobStore {
  create(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  list(): Promise<Job[]>;
  /** Applies `change` to the stored job atomically (compare-and-set, retried on conflict). */
  update(id: string, change: (job: Job) => void): Promise<Job>;
  delete(id: string): Promise<void>;
}

export class KvJobStore implements JobStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly logger?: Logger,
  ) {}

  static async open(nc: NatsConnection, logger?: Logger): Promise<KvJobStore> {
    return new KvJobStore(nc, await nc.jetstream().views.kv(BUCKETS.jobs, { history: 1 }), logger);
  }

  private retried<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn, { onRetry: (err, attempt, delayMs) => this.logger?.warn({ attempt, delayMs, err: String(err) }, `job store: ${what} failed; retrying`) });
  }

  async create(job: Job): Promise<void> {
    // A retried create whose first attempt got through finds the record: that is success.
    await this.retried('create', async () => {
      try {
        await this.kv.create(job.id, Job.encode(job).finish());
      } catch (err) {
        if (!(await this.get(job.id))) throw err;
      }
    });
  }

  async get(id: string): Promise<Job | undefined> {
    const entry = await this.retried('get', () => this.kv.get(id));
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return Job.decode(entry.value);
  }

  async list(): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const key of await this.retried('list', () => kvKeys(this.nc, BUCKETS.jobs))) {
      const job = await this.get(key);
      if (job) jobs.push(job);
    }
    return jobs.sort((a, b) => a.createdUnixMs - b.createdUnixMs || a.id.localeCompare(b.id));
  }

  async update(id: string, change: (job: Job) => void): Promise<Job> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.retried('get', () => this.kv.get(id));
      if (!entry || entry.operation !== 'PUT') throw new JobNotFoundError(id);
      const job = Job.decode(entry.value);
      change(job);
      job.updatedUnixMs = Date.now();
      const bytes = Job.encode(job).finish();
      try {
        await this.retried('update', () => this.kv.update(id, bytes, entry.revision));
        return job;
      } catch (err) {
        // Our own write may have landed before an outage cut its reply: then it is done, not to
        // be applied twice. Otherwise a concurrent writer won the revision: re-read and re-apply.
        const now = await this.retried('get', () => this.kv.get(id));
        if (now && Buffer.compare(Buffer.from(now.value), Buffer.from(bytes)) === 0) return job;
        if (attempt >= 10) throw err;
      }
    }
  }

  async delete(id: string): Promise<void> {
    await this.retried('delete', () => this.kv.delete(id));
  }
}
