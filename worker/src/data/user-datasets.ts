// User datasets, fetched from the coordinator's object store once per worker and cached in
// memory and on disk (by content hash), verified against the sha256 in their record.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUCKETS, UserDataset, datasetBucket, decodeTensorFile, objectNames } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { jetstream } from '../jetstream.js';
import type { Dataset } from './dataset.js';

const memory = new Map<string, Dataset>();

export class DatasetUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetUnavailableError';
  }
}

function cacheDir(): string {
  return process.env.SYNCLINE_DATASET_CACHE ?? join(tmpdir(), 'syncline-datasets');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function fetchBytes(nc: NatsConnection, record: UserDataset): Promise<Uint8Array> {
  const file = join(cacheDir(), `${record.sha256}.synt`);
  const cached = await readFile(file).catch(() => undefined);
  if (cached && sha256(cached) === record.sha256) return cached;
  const store = await jetstream(nc).views.os(datasetBucket(record.name));
  const bytes = await store.getBlob(objectNames.dataset(record.name, record.sha256));
  if (!bytes) throw new DatasetUnavailableError(`dataset ${record.name}: its file is missing from the object store`);
  if (sha256(bytes) !== record.sha256) throw new DatasetUnavailableError(`dataset ${record.name}: the stored file does not match its sha256`);
  await mkdir(cacheDir(), { recursive: true });
  // Write then rename, so a crash never leaves a half-written cache file under the final name.
  await writeFile(`${file}.${process.pid}.tmp`, bytes);
  await rename(`${file}.${process.pid}.tmp`, file);
  return bytes;
}

export async function loadUserDataset(nc: NatsConnection, name: string): Promise<Dataset> {
  const kv = await jetstream(nc).views.kv(BUCKETS.datasets);
  const entry = await kv.get(name);
  if (!entry || entry.operation !== 'PUT') throw new DatasetUnavailableError(`dataset ${JSON.stringify(name)} is neither built in nor uploaded`);
  const record = UserDataset.fromJSON(entry.json());
  const key = `${name}@${record.sha256}`;
  const hit = memory.get(key);
  if (hit) return hit;
  const t = decodeTensorFile(await fetchBytes(nc, record));
  const split = (from: number, count: number) => ({
    x: t.x.subarray(from * t.features, (from + count) * t.features),
    y: t.y.subarray(from * t.targets, (from + count) * t.targets),
    count,
  });
  const dataset: Dataset = {
    name,
    inputShape: record.inputShape,
    featureSize: t.features,
    target: record.classes > 0 ? { kind: 'classes', classes: record.classes } : { kind: 'regression', size: record.targetSize },
    targetSize: t.targets,
    train: split(0, record.train),
    heldout: split(record.train, record.heldout),
  };
  memory.set(key, dataset);
  return dataset;
}
