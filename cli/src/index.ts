// The CLI's building blocks as a library (tests, the demo).
export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';
export { startNatsServer, type NatsServer } from './nats-server.js';
export { SynclineClient, stateName, type ClientOptions } from './client.js';
export { checkOffline, loadJobFile, readJobFile, type JobFile } from './job-file.js';
export { CoordinatorUnreachableError, EXIT, JobFileError, RequestRefusedError, exitCodeFor } from './errors.js';
