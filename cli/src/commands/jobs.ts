// `syncline jobs` and `syncline cancel <jobId>`.
import { SynclineClient, stateName } from '../client.js';
import type { ConnectOptions } from '../config.js';

export async function jobs(opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    for (const job of await client.list()) {
      const progress = job.lastMetrics ? `step ${job.lastMetrics.step}/${job.totalSteps}` : `0/${job.totalSteps} steps`;
      const result = job.result ? ` accuracy=${job.result.accuracy.toFixed(4)}` : '';
      console.log(`${job.id}  ${job.spec?.name ?? ''}  ${stateName(job.state)}  ${progress}${result}${job.error ? `  (${job.error})` : ''}`);
    }
  } finally {
    client.close();
  }
}

export async function cancel(jobId: string, opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    const job = await client.cancel(jobId);
    console.log(`${job.id}  ${stateName(job.state)}`);
  } finally {
    client.close();
  }
}
