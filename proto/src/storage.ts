// Where coordinator and workers keep things in JetStream: bucket names and object names are
// a contract between the two sides, like the wire protocol, so they are defined once here.

export const BUCKETS = {
  /** Key-value: job records, by job id. */
  jobs: 'syncline_jobs',
  /** Key-value: published model versions, `<name>.<version>`. */
  models: 'syncline_models',
  /** Key-value: uploaded dataset records, by name. */
  datasets: 'syncline_datasets',
  /** Key-value: access tokens (their sha256, never the token), by id. Coordinator only. */
  tokens: 'syncline_tokens',
  /** Key-value: who owns each model name, and whether the registry serves it to anyone. Coordinator only. */
  modelOwners: 'syncline_model_owners',
  /** Key-value: dataset uploads under way (resumable), by upload id. */
  uploads: 'syncline_dataset_uploads',
  /** Object store of the coordinator alone: timelines. */
  objects: 'syncline_artifacts',
} as const;

/** The key of one published version in BUCKETS.models: `<name>.<version, 8 digits>`, so keys sort by version. */
export const versionKey = (name: string, version: number) => `${name}.${String(version).padStart(8, '0')}`;

/** Bucket and job ids, dataset names: what a JetStream bucket name may hold after its prefix. */
const BUCKET_SAFE = /^[A-Za-z0-9_-]+$/;

function bucketSuffix(what: string, id: string): string {
  if (!BUCKET_SAFE.test(id)) throw new RangeError(`${what} ${JSON.stringify(id)} cannot name a bucket: only letters, digits, '-' and '_'`);
  return id;
}

/**
 * Object store of one job: rank 0's model files, checkpoints and generation states. One bucket
 * per job, so that a worker's NATS credentials can allow this job's objects and nothing else.
 */
export function jobBucket(jobId: string): string {
  return `syncline_job_${bucketSuffix('job id', jobId)}`;
}

/** Object store of one uploaded dataset's file(s), readable by the workers of jobs that train on it. */
export function datasetBucket(name: string): string {
  return `syncline_dataset_${bucketSuffix('dataset name', name)}`;
}

/** Names inside jobBucket(jobId), and (dataset) inside datasetBucket(name). */
export const objectNames = {
  /** Rank 0's model files of one generation (model.json and shards below it). */
  artifactPrefix: (jobId: string, generation: number) => `jobs/${jobId}/g${generation}`,
  /** The job's periodic checkpoint. */
  checkpoint: (jobId: string) => `jobs/${jobId}/checkpoint`,
  /** The state every replica of a new generation starts from. */
  generationStart: (jobId: string, generation: number) => `jobs/${jobId}/g${generation}/start`,
  /** Per-rank timelines of a job (prefix). */
  timelinePrefix: (jobId: string) => `jobs/${jobId}/timeline/`,
  /** An uploaded dataset's file, content-addressed so racing uploads never overwrite each other. */
  dataset: (name: string, sha256: string) => `datasets/${name}-${sha256}.synt`,
  /** Shard `index` of an upload (a tensor file of consecutive samples); unique per upload. */
  datasetShard: (name: string, uploadId: string, index: number) => `datasets/${name}/${uploadId}/shard-${String(index).padStart(6, '0')}.synt`,
  /** The label index of shard `index` of an upload: each sample's class, uint32 little-endian. */
  datasetShardLabels: (name: string, uploadId: string, index: number) => `datasets/${name}/${uploadId}/shard-${String(index).padStart(6, '0')}.labels`,
} as const;
