// The coordinator as a library: start one in-process (tests, the local cluster).
export { startCoordinator, type Coordinator, type CoordinatorOptions } from './coordinator.js';
export { validateJobSpec } from './spec/validate.js';
export { ACTIVATIONS } from './spec/layers.js';
export type { BaseModelInfo } from './spec/base-model.js';
export { describeModelJson } from './registry/model-topology.js';
export * from './errors.js';
export { generateSecrets, newToken, type ClusterSecrets } from './auth/secrets.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { createNatsTrust, natsServerTrustConfig, readNatsAccountKey, parseNatsAccountKey, NatsCredentialIssuer, NatsAccountKeyError, workerPermissions, type NatsAccountKey, type NatsTrust } from './nats-auth/index.js';
export { ModelSigner, ModelSigningKeyError, type ModelSignature } from './registry/signing.js';
export { userDatasetInfo } from './datasets/dataset-store.js';
