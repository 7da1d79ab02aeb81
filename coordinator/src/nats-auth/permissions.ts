// What one worker assignment may do on NATS: publish and subscribe its job's all-reduce subjects,
// read and write its job's object store, read its dataset (record and file), and receive
// replies on its own inbox prefix. Nothing of any other job: JetStream's API is permissioned by
// stream name in the subject, and every job has a stream (bucket) of its own.
import { BUCKETS, datasetBucket, jobAllReducePrefix, jobBucket } from '@syncline/proto';

export interface SubjectPermissions {
  pub: { allow: string[] };
  sub: { allow: string[] };
}

/** JetStream API subjects that read an object store (ordered consumers over its chunks, meta lookups). */
function objectStoreRead(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    // Flow-control replies of the ordered consumer.
    `$JS.FC.${stream}.>`,
  ];
}

/** The base model a job starts from (model.base): its registry entry and the store of the job that trained it. */
export interface BaseModelAccess {
  /** Its key in the models bucket (`<name>.<version, 8 digits>`). */
  key: string;
  /** The job that trained it (its files are in that job's store). */
  jobId: string;
}

export function workerPermissions(job: { jobId: string; dataset?: string; base?: BaseModelAccess }, inboxPrefix: string): SubjectPermissions {
  const allreduce = `${jobAllReducePrefix(job.jobId)}.>`;
  const bucket = jobBucket(job.jobId);
  const pub = [
    allreduce,
    // Account-wide lookups nats.js makes: JetStream's limits, and which stream holds a subject
    // (stream names only; the subject asked about is the caller's own).
    '$JS.API.INFO',
    '$JS.API.STREAM.NAMES',
    ...objectStoreRead(bucket),
    // Writing objects: chunks and meta, and purging the chunks an overwrite replaces.
    `$O.${bucket}.>`,
    `$JS.API.STREAM.PURGE.OBJ_${bucket}`,
  ];
  if (job.dataset !== undefined) {
    const kv = `KV_${BUCKETS.datasets}`;
    pub.push(`$JS.API.STREAM.INFO.${kv}`, `$JS.API.DIRECT.GET.${kv}.$KV.${BUCKETS.datasets}.${job.dataset}`, ...objectStoreRead(datasetBucket(job.dataset)));
  }
  if (job.base !== undefined) {
    // Reading (never writing) the base model: its version record and its files.
    const kv = `KV_${BUCKETS.models}`;
    pub.push(`$JS.API.STREAM.INFO.${kv}`, `$JS.API.DIRECT.GET.${kv}.$KV.${BUCKETS.models}.${job.base.key}`, ...objectStoreRead(jobBucket(job.base.jobId)));
  }
  return { pub: { allow: pub }, sub: { allow: [allreduce, `${inboxPrefix}.>`] } };
}
