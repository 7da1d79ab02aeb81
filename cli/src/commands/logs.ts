// `syncline logs <jobId>`: the job's event log — submitted, running, membership changes,
// waiting, the outcome — with each rank's errors and lost workers, oldest first.
import { JobLogEntry } from '@syncline/proto';
import { SynclineClient } from '../client.js';
import type { ConnectOptions } from '../config.js';

export function formatEntry(e: JobLogEntry): string {
  const where = [
    e.generation > 0 ? `g${e.generation}` : '',
    e.rank >= 0 ? `rank ${e.rank}` : '',
    e.workerId ? `(${e.workerId})` : '',
    e.step > 0 ? `step ${e.step}` : '',
  ].filter(Boolean);
  const metrics = e.metrics ? `  loss=${e.metrics.loss.toPrecision(4)} accuracy=${e.metrics.accuracy.toFixed(4)} samples/s=${Math.round(e.metrics.samplesPerSecond)}` : '';
  return `${new Date(e.unixMs).toISOString()}  ${e.level.toUpperCase().padEnd(5)}  ${e.kind.padEnd(11)}  ${where.length ? `${where.join(' ')}: ` : ''}${e.message}${metrics}`;
}

export async function logs(jobId: string, opts: ConnectOptions & { json?: boolean; metrics?: boolean }): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    const res = await client.jobLog(jobId, opts.metrics ?? false);
    for (const e of res.entries) console.log(opts.json ? JSON.stringify(JobLogEntry.toJSON(e)) : formatEntry(e));
  } finally {
    client.close();
  }
}
