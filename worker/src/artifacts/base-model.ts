// The base model of a transfer-learning job (model.base): a registered model version's files,
// read from the object store the registry serves from and verified against the sha256 digests
// of its model.json, as TF.js model artifacts. Kept in memory per version: generations and
// ranks in one process load it once.
import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import { BUCKETS, jobBucket, versionKey } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { jetstream } from '../jetstream.js';

export class BaseModelUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BaseModelUnavailableError';
  }
}

interface ModelJson {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[]; sha256?: string[] }[];
}

const loaded = new Map<string, tf.io.ModelArtifacts>();

/** Model artifacts from a model.json and a reader of the files beside it; checks each shard's digest. */
export async function artifactsFromFiles(modelJson: Uint8Array, read: (path: string) => Promise<Uint8Array | undefined>, what: string): Promise<tf.io.ModelArtifacts> {
  const json = JSON.parse(new TextDecoder().decode(modelJson)) as ModelJson;
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const [i, path] of group.paths.entries()) {
      const bytes = await read(path);
      if (!bytes) throw new BaseModelUnavailableError(`${what}: weight file ${path} is missing`);
      const digest = group.sha256?.[i];
      if (digest && createHash('sha256').update(bytes).digest('hex') !== digest) throw new BaseModelUnavailableError(`${what}: weight file ${path} does not match its sha256`);
      parts.push(bytes);
    }
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    weightData.set(p, offset);
    offset += p.byteLength;
  }
  return { modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer };
}

export async function loadBaseArtifacts(nc: NatsConnection, name: string, version: number): Promise<tf.io.ModelArtifacts> {
  const key = versionKey(name, version);
  const hit = loaded.get(key);
  if (hit) return hit;
  const what = `base model ${name} v${version}`;
  const js = jetstream(nc);
  const entry = await (await js.views.kv(BUCKETS.models)).get(key);
  if (!entry || entry.operation !== 'PUT') throw new BaseModelUnavailableError(`${what} is not in the registry`);
  const { artifactPrefix, jobId } = entry.json<{ artifactPrefix: string; jobId: string }>();
  // The files are in the store of the job that trained the model; this worker's NATS credentials allow reading it.
  const store = await js.views.os(jobBucket(jobId));
  const modelJson = await store.getBlob(`${artifactPrefix}/model.json`);
  if (!modelJson) throw new BaseModelUnavailableError(`${what}: model.json is missing from the object store`);
  const artifacts = await artifactsFromFiles(modelJson, async (path) => (await store.getBlob(`${artifactPrefix}/${path}`)) ?? undefined, what);
  loaded.set(key, artifacts);
  return artifacts;
}
