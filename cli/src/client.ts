// A promise-based JobService client for the CLI and tests.
import { credentials } from '@grpc/grpc-js';
import { JobServiceClient, JobState, type DatasetUploadHeader, type UserDataset, type Job, type JobSpec, type PublishedModel, type StepMetrics, type WatchJobResponse } from '@syncline/proto';

export class SynclineClient {
  readonly raw: JobServiceClient;

  constructor(address: string) {
    this.raw = new JobServiceClient(address, credentials.createInsecure());
  }

  submit(spec: JobSpec): Promise<Job> {
    return new Promise((resolve, reject) => this.raw.submitJob({ spec }, (err, res) => (err ? reject(err) : resolve(res.job!))));
  }

  get(jobId: string): Promise<Job> {
    return new Promise((resolve, reject) => this.raw.getJob({ jobId }, (err, res) => (err ? reject(err) : resolve(res.job!))));
  }

  list(): Promise<Job[]> {
    return new Promise((resolve, reject) => this.raw.listJobs({}, (err, res) => (err ? reject(err) : resolve(res.jobs))));
  }

  cancel(jobId: string): Promise<Job> {
    return new Promise((resolve, reject) => this.raw.cancelJob({ jobId }, (err, res) => (err ? reject(err) : resolve(res.job!))));
  }

  models(): Promise<PublishedModel[]> {
    return new Promise((resolve, reject) => this.raw.listModels({}, (err, res) => (err ? reject(err) : resolve(res.models))));
  }

  /** The job's timeline as Chrome trace JSON. */
  timeline(jobId: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => this.raw.getTimeline({ jobId }, (err, res) => (err ? reject(err) : resolve(res.traceJson))));
  }

  /** Ranks report their timelines as they finish, rank 0 last or not: waits briefly for all `ranks`. */
  async completeTimeline(jobId: string, ranks: number, waitMs = 10_000): Promise<Uint8Array> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const bytes = await this.timeline(jobId);
      const events = (JSON.parse(new TextDecoder().decode(bytes)) as { traceEvents: { ph: string }[] }).traceEvents;
      if (events.filter((e) => e.ph === 'M').length >= ranks || Date.now() > deadline) return bytes;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Streams a dataset file to the coordinator in 1 MiB chunks. */
  uploadDataset(header: DatasetUploadHeader, bytes: Uint8Array): Promise<UserDataset> {
    return new Promise((resolve, reject) => {
      const call = this.raw.uploadDataset((err, res) => (err ? reject(err) : resolve(res.dataset!)));
      call.write({ part: { $case: 'header', value: header } });
      for (let at = 0; at < bytes.length; at += 1 << 20) {
        call.write({ part: { $case: 'chunk', value: Buffer.from(bytes.subarray(at, at + (1 << 20))) } });
      }
      call.end();
    });
  }

  datasets(): Promise<UserDataset[]> {
    return new Promise((resolve, reject) => this.raw.listDatasets({}, (err, res) => (err ? reject(err) : resolve(res.datasets))));
  }

  /** Follows a job until it ends; resolves with its final record. */
  watch(jobId: string, on: { job?: (job: Job) => void; metrics?: (m: StepMetrics) => void } = {}): Promise<Job> {
    return new Promise((resolve, reject) => {
      let last: Job | undefined;
      const stream = this.raw.watchJob({ jobId });
      stream.on('data', (res: WatchJobResponse) => {
        const e = res.event;
        if (e?.$case === 'job') {
          last = e.value;
          on.job?.(e.value);
        } else if (e?.$case === 'metrics') {
          on.metrics?.(e.value);
        }
      });
      stream.on('error', reject);
      stream.on('end', () => (last ? resolve(last) : reject(new Error(`watch of ${jobId} ended without a job`))));
    });
  }

  close(): void {
    this.raw.close();
  }
}

export function stateName(state: JobState): string {
  return (JobState[state] ?? String(state)).replace('JOB_STATE_', '');
}
