// Stores a model's files in the JetStream object store that the coordinator's registry serves from.
import { BUCKETS } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { jetstream } from '../jetstream.js';


/** Uploads every file as `<prefix>/<file>`; model.json last, so a reader that finds it finds the shards. */
export async function uploadModelFiles(nc: NatsConnection, prefix: string, files: Map<string, Uint8Array>): Promise<void> {
  const store = await jetstream(nc).views.os(BUCKETS.objects);
  const ordered = [...files.keys()].sort((a, b) => Number(a === 'model.json') - Number(b === 'model.json'));
  for (const name of ordered) {
    await store.putBlob({ name: `${prefix}/${name}` }, files.get(name)!);
  }
}
