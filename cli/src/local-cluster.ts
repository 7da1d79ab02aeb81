// A whole cluster on one machine: a nats-server with JetStream (or a cluster of them), the
// coordinator (in this process) and worker child processes. Everything started is stopped by
// stop(), also when starting fails half-way.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCoordinator, type Coordinator, type CoordinatorOptions, type ModelSigner, type NatsAccountKey } from '@syncline/coordinator';
import { loadAddon } from '@syncline/worker/native';
import { startNatsCluster, startNatsServer, type NatsServer } from './nats-server.js';
import type { LocalTls } from './tls/certificates.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workerMain = join(repoRoot, 'worker', 'src', 'main.ts');

export interface LocalClusterOptions {
  /** Worker processes; default: defaultWorkerCount(). */
  workers?: number;
  /** Use this NATS server (or these, comma-separated) instead of starting one (env SYNCLINE_NATS_URL). */
  natsUrl?: string;
  /** With natsUrl: the signing key of the account those servers trust (env SYNCLINE_NATS_ACCOUNT_KEY names its file). */
  natsAccountKey?: NatsAccountKey;
  /** Start this many clustered nats-servers (buckets then keep 3 replicas, or as many as servers). */
  natsCluster?: number;
  /**
   * TLS everywhere: nats-server, the coordinator's gRPC and HTTP, and the workers (who trust
   * `tls.ca`, from the file `caFile`) speak nothing else.
   */
  tls?: LocalTls & { caFile: string };
  /** The key that signs published models; a new one by default. */
  modelSigner?: ModelSigner;
  /** max_payload of the servers started here. */
  natsMaxPayload?: number;
  grpcPort?: number;
  httpPort?: number;
  /** Failure-detection settings of the coordinator (tests make them small). */
  timeouts?: Pick<CoordinatorOptions, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'allreduceTimeoutSeconds'>;
  /** Who may read the dashboard's API (default: everyone). */
  authorize?: CoordinatorOptions['authorize'];
  /** Extra environment of the worker processes (a test's SYNCLINE_FAULT_PLAN). */
  workerEnv?: NodeJS.ProcessEnv;
  /** Aborting it while the cluster starts stops what was started, and startLocalCluster rejects. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Where worker output goes (default: log, prefixed). */
  workerOutput?: (line: string) => void;
}

export interface LocalCluster {
  coordinator: Coordinator;
  /** The NATS URL(s) coordinator and workers use. */
  natsUrl: string;
  /** The account key of the NATS servers (mints users that may do anything in the account). */
  natsAccountKey: NatsAccountKey;
  /** The nats-servers started here (none when natsUrl was given). */
  nats: NatsServer[];
  /** Worker processes; the one at index i joined as worker `local-<i>`. */
  workers: ChildProcess[];
  /** Starts one more worker process and resolves once it joined; returns its index. */
  addWorker(): Promise<number>;
  stop(): Promise<void>;
}

function pipeLines(stream: NodeJS.ReadableStream | null, sink: (line: string) => void): void {
  let buf = '';
  stream?.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      sink(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * One worker per host where the native backend is built (it threads across every core, so the
 * all-reduce only crosses hosts); one per core where workers fall back to single-threaded wasm.
 */
export function defaultWorkerCount(): number {
  return 'addon' in loadAddon() ? 1 : availableParallelism();
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const workerCount = opts.workers ?? defaultWorkerCount();
  // Workers on one host share its cores (SYNCLINE_THREADS, when set, decides instead).
  const threadsPerWorker = String(Math.max(1, Math.floor(availableParallelism() / workerCount)));
  const log = opts.log ?? (() => undefined);
  const nats: NatsServer[] = [];
  let coordinator: Coordinator | undefined;
  const workers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(workers.map(stopChild));
    await coordinator?.stop();
    await Promise.all(nats.map((s) => s.stop()));
  };
  try {
    opts.signal?.throwIfAborted();
    const size = opts.natsCluster ?? 1;
    const maxPayload = { ...(opts.natsMaxPayload !== undefined ? { maxPayload: opts.natsMaxPayload } : {}), ...(opts.tls ? { tls: opts.tls } : {}) };
    let natsUrl = opts.natsUrl;
    let natsAccountKey = opts.natsAccountKey;
    if (natsUrl === undefined && size > 1) {
      const cluster = await startNatsCluster(size, maxPayload);
      nats.push(...cluster.servers);
      natsUrl = cluster.urls;
      natsAccountKey = cluster.accountKey;
    } else if (natsUrl === undefined) {
      const server = await startNatsServer(maxPayload);
      nats.push(server);
      natsUrl = server.url;
      natsAccountKey = server.accountKey;
    }
    if (natsAccountKey === undefined) throw new Error(`the NATS account key of ${natsUrl} is needed to use it (SYNCLINE_NATS_ACCOUNT_KEY: its file)`);
    opts.signal?.throwIfAborted();
    log(`nats-server${nats.length > 1 ? `s (a cluster of ${nats.length})` : ''} ready at ${natsUrl}`);
    coordinator = await startCoordinator({
      natsUrl,
      natsAccountKey,
      ...(opts.tls ? { tls: opts.tls, natsCa: opts.tls.ca } : {}),
      ...(opts.modelSigner ? { modelSigner: opts.modelSigner } : {}),
      replicas: Math.min(3, size),
      log,
      ...opts.timeouts,
      ...(opts.authorize ? { authorize: opts.authorize } : {}),
      ...(opts.grpcPort !== undefined ? { grpcPort: opts.grpcPort } : {}),
      ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
    });
    const sink = opts.workerOutput ?? log;
    const running = coordinator;
    const spawnWorker = () => {
      const i = workers.length;
      const child = spawn(process.execPath, ['--import', 'tsx', workerMain, '--coordinator', running.grpcAddress], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        env: { SYNCLINE_THREADS: threadsPerWorker, ...process.env, ...opts.workerEnv, ...(opts.tls ? { SYNCLINE_CA: opts.tls.caFile } : {}), SYNCLINE_WORKER_ID: `local-${i}`, SYNCLINE_LOG_PRETTY: '1' },
      });
      pipeLines(child.stdout, sink);
      pipeLines(child.stderr, sink);
      workers.push(child);
      return i;
    };
    /** Waits until the worker processes at `indices` have joined (as `local-<i>`). */
    const joined = async (indices: number[]) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ids = running.workerIds();
        const waiting = indices.filter((i) => !ids.includes(`local-${i}`));
        if (waiting.length === 0) return;
        opts.signal?.throwIfAborted();
        const dead = waiting.map((i) => workers[i]!).find((w) => w.exitCode !== null);
        if (dead) throw new Error(`a worker process exited with code ${dead.exitCode} before joining`);
        if (Date.now() > deadline) throw new Error(`worker(s) ${waiting.map((i) => `local-${i}`).join(', ')} did not join within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const first = Array.from({ length: workerCount }, spawnWorker);
    await joined(first);
    const addWorker = async () => {
      const i = spawnWorker();
      await joined([i]);
      return i;
    };
    return { coordinator, natsUrl, natsAccountKey, nats, workers, addWorker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
