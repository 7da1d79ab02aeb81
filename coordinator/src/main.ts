// Entry point of the coordinator process.
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { lineLogger } from '@syncline/proto';
import { pino } from 'pino';
import { startCoordinator } from './coordinator.js';
import { DEFAULT_LIMITS } from './limits.js';
import { readNatsAccountKey } from './nats-auth/index.js';
import { ModelSigner } from './registry/signing.js';

const env = process.env;
const program = new Command()
  .name('syncline-coordinator')
  .option('--nats <urls>', 'NATS server(s) with JetStream, comma-separated for a cluster (env SYNCLINE_NATS_URL)', env.SYNCLINE_NATS_URL ?? 'nats://127.0.0.1:4222')
  .option('--nats-account-key <file>', "the NATS account's signing key, JSON {account, signingKey} (env SYNCLINE_NATS_ACCOUNT_KEY); `syncline nats-trust` writes one", env.SYNCLINE_NATS_ACCOUNT_KEY)
  .option('--nats-credential-ttl <seconds>', "how long a worker's NATS credentials stay valid (env SYNCLINE_NATS_CREDENTIAL_TTL)", env.SYNCLINE_NATS_CREDENTIAL_TTL ?? String(7 * 24 * 3600))
  .option('--tls-cert <file>', 'serve gRPC and HTTP over TLS with this certificate chain, PEM (env SYNCLINE_TLS_CERT)', env.SYNCLINE_TLS_CERT)
  .option('--tls-key <file>', "the certificate's private key, PEM (env SYNCLINE_TLS_KEY)", env.SYNCLINE_TLS_KEY)
  .option('--nats-ca <file>', "connect to NATS over TLS, trusting this CA, PEM (env SYNCLINE_NATS_CA)", env.SYNCLINE_NATS_CA)
  .option('--model-signing-key <file>', 'ed25519 private key (PKCS#8 PEM) that signs published models (env SYNCLINE_MODEL_SIGNING_KEY); default: a new one per start', env.SYNCLINE_MODEL_SIGNING_KEY)
  .option('--worker-nats <urls>', 'NATS URL(s) handed to workers (env SYNCLINE_WORKER_NATS_URL); default: --nats', env.SYNCLINE_WORKER_NATS_URL)
  .option('--replicas <n>', 'replicas of the key-value buckets and object store: 3 on a three-node NATS cluster (env SYNCLINE_REPLICAS)', env.SYNCLINE_REPLICAS ?? '1')
  .option('--host <host>', 'address to listen on (env SYNCLINE_HOST)', env.SYNCLINE_HOST ?? '127.0.0.1')
  .option('--grpc-port <port>', 'gRPC port (env SYNCLINE_GRPC_PORT)', env.SYNCLINE_GRPC_PORT ?? '7070')
  .option('--http-port <port>', 'HTTP registry port (env SYNCLINE_HTTP_PORT)', env.SYNCLINE_HTTP_PORT ?? '7080')
  .option('--http-public-url <url>', 'base URL clients use to reach the HTTP registry (env SYNCLINE_HTTP_PUBLIC_URL)', env.SYNCLINE_HTTP_PUBLIC_URL)
  .option('--registry-cache-mb <mb>', 'MiB of published model files the registry keeps in memory (env SYNCLINE_REGISTRY_CACHE_MB)', env.SYNCLINE_REGISTRY_CACHE_MB ?? '256')
  .option('--admin-token <token>', 'the admin token the cluster starts with, 32+ characters (env SYNCLINE_ADMIN_TOKEN; prefer the variable: flags show in ps)', env.SYNCLINE_ADMIN_TOKEN)
  .option('--worker-token <token>', 'the token workers join with, 32+ characters (env SYNCLINE_WORKER_TOKEN)', env.SYNCLINE_WORKER_TOKEN)
  .option('--max-parameters <n>', `largest model, in parameters (env SYNCLINE_MAX_PARAMETERS)`, env.SYNCLINE_MAX_PARAMETERS ?? String(DEFAULT_LIMITS.maxParameters))
  .option('--max-steps <n>', 'most steps of one job (env SYNCLINE_MAX_STEPS)', env.SYNCLINE_MAX_STEPS ?? String(DEFAULT_LIMITS.maxTotalSteps))
  .option('--max-layers <n>', 'most layers of one network (env SYNCLINE_MAX_LAYERS)', env.SYNCLINE_MAX_LAYERS ?? String(DEFAULT_LIMITS.maxLayers))
  .option('--max-message-mb <mb>', 'largest gRPC message (env SYNCLINE_MAX_MESSAGE_MB)', env.SYNCLINE_MAX_MESSAGE_MB ?? String(DEFAULT_LIMITS.maxMessageBytes / 1024 / 1024))
  .option('--max-jobs-per-user <n>', 'jobs one user may have pending or running (env SYNCLINE_MAX_JOBS_PER_USER)', env.SYNCLINE_MAX_JOBS_PER_USER ?? String(DEFAULT_LIMITS.maxConcurrentJobsPerUser))
  .option('--max-workers-per-user <n>', "workers (sum of workers.max) over one user's pending and running jobs (env SYNCLINE_MAX_WORKERS_PER_USER)", env.SYNCLINE_MAX_WORKERS_PER_USER ?? String(DEFAULT_LIMITS.maxWorkersPerUser))
  .option('--max-upload-bytes <bytes>', 'largest dataset file an upload may send (env SYNCLINE_MAX_UPLOAD_BYTES)', env.SYNCLINE_MAX_UPLOAD_BYTES ?? String(16 * 1024 ** 3))
  .option('--allreduce-timeout <seconds>', "how long a rank waits for its peers' gradients before the step, and the job, fail: longer than a NATS outage you expect to ride out (env SYNCLINE_ALLREDUCE_TIMEOUT)", env.SYNCLINE_ALLREDUCE_TIMEOUT ?? '60')
  .option('--dataset-shard-bytes <bytes>', 'bytes of samples per stored dataset shard (env SYNCLINE_DATASET_SHARD_BYTES)', env.SYNCLINE_DATASET_SHARD_BYTES ?? String(16 * 1024 ** 2))
  .parse();
const o = program.opts<{
  modelSigningKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  natsCa?: string;
  natsAccountKey?: string;
  natsCredentialTtl: string;
  nats: string;
  workerNats?: string;
  replicas: string;
  host: string;
  grpcPort: string;
  httpPort: string;
  httpPublicUrl?: string;
  registryCacheMb: string;
  maxUploadBytes: string;
  datasetShardBytes: string;
  allreduceTimeout: string;
  adminToken?: string;
  workerToken?: string;
  maxParameters: string;
  maxSteps: string;
  maxLayers: string;
  maxMessageMb: string;
  maxJobsPerUser: string;
  maxWorkersPerUser: string;
}>();
// Secure by default: without the cluster's tokens there is nothing to check callers against.
const noCredentials =
  'no credentials: set SYNCLINE_ADMIN_TOKEN and SYNCLINE_WORKER_TOKEN (each at least 32 random characters, e.g. openssl rand -base64 32; on Kubernetes from the syncline-tokens Secret, see deploy/README.md). `syncline up` makes them for a local cluster.';
const adminToken = o.adminToken || program.error(noCredentials);
const workerToken = o.workerToken || program.error(noCredentials);
const positive = (flag: string, text: string) => {
  const n = Number(text);
  if (!(n > 0)) program.error(`${flag}: expected a positive number, got ${JSON.stringify(text)}`);
  return n;
};
const maxUploadBytes = Number(o.maxUploadBytes);
if (!Number.isSafeInteger(maxUploadBytes) || maxUploadBytes < 1) program.error(`--max-upload-bytes: expected a positive number of bytes, got ${JSON.stringify(o.maxUploadBytes)}`);
const datasetShardBytes = Number(o.datasetShardBytes);
if (!Number.isInteger(datasetShardBytes) || datasetShardBytes < 4096 || datasetShardBytes > 64 * 1024 ** 2) program.error(`--dataset-shard-bytes: expected 4096 to 67108864, got ${JSON.stringify(o.datasetShardBytes)}`);
const allreduceTimeoutSeconds = Number(o.allreduceTimeout);
if (!Number.isInteger(allreduceTimeoutSeconds) || allreduceTimeoutSeconds < 1) program.error(`--allreduce-timeout: expected a whole number of seconds, at least 1, got ${JSON.stringify(o.allreduceTimeout)}`);
const replicas = Number(o.replicas);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) program.error(`--replicas must be an integer from 1 to 5, got ${o.replicas}`);
const keyFile = o.natsAccountKey ?? program.error('--nats-account-key (or SYNCLINE_NATS_ACCOUNT_KEY) is required: NATS admits no anonymous clients');
const ttl = Number(o.natsCredentialTtl);
if (!Number.isInteger(ttl) || ttl < 60) program.error(`--nats-credential-ttl must be a whole number of seconds, at least 60, got ${o.natsCredentialTtl}`);
const natsAccountKey = await readNatsAccountKey(keyFile).catch((err: Error) => program.error(err.message));
if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) program.error('--tls-cert and --tls-key go together');
const pem = (file: string) => readFile(file, 'utf8').catch((err: Error) => program.error(`cannot read ${file}: ${err.message}`));
const tls = o.tlsCert && o.tlsKey ? { cert: await pem(o.tlsCert), key: await pem(o.tlsKey) } : undefined;
const natsCa = o.natsCa ? await pem(o.natsCa) : undefined;
const modelSigner = o.modelSigningKey ? await ModelSigner.fromFile(o.modelSigningKey).catch((err: Error) => program.error(err.message)) : undefined;
const cacheMb = Number(o.registryCacheMb);
if (!(cacheMb >= 0)) program.error(`--registry-cache-mb: expected a number of MiB, got ${JSON.stringify(o.registryCacheMb)}`);

// JSON lines for log collectors; SYNCLINE_LOG_PRETTY=1 (set by `syncline up`) prints plain lines.
const logger = env.SYNCLINE_LOG_PRETTY ? lineLogger((line) => console.log(line)) : pino({ name: 'syncline-coordinator', level: env.SYNCLINE_LOG_LEVEL ?? 'info' });
const coordinator = await startCoordinator({
  natsUrl: o.nats,
  natsAccountKey,
  natsCredentialTtlSeconds: ttl,
  ...(tls ? { tls } : {}),
  ...(natsCa ? { natsCa } : {}),
  ...(modelSigner ? { modelSigner } : {}),
  replicas,
  allreduceTimeoutSeconds,
  host: o.host,
  grpcPort: Number(o.grpcPort),
  httpPort: Number(o.httpPort),
  logger,
  registryCacheBytes: Math.round(cacheMb * 1024 * 1024),
  secrets: { adminToken, workerToken },
  limits: {
    maxParameters: positive('--max-parameters', o.maxParameters),
    maxTotalSteps: positive('--max-steps', o.maxSteps),
    maxLayers: positive('--max-layers', o.maxLayers),
    maxMessageBytes: Math.round(positive('--max-message-mb', o.maxMessageMb) * 1024 * 1024),
    maxConcurrentJobsPerUser: positive('--max-jobs-per-user', o.maxJobsPerUser),
    maxWorkersPerUser: positive('--max-workers-per-user', o.maxWorkersPerUser),
  },
  datasets: { maxUploadBytes, shardBytes: datasetShardBytes },
  ...(o.workerNats ? { workerNatsUrl: o.workerNats } : {}),
  ...(o.httpPublicUrl ? { httpPublicUrl: o.httpPublicUrl } : {}),
});
logger.info({ grpc: coordinator.grpcAddress, http: coordinator.httpUrl, nats: o.nats, replicas }, 'coordinator ready');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void coordinator.stop().finally(() => process.exit(0)));
}
