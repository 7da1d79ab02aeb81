// User datasets: the canonical tensor file in the object store, its description in a
// key-value bucket. An upload is parsed and checked whole in memory first, the file stored
// next, the record created last: a failed upload leaves nothing a job could see.
import { createHash } from 'node:crypto';
import {
  BUCKETS,
  datasetBucket,
  BUILTIN_DATASETS,
  TensorFileError,
  UserDataset,
  decodeTensorFile,
  encodeTensorFile,
  objectNames,
  type DatasetInfo,
  type DatasetUploadHeader,
  type TensorFile,
} from '@syncline/proto';
import type { KV, NatsConnection, ObjectStore } from 'nats';
import { DatasetExistsError, DatasetFileError, InvalidRequestError } from '../errors.js';
import { kvKeys } from '../store/kv-keys.js';
import { parseCsvDataset } from './csv.js';

/** Largest upload held in memory while it is checked. */
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;


export function userDatasetInfo(d: UserDataset): DatasetInfo {
  return {
    inputShape: d.inputShape,
    input: 'float',
    target: d.classes > 0 ? { kind: 'classes', classes: d.classes } : { kind: 'regression', size: d.targetSize },
    train: d.train,
    heldout: d.heldout,
    description: `user dataset ${d.name}`,
  };
}

function checkHeader(h: DatasetUploadHeader | undefined): DatasetUploadHeader {
  if (!h) throw new InvalidRequestError('the first UploadDataset message must be the header');
  if (!NAME.test(h.name)) throw new InvalidRequestError(`header.name: ${JSON.stringify(h.name)} must be 1-64 letters, digits, '-' or '_'`);
  if (Object.hasOwn(BUILTIN_DATASETS, h.name)) throw new InvalidRequestError(`header.name: ${JSON.stringify(h.name)} is a built-in dataset`);
  if (h.format !== 'csv' && h.format !== 'tensor') throw new InvalidRequestError(`header.format: ${JSON.stringify(h.format)}; expected csv or tensor`);
  if (!Number.isInteger(h.classes) || h.classes < 0 || h.classes > 100_000) throw new InvalidRequestError(`header.classes: must be 0 (regression) or a class count, got ${h.classes}`);
  if (h.heldoutFraction !== 0 && !(h.heldoutFraction > 0 && h.heldoutFraction < 1)) {
    throw new InvalidRequestError(`header.heldoutFraction: must be in (0, 1), got ${h.heldoutFraction}`);
  }
  return h;
}

/** Checks the parsed file against the header: shape, one-hot targets for classes. */
function describe(h: DatasetUploadHeader, t: TensorFile): Omit<UserDataset, 'sha256' | 'createdUnixMs'> {
  const inputShape = h.inputShape.length ? h.inputShape : [t.features];
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (size !== t.features) throw new InvalidRequestError(`header.inputShape: [${inputShape.join(', ')}] has ${size} elements but the samples have ${t.features} features`);
  if (h.classes > 0) {
    if (t.targets !== h.classes) throw new DatasetFileError(`the file has ${t.targets} target values per sample; classification with ${h.classes} classes needs one-hot targets of that size`);
    for (let i = 0; i < t.samples; i++) {
      const row = t.y.subarray(i * t.targets, (i + 1) * t.targets);
      if (row.some((v) => v !== 0 && v !== 1) || row.reduce((a, b) => a + b, 0) !== 1) throw new DatasetFileError(`sample ${i}: targets are not one-hot`);
    }
  }
  const heldout = Math.max(1, Math.round(t.samples * (h.heldoutFraction || 0.2)));
  if (t.samples - heldout < 1) throw new DatasetFileError(`${t.samples} samples leave none for training after holding out ${heldout}`);
  return { name: h.name, inputShape, classes: h.classes, targetSize: t.targets, train: t.samples - heldout, heldout };
}

export class DatasetStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly replicas: number,
  ) {}

  /** `replicas`: of each dataset's object store (one per dataset, so a worker's credentials can allow one). */
  static async open(nc: NatsConnection, replicas = 1): Promise<DatasetStore> {
    const js = nc.jetstream();
    return new DatasetStore(nc, await js.views.kv(BUCKETS.datasets, { history: 1 }), replicas);
  }

  async get(name: string): Promise<UserDataset | undefined> {
    const entry = await this.kv.get(name);
    return entry && entry.operation === 'PUT' ? UserDataset.fromJSON(entry.json()) : undefined;
  }

  async list(): Promise<UserDataset[]> {
    const out: UserDataset[] = [];
    for (const name of await kvKeys(this.nc, BUCKETS.datasets)) {
      const d = await this.get(name);
      if (d) out.push(d);
    }
    return out;
  }

  /** Parses, checks and stores an upload; throws without storing anything on any problem. */
  async upload(headerIn: DatasetUploadHeader | undefined, bytes: Uint8Array): Promise<UserDataset> {
    const header = checkHeader(headerIn);
    if (await this.get(header.name)) throw new DatasetExistsError(header.name);
    let parsed: TensorFile;
    try {
      parsed = header.format === 'csv' ? parseCsvDataset(bytes, header) : decodeTensorFile(bytes);
    } catch (err) {
      if (err instanceof TensorFileError) throw new DatasetFileError(`tensor file: ${err.message}`, { cause: err });
      throw err;
    }
    const description = describe(header, parsed);
    const canonical = encodeTensorFile(parsed);
    const record: UserDataset = { ...description, sha256: createHash('sha256').update(canonical).digest('hex'), createdUnixMs: Date.now() };
    const objects = await this.nc.jetstream().views.os(datasetBucket(header.name), { replicas: this.replicas });
    await objects.putBlob({ name: objectNames.dataset(header.name, record.sha256) }, canonical);
    try {
      await this.kv.create(header.name, JSON.stringify(UserDataset.toJSON(record)));
    } catch (err) {
      throw new DatasetExistsError(header.name, { cause: err });
    }
    return record;
  }
}
