// User datasets: shards in an object store of their own (one per dataset, so a worker's NATS
// credentials can allow the one it trains on), the record (the dataset's manifest: shards, sample
// counts, shape, class names) in a key-value bucket, written last. Uploads under way keep their
// progress in a bucket of their own, so a broken one can be resumed (see upload.ts).
import { randomUUID } from 'node:crypto';
import { BUCKETS, BUILTIN_DATASETS, DatasetUploadHeader, UserDataset, datasetBucket, objectNames, retryTransient, type DatasetInfo, type GetDatasetUploadResponse } from '@syncline/proto';
import type { KV, NatsConnection, ObjectStore } from 'nats';
import { DatasetExistsError, InvalidRequestError, UploadResumeError, UploadTooLargeError } from '../errors.js';
import { kvKeys } from '../store/kv-keys.js';
import { DatasetUpload, discardUpload, sameUpload, type UploadLimits, type UploadState } from './upload.js';

/** Default largest upload (SYNCLINE_MAX_UPLOAD_BYTES): 16 GiB. */
export const MAX_UPLOAD_BYTES = 16 * 1024 ** 3;
/** Default bytes of samples per shard (SYNCLINE_DATASET_SHARD_BYTES): 16 MiB. */
export const SHARD_BYTES = 16 * 1024 * 1024;
/** The range a header's shard_bytes may ask for. */
export const SHARD_BYTES_RANGE = [4096, 64 * 1024 * 1024] as const;
/** An upload left unfinished this long is deleted (shards and progress). */
export const UPLOAD_TTL_MS = 24 * 3600_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function userDatasetInfo(d: UserDataset): DatasetInfo {
  return {
    inputShape: d.inputShape,
    input: 'float',
    target: d.classes > 0 ? { kind: 'classes', classes: d.classes } : { kind: 'regression', size: d.targetSize },
    train: d.train,
    heldout: d.heldout,
    ...(d.trainClassCounts.length > 0 ? { classCounts: { train: d.trainClassCounts, heldout: d.heldoutClassCounts } } : {}),
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
  if (h.classNames.length > 0 && h.classNames.length !== h.classes) throw new InvalidRequestError(`header.classNames: ${h.classNames.length} names for ${h.classes} classes`);
  if (h.uploadId && !NAME.test(h.uploadId)) throw new InvalidRequestError(`header.uploadId: ${JSON.stringify(h.uploadId)} must be 1-64 letters, digits, '-' or '_'`);
  if (h.resumeOffset > 0 && !h.uploadId) throw new InvalidRequestError('header.resumeOffset: only an upload with an uploadId can be resumed');
  const [min, max] = SHARD_BYTES_RANGE;
  if (h.shardBytes !== 0 && (h.shardBytes < min || h.shardBytes > max)) throw new InvalidRequestError(`header.shardBytes: must be 0 (the default) or ${min} to ${max}, got ${h.shardBytes}`);
  return h;
}

export class DatasetStore {
  /** Uploads streaming into this coordinator now, by id: one stream per upload at a time. */
  private readonly active = new Set<string>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly uploads: KV,
    private readonly limits: UploadLimits,
    private readonly replicas: number,
  ) {}

  /** `replicas`: of each dataset's object store. */
  static async open(nc: NatsConnection, limits: Partial<UploadLimits> = {}, replicas = 1): Promise<DatasetStore> {
    const js = nc.jetstream();
    return new DatasetStore(nc, await js.views.kv(BUCKETS.datasets, { history: 1 }), await js.views.kv(BUCKETS.uploads, { history: 1 }), {
      maxUploadBytes: limits.maxUploadBytes ?? MAX_UPLOAD_BYTES,
      shardBytes: limits.shardBytes ?? SHARD_BYTES,
    }, replicas);
  }

  /** The object store of dataset `name` (created on first use). */
  private objects(name: string): Promise<ObjectStore> {
    return this.nc.jetstream().views.os(datasetBucket(name), { replicas: this.replicas });
  }

  async get(name: string): Promise<UserDataset | undefined> {
    const entry = await retryTransient(() => this.kv.get(name));
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

  private async progress(uploadId: string): Promise<UploadState | undefined> {
    const entry = await this.uploads.get(uploadId);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const raw = entry.json<UploadState & { header: unknown }>();
    return { ...raw, header: DatasetUploadHeader.fromJSON(raw.header) };
  }

  /** How far an unfinished upload got. */
  async uploadProgress(uploadId: string): Promise<GetDatasetUploadResponse> {
    if (!uploadId) throw new InvalidRequestError('uploadId: required');
    const state = await this.progress(uploadId);
    if (!state) return { uploadId, name: '', committedBytes: 0, committedShards: 0, committedSamples: 0 };
    return { uploadId, name: state.header.name, committedBytes: state.committedBytes, committedShards: state.shards.length, committedSamples: state.samples };
  }

  /**
   * Starts (or, with header.resumeOffset, resumes) an upload. The caller feeds it the file's
   * chunks, then commits it, or discards it on a failure, or calls `release` when the
   * connection broke (a resumable upload then keeps its progress).
   */
  async begin(headerIn: DatasetUploadHeader | undefined, owner = ''): Promise<ActiveUpload> {
    const header = checkHeader(headerIn);
    const { maxUploadBytes } = this.limits;
    if (header.totalBytes > maxUploadBytes) throw new UploadTooLargeError(`the file (${header.totalBytes} bytes) is larger than the coordinator's upload limit of ${maxUploadBytes} bytes (SYNCLINE_MAX_UPLOAD_BYTES)`);
    if (await this.get(header.name)) throw new DatasetExistsError(header.name);
    await this.sweep();
    const resumable = header.uploadId !== '';
    const uploadId = header.uploadId || randomUUID();
    // A resume may arrive before this coordinator noticed that the broken stream ended.
    for (let waited = 0; this.active.has(uploadId) && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    if (this.active.has(uploadId)) throw new UploadResumeError(`upload ${uploadId} is already streaming`);
    let resume: UploadState | undefined;
    if (resumable) {
      resume = await this.progress(uploadId);
      const committed = resume?.committedBytes ?? 0;
      if (header.resumeOffset !== committed) {
        throw new UploadResumeError(`upload ${uploadId} has ${committed} bytes stored; resume from byte ${committed}, not ${header.resumeOffset}`);
      }
      if (resume && !sameUpload(resume.header, header)) throw new UploadResumeError(`upload ${uploadId} was started with another header; resume it with the same name, format and options`);
    }
    this.active.add(uploadId);
    const shardBytes = header.shardBytes || this.limits.shardBytes;
    const upload = new DatasetUpload(header, uploadId, { objects: await this.objects(header.name), uploads: this.uploads, datasets: this.kv, limits: { ...this.limits, shardBytes }, resumable, owner }, resume);
    const release = () => this.active.delete(uploadId);
    return Object.assign(upload, { release });
  }

  /** Deletes uploads nobody resumed for UPLOAD_TTL_MS. */
  private async sweep(): Promise<void> {
    for (const id of await kvKeys(this.nc, BUCKETS.uploads)) {
      if (this.active.has(id)) continue;
      const state = await this.progress(id).catch(() => undefined);
      if (state && Date.now() - state.updatedUnixMs > UPLOAD_TTL_MS) await discardUpload(await this.objects(state.header.name), this.uploads, id, state.shards, state.header.name, state.shards.length + 1);
    }
  }

  /** Removes the record first (no job can start on it after), then its shards (or its one file). */
  async delete(dataset: UserDataset): Promise<void> {
    await this.kv.delete(dataset.name);
    // The dataset's store holds nothing else.
    await (await this.objects(dataset.name)).destroy().catch(() => undefined);
  }
}

export type ActiveUpload = DatasetUpload & { release(): void };
