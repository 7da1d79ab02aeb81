export { createNatsTrust, natsServerTrustConfig, parseNatsAccountKey, readNatsAccountKey, NatsAccountKeyError, type NatsAccountKey, type NatsTrust } from './account.js';
export { NatsCredentialIssuer, DEFAULT_WORKER_CREDENTIAL_TTL_SECONDS } from './issuer.js';
export { workerPermissions, type SubjectPermissions } from './permissions.js';
export { JobNatsAccess } from './job-access.js';
