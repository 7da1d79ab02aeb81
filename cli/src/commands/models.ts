// `syncline models`: the latest version of every published model, with its model.json URL.
import { SynclineClient } from '../client.js';
import type { ConnectOptions } from '../config.js';

export async function models(opts: ConnectOptions): Promise<void> {
  const client = await SynclineClient.open(opts);
  try {
    for (const m of await client.models()) {
      const acc = m.metrics ? `  accuracy=${m.metrics.accuracy.toFixed(4)}` : '';
      console.log(`${m.ref!.name}  v${m.ref!.version}  ${m.ref!.url}${acc}`);
    }
  } finally {
    client.close();
  }
}
