// The wire contract: generated protobuf/gRPC types and the minibatch plan both sides share.
export * from './gen/index.js';
export * from './plan.js';
export * from './datasets.js';
export * from './tensor-file.js';
export { jsonProblems } from './json-check.js';
export * from './storage.js';
export * from './logging.js';
export * from './retry.js';
