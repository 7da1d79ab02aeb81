// Where coordinator and workers keep things in JetStream: bucket names and object names are
// a contract between the two sides, like the wire protocol, so they are defined once here.

export const BUCKETS = {
  /** Key-value: job records, by job id. */
  jobs: 'syncline_jobs',
  /** Key-value: published model versions, `<name>.<version>`. */
  models: 'syncline_models',
  /** Key-value: uploaded dataset records, by name. */
  datasets: 'syncline_datasets',
  /** Key-value: dataset uploads under way (resumable), by upload id. */
  uploads: 'syncline_dataset_uploads',
  /** Key-value: access tokens (their sha256, never the token), by id. Coordinator only. */
  tokens: 'syncline_tokens',
  /** Key-value: who owns each model name, and whether the registry serves it to anyone. Coordinator only. */
  modelOwners: 'syncline_model_owners',
  /** Object store: model files, checkpoints, generation states, timelines and dataset files. */
  objects: 'syncline_artifacts',
} as const;

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
} as const;
