// Each job's event log, in a JetStream stream (one subject per job), so it outlives the
// coordinator that wrote it and any coordinator can read it. Old entries age out.
import { JobLogEntry } from '@syncline/proto';
import { consumerOpts, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';

export const JOB_LOG_STREAM = 'syncline_job_log';
const SUBJECT_PREFIX = 'syncline.job_log.';
/** Per job: enough for every sampled step of a long job, and bounded. */
const MAX_ENTRIES_PER_JOB = 50_000;
const MAX_AGE_NS = 30 * 24 * 3600 * 1e9;

const subject = (jobId: string) => `${SUBJECT_PREFIX}${jobId}`;

export class JobLogStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  static async open(nc: NatsConnection): Promise<JobLogStore> {
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(JOB_LOG_STREAM);
    } catch {
      await jsm.streams
        .add({ name: JOB_LOG_STREAM, subjects: [`${SUBJECT_PREFIX}>`], max_msgs_per_subject: MAX_ENTRIES_PER_JOB, max_age: MAX_AGE_NS })
        // Another coordinator created it in between.
        .catch(() => jsm.streams.info(JOB_LOG_STREAM));
    }
    return new JobLogStore(nc.jetstream(), jsm);
  }

  async append(jobId: string, e: JobLogEntry): Promise<void> {
    await this.js.publish(subject(jobId), JSON.stringify(JobLogEntry.toJSON(e)));
  }

  /** The job's entries, oldest first; none for an unknown job. */
  async read(jobId: string, opts: { includeMetrics?: boolean } = {}): Promise<JobLogEntry[]> {
    const info = await this.jsm.streams.info(JOB_LOG_STREAM, { subjects_filter: subject(jobId) });
    const count = info.state.subjects?.[subject(jobId)] ?? 0;
    if (count === 0) return [];
    // An ordered push consumer: nats-server 2.9 knows only the single filter_subject that this
    // one sends (the newer consumers API sends filter_subjects, which 2.9 ignores).
    const options = consumerOpts().orderedConsumer().deliverAll().filterSubject(subject(jobId));
    const subscription = await this.js.subscribe(subject(jobId), options);
    const out: JobLogEntry[] = [];
    try {
      for await (const m of subscription) {
        const e = JobLogEntry.fromJSON(m.json());
        if (opts.includeMetrics || e.kind !== 'metrics') out.push(e);
        if (m.info.pending === 0) break;
      }
    } finally {
      subscription.unsubscribe();
    }
    return out;
  }

  async delete(jobId: string): Promise<void> {
    await this.jsm.streams.purge(JOB_LOG_STREAM, { filter: subject(jobId) });
  }
}
