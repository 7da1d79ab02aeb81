// The least role each RPC needs; what a caller may do with a particular job, model or dataset
// (its own, or anything for admins) is access.ts. A new RPC does not compile until it is here.
import type { JobServiceServer, WorkerServiceServer } from '@syncline/proto';
import type { Role } from './roles.js';

export const JOB_SERVICE_POLICY: { [K in keyof JobServiceServer]: Role } = {
  submitJob: 'user',
  validateJob: 'reader',
  getJob: 'reader',
  listJobs: 'reader',
  cancelJob: 'user',
  watchJob: 'reader',
  listModels: 'reader',
  getTimeline: 'reader',
  uploadDataset: 'user',
  getDatasetUpload: 'user',
  listDatasets: 'reader',
  getJobLog: 'reader',
  deleteJob: 'user',
  deleteModel: 'user',
  deleteDataset: 'user',
  createToken: 'admin',
  listTokens: 'admin',
  revokeToken: 'admin',
};

export const WORKER_SERVICE_POLICY: { [K in keyof WorkerServiceServer]: Role } = {
  join: 'worker',
};
