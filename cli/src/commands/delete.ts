// `syncline delete job|model|dataset <id or name>`: by the owner or an admin.
import { SynclineClient } from '../client.js';
import type { ConnectOptions } from '../config.js';
import { UsageError } from '../errors.js';

export async function remove(kind: string, target: string, opts: ConnectOptions): Promise<void> {
  if (kind !== 'job' && kind !== 'model' && kind !== 'dataset') throw new UsageError(`delete what? job, model or dataset, got ${JSON.stringify(kind)}`);
  const client = await SynclineClient.open(opts);
  try {
    if (kind === 'job') {
      await client.deleteJob(target);
      console.log(`deleted job ${target}`);
    } else if (kind === 'model') {
      const versions = await client.deleteModel(target);
      console.log(`deleted model ${target} (${versions} version${versions === 1 ? '' : 's'})`);
    } else {
      await client.deleteDataset(target);
      console.log(`deleted dataset ${target}`);
    }
  } finally {
    client.close();
  }
}
