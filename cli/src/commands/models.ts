// `syncline models`: the latest version of every published model, with its model.json URL.
import { SynclineClient } from '../client.js';

export async function models(opts: { coordinator: string }): Promise<void> {
  const client = new SynclineClient(opts.coordinator);
  try {
    for (const m of await client.models()) {
      const acc = m.metrics ? `  accuracy=${m.metrics.accuracy.toFixed(4)}` : '';
      console.log(`${m.ref!.name}  v${m.ref!.version}  ${m.ref!.url}${acc}`);
    }
  } finally {
    client.close();
  }
}
