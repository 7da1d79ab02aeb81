// `syncline up`: a local cluster that runs until interrupted.
import { startLocalCluster } from '../local-cluster.js';

export async function up(opts: { workers: string; grpcPort: string; httpPort: string; verbose?: boolean }): Promise<void> {
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${opts.workers}`);
  const log = (line: string) => console.error(line);
  // Listen before starting anything: an interrupt while workers start must stop nats-server too.
  const interrupted = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupted.abort(new Error(`${signal} while starting`)));
  let cluster;
  try {
    cluster = await startLocalCluster({
      workers,
      grpcPort: Number(opts.grpcPort),
      httpPort: Number(opts.httpPort),
      ...(process.env.SYNCLINE_NATS_URL ? { natsUrl: process.env.SYNCLINE_NATS_URL } : {}),
      signal: interrupted.signal,
      log,
    });
  } catch (err) {
    if (!interrupted.signal.aborted) throw err;
    console.error('interrupted while starting; stopped everything started');
    return;
  }
  console.log(`coordinator=${cluster.coordinator.grpcAddress} http=${cluster.coordinator.httpUrl} nats=${cluster.natsUrl}`);
  if (!interrupted.signal.aborted) {
    await new Promise<void>((resolve) => interrupted.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  console.error('stopping the local cluster');
  await cluster.stop();
}
