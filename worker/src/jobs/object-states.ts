// Checkpoints and generation states in the job's JetStream object store, retried through NATS outages.
import { jobBucket, retryTransient, type Logger } from '@syncline/proto';
import type { NatsConnection, ObjectStore } from 'nats';
import { jetstream } from '../jetstream.js';
import type { StateStore } from '../train/generation-start.js';

/**
 * The store is opened on first use, never eagerly: training blocks the event loop for whole
 * steps, and a request left waiting meanwhile would time out with nobody to catch it.
 */
export function objectStates(nc: NatsConnection, jobId: string, logger?: Logger, signal?: AbortSignal): StateStore {
  let store: Promise<ObjectStore> | undefined;
  const open = () => (store ??= jetstream(nc).views.os(jobBucket(jobId)).catch((err: unknown) => {
    store = undefined;
    throw err;
  }));
  const retried = <T>(what: string, name: string, fn: () => Promise<T>) =>
    retryTransient(fn, { ...(signal ? { signal } : {}), onRetry: (err, attempt, delayMs) => logger?.warn({ object: name, attempt, delayMs, err: String(err) }, `${what} failed; retrying`) });
  return {
    save: (name, bytes) => retried('storing a state', name, async () => void (await (await open()).putBlob({ name }, bytes))),
    load: (name) => retried('loading a state', name, async () => (await (await open()).getBlob(name)) ?? undefined),
  };
}
