// Wires the coordinator together: NATS (job store, model registry), the scheduler, the gRPC
// services and the HTTP registry. One process; all state that matters lives in NATS.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { JobServiceService, WorkerServiceService, lineLogger, retryTransient, silentLogger, type Logger } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { jobService } from './grpc/job-service.js';
import { workerService } from './grpc/worker-service.js';
import { JobEvents } from './job-events.js';
import { JobLogRecorder } from './job-log/recorder.js';
import { guard } from './auth/guard.js';
import { ModelOwners } from './auth/model-owners.js';
import { JOB_SERVICE_POLICY, WORKER_SERVICE_POLICY } from './auth/policy.js';
import { checkBootstrapToken, type ClusterSecrets } from './auth/secrets.js';
import { TokenStore } from './auth/token-store.js';
import { dashboardAuthorize, type Authorize } from './dashboard/auth.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { dashboardApi } from './dashboard/api.js';
import { dashboardPages } from './dashboard/ui-routes.js';
import { createMetrics } from './metrics.js';
import { startHttpEndpoint, type TlsServerOptions } from './http/server.js';
import { JobNatsAccess, NatsCredentialIssuer, type NatsAccountKey } from './nats-auth/index.js';
import { ModelRegistry, modelJsonUrl } from './registry/model-registry.js';
import { ModelSigner } from './registry/signing.js';
import { Scheduler } from './scheduling/scheduler.js';
import { WorkerPool } from './scheduling/worker-pool.js';
import { DatasetStore } from './datasets/dataset-store.js';
import { ensureBuckets } from './store/buckets.js';
import { KvJobStore } from './store/job-store.js';
import { JobLogStore } from './store/job-log-store.js';
import { connectNats } from './store/nats-connection.js';
import { TimelineStore } from './store/timeline-store.js';
import { WorkerActivity } from './worker-activity.js';

export interface CoordinatorOptions {
  /** NATS server URL, or several (comma-separated) of one cluster. */
  natsUrl: string;
  /**
   * The tokens the cluster starts with (`syncline up` generates them; on Kubernetes they come
   * from a Secret). Required: there is no unauthenticated mode.
   */
  secrets: ClusterSecrets;
  /** Caps and per-user quotas (default DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
  /** NATS URL(s) handed to workers (defaults to natsUrl). */
  workerNatsUrl?: string;
  /** The NATS account's signing key: the coordinator connects, and lets each worker connect, as users it mints with it. */
  natsAccountKey: NatsAccountKey;
  /** Signs every published model version (ed25519); a new key for this process by default. */
  modelSigner?: ModelSigner;
  /** Serve gRPC and the HTTP registry over TLS with this certificate and key (PEM). */
  tls?: TlsServerOptions;
  /** PEM of the CA(s) the NATS servers' certificates chain to: connect to NATS over TLS, trusting them. */
  natsCa?: string;
  /** Seconds a worker's NATS credentials stay valid (default nats-auth's DEFAULT_WORKER_CREDENTIAL_TTL_SECONDS). */
  natsCredentialTtlSeconds?: number;
  /** Replicas of the key-value buckets and the object store (3 on a three-node NATS cluster); default 1. */
  replicas?: number;
  host?: string;
  grpcPort?: number;
  httpPort?: number;
  /** Base URL under which users and the SDK reach the HTTP registry (defaults to http://host:port). */
  httpPublicUrl?: string;
  /** Bytes of published model files the registry keeps in memory (default 256 MiB). */
  registryCacheBytes?: number;
  /** Upload limits: the largest file, and the bytes of samples per stored shard. */
  datasets?: { maxUploadBytes?: number; shardBytes?: number };
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  allreduceTimeoutSeconds?: number;
  /** Who may read the dashboard's API (by bearer token); default: admin and reader tokens. */
  authorize?: Authorize;
  /** Structured log records (a pino logger). */
  logger?: Logger;
  /** Without `logger`: each record as one line. */
  log?: (line: string) => void;
}

export interface Coordinator {
  grpcAddress: string;
  httpUrl: string;
  /** The public key (base64 ed25519) published models are signed with: the SDK's trustedKeys. */
  modelPublicKey: string;
  nc: NatsConnection;
  /** Workers with an open Join stream. */
  workerCount(): number;
  /** Ids of the workers with an open Join stream. */
  workerIds(): string[];
  stop(): Promise<void>;
}

function grpcServerCredentials(tls: TlsServerOptions | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], false);
}

export async function startCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  checkBootstrapToken('the admin token', opts.secrets?.adminToken ?? '');
  checkBootstrapToken('the worker token', opts.secrets.workerToken);
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const host = opts.host ?? '127.0.0.1';
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 1000;
  const logger = opts.logger ?? (opts.log ? lineLogger(opts.log) : silentLogger);
  const issuer = new NatsCredentialIssuer(opts.natsAccountKey, opts.natsCredentialTtlSeconds === undefined ? {} : { workerTtlSeconds: opts.natsCredentialTtlSeconds });
  const nc = await connectNats(opts.natsUrl, await issuer.coordinator(), { ...(opts.natsCa ? { ca: opts.natsCa } : {}), logger });
  // Drain what is pending, but not forever: with the servers gone (a Ctrl-C reaches the local
  // nats-servers too) the connection would wait for them to come back.
  const cleanups: (() => Promise<void>)[] = [
    async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([nc.drain(), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
      if (!nc.isClosed()) await nc.close();
    },
  ];
  let stopping = false;
  // Once only: a local cluster stops its coordinator again after a test restarted it.
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    })());
  try {
    // A NATS cluster that has just started elects its JetStream leaders first.
    await retryTransient(() => ensureBuckets(nc, opts.replicas ?? 1), {
      deadlineMs: 120_000,
      onRetry: (err, attempt) => logger.warn({ attempt, err: String(err) }, 'JetStream not ready; retrying'),
    });
    const tokens = await TokenStore.open(nc);
    await tokens.bootstrap(opts.secrets.adminToken, 'admin', 'admin');
    await tokens.bootstrap(opts.secrets.workerToken, 'workers', 'worker');
    const owners = await ModelOwners.open(nc);
    cleanups.push(async () => owners.close());
    const store = await KvJobStore.open(nc, logger);
    const signer = opts.modelSigner ?? ModelSigner.generate();
    logger.info({ publicKey: signer.publicKey }, 'published models are signed with this key (GET /v1/keys)');
    const registry = await ModelRegistry.open(nc, { signer, ...(opts.registryCacheBytes === undefined ? {} : { cacheBytes: opts.registryCacheBytes }) });
    cleanups.push(async () => registry.close());
    const timelines = await TimelineStore.open(nc);
    const datasets = await DatasetStore.open(nc, opts.datasets, opts.replicas ?? 1);
    const jobLog = await JobLogStore.open(nc);
    const pool = new WorkerPool();
    const activity = new WorkerActivity();
    const events = new JobEvents();
    const recorder = new JobLogRecorder(jobLog, events, logger);
    cleanups.push(() => recorder.stop());
    const metrics = createMetrics(pool, store, events);
    cleanups.push(async () => metrics.jobs.stop());
    let baseUrl = '';
    const api = dashboardApi({ store, pool, activity, events, registry, datasets, timelines, jobLog, baseUrl: () => baseUrl, authorize: opts.authorize ?? dashboardAuthorize(tokens) });
    const http = await startHttpEndpoint({
      registry,
      owners,
      authenticate: (token) => tokens.verify(token),
      metrics: metrics.registry,
      host,
      port: opts.httpPort ?? 0,
      areas: [api, ...dashboardPages()],
      ...(opts.httpPublicUrl ? { publicUrl: opts.httpPublicUrl } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      signingKeys: [signer.publicKey],
    });
    baseUrl = http.baseUrl;
    cleanups.push(() => http.close());
    cleanups.push(async () => api.close());

    const scheduler = new Scheduler({
      store,
      pool,
      events,
      allreduceTimeoutSeconds: opts.allreduceTimeoutSeconds ?? 60,
      saveTimeline: (jobId, generation, rank, events) => timelines.put(jobId, generation, rank, events),
      onStep: () => metrics.steps.inc(),
      natsAccess: new JobNatsAccess(nc, issuer, opts.replicas ?? 1, async (name, version) => (await registry.resolve(name, version)).jobId),
      ...(logger ? { logger } : {}),
      publisher: {
        async publish(job, prefix, finalMetrics) {
          const model = await registry.publish(job.spec!.name, job.id, prefix, finalMetrics);
          return { name: model.name, version: model.version, url: modelJsonUrl(http.baseUrl, model.name, model.version) };
        },
        async published(job, prefix) {
          const latest = await registry.resolve(job.spec!.name, 'latest').catch(() => undefined);
          if (latest?.jobId !== job.id || latest.artifactPrefix !== prefix) return undefined;
          return { name: latest.name, version: latest.version, url: modelJsonUrl(http.baseUrl, latest.name, latest.version) };
        },
      },
    });

    const server = new Server({
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': limits.maxMessageBytes,
      'grpc.max_send_message_length': limits.maxMessageBytes,
    });
    const authenticate = (token: string | undefined) => tokens.verify(token);
    server.addService(
      JobServiceService,
      guard(jobService({ scheduler, store, events, registry, owners, tokens, timelines, datasets, jobLog, limits, httpBase: () => http.baseUrl }), JOB_SERVICE_POLICY, authenticate),
    );
    server.addService(
      WorkerServiceService,
      guard(workerService({
        scheduler,
        pool,
        natsUrl: opts.workerNatsUrl ?? opts.natsUrl,
        heartbeatIntervalMs,
        heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? heartbeatIntervalMs * 10,
        logger,
        events,
        activity,
        stopping: () => stopping,
      }), WORKER_SERVICE_POLICY, authenticate),
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${opts.grpcPort ?? 0}`, grpcServerCredentials(opts.tls), (err, p) => (err ? reject(err) : resolve(p))),
    );
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.forceShutdown();
          resolve();
        }),
    );
    await scheduler.recover();
    scheduler.startTicker();
    cleanups.push(async () => scheduler.stopTicker());
    return { grpcAddress: `${host}:${port}`, httpUrl: http.baseUrl, modelPublicKey: signer.publicKey, nc, workerCount: () => pool.all().length, workerIds: () => pool.all().map((w) => w.id), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
