// A worker's way into one job on NATS: the job's object store exists (created here, once per job
// and coordinator), and the worker gets a user allowed that job alone.
import { datasetInfo, jobBucket, type Job, type NatsCredentials } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { ensureObjectBucket } from '../store/buckets.js';
import type { NatsCredentialIssuer } from './issuer.js';

export class JobNatsAccess {
  private readonly buckets = new Map<string, Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly issuer: NatsCredentialIssuer,
    private readonly replicas: number,
  ) {}

  async forWorker(job: Job): Promise<NatsCredentials> {
    let ready = this.buckets.get(job.id);
    if (!ready) {
      ready = ensureObjectBucket(this.nc, jobBucket(job.id), this.replicas);
      this.buckets.set(job.id, ready);
      ready.catch(() => this.buckets.delete(job.id));
    }
    await ready;
    const dataset = job.spec?.dataset?.name ?? '';
    return this.issuer.worker({ jobId: job.id, ...(dataset !== '' && datasetInfo(dataset) === undefined ? { dataset } : {}) });
  }
}
