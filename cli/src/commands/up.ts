// `syncline up`: a local cluster that runs until interrupted.
import { startLocalCluster } from '../local-cluster.js';

export async function up(opts: { workers: string; grpcPort: string; httpPort: string; verbose?: boolean }): Promise<void> {
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${opts.workers}`);
  const log = (line: string) => console.error(line);
  const cluster = await startLocalCluster({
    workers,
    grpcPort: Number(opts.grpcPort),
    httpPort: Number(opts.httpPort),
    ...(process.env.SYNCLINE_NATS_URL ? { natsUrl: process.env.SYNCLINE_NATS_URL } : {}),
    log,
  });
  console.log(`coordinator=${cluster.coordinator.grpcAddress} http=${cluster.coordinator.httpUrl} nats=${cluster.natsUrl}`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  console.error('stopping the local cluster');
  await cluster.stop();
}
