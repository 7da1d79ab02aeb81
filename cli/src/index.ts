// The CLI's building blocks as a library (tests, the demo).
export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';
export { startNatsServer, type NatsServer } from './nats-server.js';
export { SynclineClient, stateName } from './client.js';
export { readJobFile } from './job-file.js';
