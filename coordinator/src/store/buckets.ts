// Creates Syncline's key-value buckets and object store with the replica count the deployment
// asks for (3 on a three-node NATS cluster: any one node may then be lost), before anything
// opens them (opening an existing bucket never changes its settings). A bucket that exists with
// another replica count is changed to it.
import { BUCKETS } from '@syncline/proto';
import type { NatsConnection } from 'nats';

/** The key-value buckets; each keeps only the latest value of a key. */
const KV_BUCKETS = [BUCKETS.jobs, BUCKETS.models, BUCKETS.datasets, BUCKETS.uploads, BUCKETS.tokens, BUCKETS.modelOwners];

/**
 * Creates an object store of one job or dataset before anyone else opens it: workers may only
 * open it (their credentials cannot create streams), and it takes the deployment's replicas.
 */
export async function ensureObjectBucket(nc: NatsConnection, bucket: string, replicas: number): Promise<void> {
  await nc.jetstream().views.os(bucket, { replicas });
}

export async function ensureBuckets(nc: NatsConnection, replicas: number): Promise<void> {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new RangeError(`replicas must be 1 to 5, got ${replicas}`);
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const streams = [...KV_BUCKETS.map((b) => `KV_${b}`), `OBJ_${BUCKETS.objects}`];
  for (const [i, stream] of streams.entries()) {
    const info = await jsm.streams.info(stream).catch((err: Error) => {
      if (/stream not found/i.test(err.message)) return undefined;
      throw err;
    });
    if (info === undefined) {
      if (i < KV_BUCKETS.length) await js.views.kv(KV_BUCKETS[i]!, { history: 1, replicas });
      else await js.views.os(BUCKETS.objects, { replicas });
    } else if (info.config.num_replicas !== replicas) {
      await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
    }
  }
}
