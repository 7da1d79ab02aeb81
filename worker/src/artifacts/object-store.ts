// Stores a model's files in the job's JetStream object store, which the coordinator's registry serves from.
import { jobBucket, retryTransient, type RetryOptions } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { jetstream } from '../jetstream.js';

/**
 * Uploads every file as `<prefix>/<file>` into jobBucket(jobId); model.json last, so a reader that finds it finds the
 * shards. Each file is retried through NATS outages (a put overwrites what a failed one left);
 * `afterEach` runs after each file.
 */
export async function uploadModelFiles(nc: NatsConnection, jobId: string, prefix: string, files: Map<string, Uint8Array>, opts: RetryOptions & { afterEach?: (name: string) => void } = {}): Promise<void> {
  const store = await retryTransient(() => jetstream(nc).views.os(jobBucket(jobId)), opts);
  const ordered = [...files.keys()].sort((a, b) => Number(a === 'model.json') - Number(b === 'model.json'));
  for (const name of ordered) {
    await retryTransient(() => store.putBlob({ name: `${prefix}/${name}` }, files.get(name)!), opts);
    opts.afterEach?.(name);
  }
}
