// Entry point of the coordinator process.
import { Command } from 'commander';
import { pino } from 'pino';
import { startCoordinator } from './coordinator.js';
import { lineLogger } from './logging.js';

const env = process.env;
const program = new Command()
  .name('syncline-coordinator')
  .option('--nats <url>', 'NATS server with JetStream (env SYNCLINE_NATS_URL)', env.SYNCLINE_NATS_URL ?? 'nats://127.0.0.1:4222')
  .option('--worker-nats <url>', 'NATS URL handed to workers (env SYNCLINE_WORKER_NATS_URL); default: --nats', env.SYNCLINE_WORKER_NATS_URL)
  .option('--host <host>', 'address to listen on (env SYNCLINE_HOST)', env.SYNCLINE_HOST ?? '127.0.0.1')
  .option('--grpc-port <port>', 'gRPC port (env SYNCLINE_GRPC_PORT)', env.SYNCLINE_GRPC_PORT ?? '7070')
  .option('--http-port <port>', 'HTTP registry port (env SYNCLINE_HTTP_PORT)', env.SYNCLINE_HTTP_PORT ?? '7080')
  .option('--http-public-url <url>', 'base URL clients use to reach the HTTP registry (env SYNCLINE_HTTP_PUBLIC_URL)', env.SYNCLINE_HTTP_PUBLIC_URL)
  .option('--registry-cache-mb <mb>', 'MiB of published model files the registry keeps in memory (env SYNCLINE_REGISTRY_CACHE_MB)', env.SYNCLINE_REGISTRY_CACHE_MB ?? '256')
  .parse();
const o = program.opts<{ nats: string; workerNats?: string; host: string; grpcPort: string; httpPort: string; httpPublicUrl?: string; registryCacheMb: string }>();
const cacheMb = Number(o.registryCacheMb);
if (!(cacheMb >= 0)) program.error(`--registry-cache-mb: expected a number of MiB, got ${JSON.stringify(o.registryCacheMb)}`);

// JSON lines for log collectors; SYNCLINE_LOG_PRETTY=1 (set by `syncline up`) prints plain lines.
const level = process.env.SYNCLINE_LOG_LEVEL ?? 'info';
const logger = process.env.SYNCLINE_LOG_PRETTY ? lineLogger((line) => console.log(line), level) : pino({ name: 'syncline-coordinator', level });
const log = (line: string) => logger.info(line);
const coordinator = await startCoordinator({
  natsUrl: o.nats,
  host: o.host,
  grpcPort: Number(o.grpcPort),
  httpPort: Number(o.httpPort),
  log,
  logger,
  registryCacheBytes: Math.round(cacheMb * 1024 * 1024),
  ...(o.workerNats ? { workerNatsUrl: o.workerNats } : {}),
  ...(o.httpPublicUrl ? { httpPublicUrl: o.httpPublicUrl } : {}),
});
logger.info({ coordinator: coordinator.grpcAddress, http: coordinator.httpUrl, nats: o.nats }, 'coordinator ready');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void coordinator.stop().finally(() => process.exit(0)));
}
