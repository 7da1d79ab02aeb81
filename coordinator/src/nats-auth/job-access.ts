// A worker's way into one job on NATS: the job's object store exists (created here, once per job
// and coordinator), and the worker gets a user allowed that job alone.
import { datasetInfo, jobBucket, versionKey, type Job, type NatsCredentials } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { ensureObjectBucket } from '../store/buckets.js';
import type { NatsCredentialIssuer } from './issuer.js';
import type { BaseModelAccess } from './permissions.js';

export class JobNatsAccess {
  private readonly buckets = new Map<string, Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly issuer: NatsCredentialIssuer,
    private readonly replicas: number,
    /** The job that trained version `version` of model `name` (for a job that starts from it: model.base). */
    private readonly baseJob?: (name: string, version: number) => Promise<string>,
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
    const base = job.spec?.model?.base;
    let baseAccess: BaseModelAccess | undefined;
    if (base && base.name !== '' && this.baseJob) {
      const version = Number(base.version);
      baseAccess = { key: versionKey(base.name, version), jobId: await this.baseJob(base.name, version) };
    }
    return this.issuer.worker({ jobId: job.id, ...(dataset !== '' && datasetInfo(dataset) === undefined ? { dataset } : {}), ...(baseAccess ? { base: baseAccess } : {}) });
  }
}
