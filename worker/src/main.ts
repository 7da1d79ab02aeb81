// Entry point of a worker process: `node --import tsx worker/src/main.ts --coordinator host:port`.
import { readFile } from 'node:fs/promises';
import { enableProdMode } from '@tensorflow/tfjs';
import { Command } from 'commander';
import { pino } from 'pino';
import { selectBackend } from './backend.js';
import { WorkerNode } from './node.js';
import { JobSessions } from './train/sessions.js';

const program = new Command()
  .name('syncline-worker')
  .option('--coordinator <host:port>', 'coordinator gRPC address (env SYNCLINE_COORDINATOR)', process.env.SYNCLINE_COORDINATOR ?? '127.0.0.1:7070')
  .option('--nats <url>', 'NATS URL, overriding the one the coordinator hands out (env SYNCLINE_NATS_URL)', process.env.SYNCLINE_NATS_URL)
  .option('--ca <file>', "PEM of the CA that signed the coordinator's and NATS servers' certificates: reach both over TLS (env SYNCLINE_CA)", process.env.SYNCLINE_CA)
  .option('--backend <name>', 'webgpu, native, tensorflow, wasm or cpu (env SYNCLINE_BACKEND); default: the fastest present (webgpu only on a real GPU; named, it runs on SwiftShader too)', process.env.SYNCLINE_BACKEND)
  .option('--threads <n>', 'threads of the native backend (env SYNCLINE_THREADS); default: every core given to the process', process.env.SYNCLINE_THREADS)
  .option('--id <id>', 'worker id (env SYNCLINE_WORKER_ID)', process.env.SYNCLINE_WORKER_ID)
  .option('--token <token>', 'the worker credential the coordinator requires (env SYNCLINE_WORKER_TOKEN; prefer the variable: flags show in ps)', process.env.SYNCLINE_WORKER_TOKEN)
  .parse();
const opts = program.opts<{ coordinator: string; ca?: string; nats?: string; backend?: string; threads?: string; id?: string; token?: string }>();
const token = opts.token || program.error('no worker credential: set SYNCLINE_WORKER_TOKEN (`syncline up` passes it to its workers; on Kubernetes it comes from the syncline-tokens Secret)');

// Started by `syncline up` with an IPC channel: never outlive the process that started us. The
// channel may have closed already, while this process loaded: the event would not come again.
if (process.send) {
  if (!process.connected) process.exit(0);
  process.on('disconnect', () => process.exit(0));
}

// TF.js prints its advice straight to the terminal (on the first tensor: "install our node
// backend, tfjs-node…", once per process); the worker picks its backend itself and logs which.
// Production mode only silences TF.js's console warnings and logs; it changes no computation.
enableProdMode();
const { name: backend, reason, accelerator } = await selectBackend(opts.backend, { threads: opts.threads });
// JSON lines for log collectors; SYNCLINE_LOG_PRETTY=1 (set by `syncline up`) prints plain lines.
const logger = pino({ name: 'syncline-worker', level: process.env.SYNCLINE_LOG_LEVEL ?? 'info' });
const log = process.env.SYNCLINE_LOG_PRETTY ? (line: string) => console.log(line) : (line: string) => logger.info(line);
log(`worker pid ${process.pid}: backend ${backend} (${reason})`);

const ca = opts.ca ? await readFile(opts.ca, 'utf8').catch((err: Error) => program.error(`--ca: cannot read ${opts.ca}: ${err.message}`)) : undefined;

let stopping = false;
let node: WorkerNode | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

// Reconnect with backoff: a restarted coordinator is re-joined, and a running job is abandoned
// (the coordinator requeues it) rather than finished with nobody to report to.
let delay = 250;
// Job state outlives a connection: after a reconnect the worker can go on from it.
const sessions = new JobSessions();
while (!stopping) {
  node = new WorkerNode({ coordinator: opts.coordinator, token, ...(ca ? { ca } : {}), backend, accelerator, log, ...(process.env.SYNCLINE_LOG_PRETTY ? {} : { logger }), sessions, ...(opts.nats ? { natsUrl: opts.nats } : {}), ...(opts.id ? { workerId: opts.id } : {}) });
  try {
    await node.start();
    delay = 250;
    const reason = await node.closed;
    log(`disconnected: ${reason}`);
  } catch (err) {
    log(`cannot join ${opts.coordinator}: ${err instanceof Error ? err.message : String(err)}`);
  }
  await node.stop().catch(() => undefined);
  if (stopping) break;
  await new Promise((r) => setTimeout(r, delay));
  delay = Math.min(delay * 2, 5000);
}
