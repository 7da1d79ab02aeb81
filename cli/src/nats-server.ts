// Starts a real nats-server with JetStream on a free loopback port, for the local cluster and tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  /** The server's max_payload in bytes (default: nats-server's own, 1 MiB). */
  maxPayload?: number;
  /** Binary to run (default: nats-server on PATH, or SYNCLINE_NATS_SERVER). */
  binary?: string;
  /** Folder for JetStream storage; a new temporary folder (removed on stop) by default. */
  storeDir?: string;
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

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = opts.binary ?? natsServerBinary();
  if (!natsServerAvailable(binary)) throw new NatsServerMissingError(binary);
  const ownDir = opts.storeDir === undefined;
  const dir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'syncline-nats-')));
  const config = join(dir, 'nats.conf');
  const lines = ['listen: "127.0.0.1:-1"', `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`];
  if (opts.maxPayload !== undefined) lines.push(`max_payload: ${opts.maxPayload}`);
  await writeFile(config, lines.join('\n') + '\n');

  const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 15 s:\n${log}`)), 15_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code} before it was ready:\n${log}`));
    });
  });
  // Keep draining output so the server never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();

  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir: dir,
    process: child,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
