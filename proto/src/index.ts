// The wire contract: generated protobuf/gRPC types and the minibatch plan both sides share.
export * from './gen/index.js';
export * from './plan.js';
export * from './shard-order.js';
export * from './datasets.js';
export * from './gan.js';
export * from './tensor-file.js';
export * from './label-index.js';
export { ENUM_JSON_VALUES, MESSAGE_JSON_FIELDS, type JsonField } from './gen/json-schema.js';
export { closestName, describeJsonValue, formatJsonPath, jsonProblems, parseJsonPath, type JsonPath, type JsonProblem } from './json-check.js';
export * from './storage.js';
export * from './logging.js';
export * from './retry.js';
export * from './credentials.js';
export * from './subjects.js';
