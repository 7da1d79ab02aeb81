// Starts real nats-servers with JetStream on free loopback ports, for the local cluster and tests:
// one server, or a cluster of several (JetStream clustered, so buckets can have 3 replicas and
// any one server may be lost). A server can be killed and started again on the same port and
// store, as an outage. Every server runs with decentralized JWT authentication: no anonymous
// client gets in, only users minted with the account key in `trust` (coordinator/src/nats-auth).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsTrust, natsServerTrustConfig, type NatsAccountKey, type NatsTrust } from '@syncline/coordinator';

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** The operator and account the server trusts. */
  trust: NatsTrust;
  /** What the coordinator takes (and tests mint full users with): the account's signing key. */
  accountKey: NatsAccountKey;
  process: ChildProcess;
  /** Kills the server at once (SIGKILL, as a crash): its store stays for start(). */
  kill(): Promise<void>;
  /** Starts it again after kill(), on the same port and store. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  /** The server's max_payload in bytes (default: nats-server's own, 1 MiB). */
  maxPayload?: number;
  /** Binary to run (default: nats-server on PATH, or SYNCLINE_NATS_SERVER). */
  binary?: string;
  /** Folder for JetStream storage; a new temporary folder (removed on stop) by default. */
  storeDir?: string;
  /** Client port; a free one by default. */
  port?: number;
  /** Clustering: this server's name, cluster port and the other servers' cluster ports. */
  cluster?: { serverName: string; port: number; routes: number[] };
  /** The operator and account to trust; new ones by default. */
  trust?: NatsTrust;
  /** Require TLS from clients, with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export class NatsServerMissingError extends Error {
  constructor(binary: string) {
    super(
      `nats-server not found (looked for "${binary}"). Install it (Debian: apt-get install -y nats-server), ` +
        'or point SYNCLINE_NATS_URL at a running server started with JetStream (-js).',
    );
    this.name = 'NatsServerMissingError';
  }
}

export function natsServerBinary(): string {
  return process.env.SYNCLINE_NATS_SERVER ?? 'nats-server';
}

export function natsServerAvailable(binary = natsServerBinary()): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitReady(child: ChildProcess): Promise<void> {
  let log = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 15 s:\n${log}`)), 15_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (/Server is ready/.test(log)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        // Keep draining output so the server never blocks on a full pipe.
        child.stdout!.resume();
        child.stderr!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code} before it was ready:\n${log}`));
    });
  });
}

async function exit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = opts.binary ?? natsServerBinary();
  if (!natsServerAvailable(binary)) throw new NatsServerMissingError(binary);
  const ownDir = opts.storeDir === undefined;
  const dir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'syncline-nats-')));
  await mkdir(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const config = join(dir, 'nats.conf');
  const trust = opts.trust ?? (await createNatsTrust());
  const tlsLines: string[] = [];
  if (opts.tls) {
    await writeFile(join(dir, 'server-cert.pem'), opts.tls.cert);
    await writeFile(join(dir, 'server-key.pem'), opts.tls.key, { mode: 0o600 });
    tlsLines.push(`tls { cert_file: ${JSON.stringify(join(dir, 'server-cert.pem'))}, key_file: ${JSON.stringify(join(dir, 'server-key.pem'))} }`);
  }
  const lines = [`listen: "127.0.0.1:${port}"`, `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`, natsServerTrustConfig(trust), ...tlsLines];
  if (opts.maxPayload !== undefined) lines.push(`max_payload: ${opts.maxPayload}`);
  if (opts.cluster) {
    const routes = opts.cluster.routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ');
    lines.push(`server_name: ${JSON.stringify(opts.cluster.serverName)}`, `cluster { name: "syncline", listen: "127.0.0.1:${opts.cluster.port}", routes: [${routes}] }`);
  }
  await writeFile(config, lines.join('\n') + '\n');

  const launch = async () => {
    const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitReady(child);
    return child;
  };
  let child = await launch();
  let stopped: Promise<void> | undefined;
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir: dir,
    trust,
    accountKey: trust.accountKey,
    process: child,
    kill: () => exit(child, 'SIGKILL'),
    async start() {
      if (child.exitCode === null && child.signalCode === null) return;
      child = await launch();
      server.process = child;
    },
    stop() {
      stopped ??= (async () => {
        await exit(child, 'SIGTERM');
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  return server;
}

export interface NatsCluster {
  servers: NatsServer[];
  /** Every server's client URL, comma-separated: what coordinator and workers take. */
  urls: string;
  /** The account key every server of the cluster trusts. */
  accountKey: NatsAccountKey;
  stop(): Promise<void>;
}

/** `size` clustered nats-servers with JetStream; each has its own store. */
export async function startNatsCluster(size: number, opts: Pick<NatsServerOptions, 'maxPayload' | 'binary' | 'trust' | 'tls'> = {}): Promise<NatsCluster> {
  const trust = opts.trust ?? (await createNatsTrust());
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a NATS cluster needs at least 1 server, got ${size}`);
  const clusterPorts: number[] = [];
  for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
  // Started together: each waits for its routes (and JetStream for a quorum) while the others come up.
  const started = await Promise.allSettled(
    clusterPorts.map((port, i) => startNatsServer({ ...opts, trust, cluster: { serverName: `syncline-nats-${i}`, port, routes: clusterPorts.filter((_, j) => j !== i) } })),
  );
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  return {
    servers,
    urls: servers.map((s) => s.url).join(','),
    accountKey: trust.accountKey,
    stop: async () => void (await Promise.all(servers.map((s) => s.stop()))),
  };
}
