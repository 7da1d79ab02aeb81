// One dataset upload, from its header to its record: chunks are parsed as they arrive and each
// full shard is stored at once, so the coordinator holds one shard at a time whatever the file's
// size. After every stored shard the upload's progress (bytes of the file consumed, shards,
// parser state) is written to the uploads bucket: a client whose connection broke asks where to
// resume (GetDatasetUpload) and sends the rest. The dataset record is written last, so jobs never
// see a half-stored dataset; a failed upload deletes its shards.
import { createHash } from 'node:crypto';
import { DatasetUploadHeader, UserDataset, decodeLabels, objectNames, type DatasetShard } from '@syncline/proto';
import type { KV, ObjectStore } from 'nats';
import { DatasetExistsError, DatasetFileError, InvalidRequestError, UploadTooLargeError } from '../errors.js';
import { asFileError, createParser, type ParserState, type Sample, type SampleParser } from './sample-parser.js';
import { ShardWriter } from './shard-writer.js';

/** What the uploads bucket keeps of an upload under way. */
export interface UploadState {
  uploadId: string;
  header: DatasetUploadHeader;
  /** Bytes of the file consumed by the stored shards: where a resumed upload starts. */
  committedBytes: number;
  shards: DatasetShard[];
  samples: number;
  samplesPerShard: number;
  features: number;
  targets: number;
  parser: ParserState;
  updatedUnixMs: number;
}

export interface UploadLimits {
  maxUploadBytes: number;
  shardBytes: number;
}

/** The header fields that must be the same when an upload is resumed. */
export function sameUpload(a: DatasetUploadHeader, b: DatasetUploadHeader): boolean {
  const fixed = (h: DatasetUploadHeader) => JSON.stringify(DatasetUploadHeader.toJSON({ ...h, resumeOffset: 0, totalBytes: 0 }));
  return fixed(a) === fixed(b);
}

export class DatasetUpload {
  private readonly parser: SampleParser;
  private writer?: ShardWriter;
  private received: number;
  private samples: number;
  private readonly shards: DatasetShard[];

  constructor(
    readonly header: DatasetUploadHeader,
    private readonly uploadId: string,
    /** `owner`: the name of the token that uploads it. */
    private readonly deps: { objects: ObjectStore; uploads: KV; datasets: KV; limits: UploadLimits; resumable: boolean; owner: string },
    resume?: UploadState,
  ) {
    this.received = resume?.committedBytes ?? 0;
    this.samples = resume?.samples ?? 0;
    this.shards = resume ? [...resume.shards] : [];
    this.parser = createParser(header, this.received, resume?.parser);
    if (resume && resume.samples > 0) {
      this.writer = new ShardWriter(deps.objects, header.name, uploadId, resume.samplesPerShard, resume.features, resume.targets, resume.shards.length, header.classes);
    }
  }

  /** Bytes of the file consumed so far (stored or held). */
  get bytes(): number {
    return this.received;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.received += chunk.length;
    const { maxUploadBytes } = this.deps.limits;
    if (this.received > maxUploadBytes) throw new UploadTooLargeError(`the file is larger than the coordinator's upload limit of ${maxUploadBytes} bytes (SYNCLINE_MAX_UPLOAD_BYTES)`);
    await this.take(await this.guard(() => this.parser.push(chunk)));
  }

  /** The file has ended: stores the last shard and then the record. */
  async commit(): Promise<UserDataset> {
    await this.take(await this.guard(() => this.parser.finish()));
    const lastShard = await this.writer?.flush();
    if (lastShard) this.shards.push(lastShard);
    const writer = this.writer;
    if (!writer || this.samples === 0) throw new DatasetFileError('the file holds no samples');
    const record = { ...this.describe(writer), ...(await this.classCounts(writer)) };
    try {
      await this.deps.datasets.create(this.header.name, JSON.stringify(UserDataset.toJSON(record)));
    } catch (err) {
      throw new DatasetExistsError(this.header.name, { cause: err });
    }
    await this.deps.uploads.delete(this.uploadId).catch(() => undefined);
    return record;
  }

  /** Deletes what the upload stored: its shards and its progress. */
  async discard(): Promise<void> {
    await discardUpload(this.deps.objects, this.deps.uploads, this.uploadId, this.shards, this.header.name, this.writer ? this.shards.length + 1 : 0);
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw asFileError(err);
    }
  }

  private async take(samples: Sample[]): Promise<void> {
    for (const s of samples) {
      if (!this.writer) this.writer = this.firstSample(s);
      else if (s.x.length !== this.writer.features || s.y.length !== this.writer.targets) throw new DatasetFileError(`sample ${this.samples} has another size than the first`);
      this.checkTargets(s);
      this.samples += 1;
      const shard = await this.writer.add(s);
      if (shard) {
        this.shards.push(shard);
        if (this.deps.resumable && s.end >= 0) await this.saveProgress(s);
      }
    }
  }

  private firstSample(s: Sample): ShardWriter {
    const h = this.header;
    const features = s.x.length;
    const targets = s.y.length;
    const shape = h.inputShape.length ? h.inputShape : [features];
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== features) throw new InvalidRequestError(`header.inputShape: [${shape.join(', ')}] has ${size} elements but the samples have ${features} features`);
    if (h.classes > 0 && targets !== h.classes) throw new DatasetFileError(`the file has ${targets} target values per sample; classification with ${h.classes} classes needs one-hot targets of that size`);
    const perShard = ShardWriter.samplesPerShard(this.deps.limits.shardBytes, features, targets);
    return new ShardWriter(this.deps.objects, h.name, this.uploadId, perShard, features, targets, this.shards.length, h.classes);
  }

  private checkTargets(s: Sample): void {
    if (this.header.classes === 0) return;
    let sum = 0;
    for (const v of s.y) {
      if (v !== 0 && v !== 1) throw new DatasetFileError(`sample ${this.samples}: targets are not one-hot`);
      sum += v;
    }
    if (sum !== 1) throw new DatasetFileError(`sample ${this.samples}: targets are not one-hot`);
  }

  private async saveProgress(s: Sample): Promise<void> {
    const w = this.writer!;
    const state: UploadState = {
      uploadId: this.uploadId,
      header: this.header,
      committedBytes: s.end,
      shards: this.shards,
      samples: this.samples,
      samplesPerShard: w.samplesPerShard,
      features: w.features,
      targets: w.targets,
      parser: this.parser.stateAfter(this.samples, s),
      updatedUnixMs: Date.now(),
    };
    await this.deps.uploads.put(this.uploadId, JSON.stringify({ ...state, header: DatasetUploadHeader.toJSON(this.header) }));
  }

  /**
   * Samples of each class among the training and the held-out samples, from the shards' label
   * indexes (read back: an upload that resumed stored some of them in an earlier connection).
   */
  private async classCounts(w: ShardWriter): Promise<Pick<UserDataset, 'trainClassCounts' | 'heldoutClassCounts'>> {
    const classes = this.header.classes;
    if (classes === 0) return { trainClassCounts: [], heldoutClassCounts: [] };
    const train = this.describe(w).train;
    const counts = { trainClassCounts: new Array<number>(classes).fill(0), heldoutClassCounts: new Array<number>(classes).fill(0) };
    let sample = 0;
    for (const shard of this.shards) {
      const bytes = await this.deps.objects.getBlob(shard.labelsObject);
      if (!bytes) throw new Error(`the label index ${shard.labelsObject} of a stored shard is missing`);
      for (const label of decodeLabels(bytes)) (sample++ < train ? counts.trainClassCounts : counts.heldoutClassCounts)[label]! += 1;
    }
    return counts;
  }

  private describe(w: ShardWriter): UserDataset {
    const h = this.header;
    const total = this.samples;
    const heldout = Math.max(1, Math.round(total * (h.heldoutFraction || 0.2)));
    if (total - heldout < 1) throw new DatasetFileError(`${total} samples leave none for training after holding out ${heldout}`);
    const digest = createHash('sha256');
    for (const s of this.shards) digest.update(s.sha256);
    return {
      name: h.name,
      inputShape: h.inputShape.length ? h.inputShape : [w.features],
      classes: h.classes,
      targetSize: w.targets,
      train: total - heldout,
      heldout,
      sha256: digest.digest('hex'),
      createdUnixMs: Date.now(),
      shards: this.shards,
      samplesPerShard: w.samplesPerShard,
      classNames: h.classNames,
      owner: this.deps.owner,
      trainClassCounts: [],
      heldoutClassCounts: [],
    };
  }
}

/** Deletes an upload's shards (those listed, and any stored after them up to `upTo`) and progress. */
export async function discardUpload(objects: ObjectStore, uploads: KV, uploadId: string, shards: DatasetShard[], name: string, upTo: number): Promise<void> {
  const names = new Set(shards.flatMap((s) => (s.labelsObject ? [s.object, s.labelsObject] : [s.object])));
  for (let i = 0; i < upTo; i++) names.add(objectNames.datasetShard(name, uploadId, i)).add(objectNames.datasetShardLabels(name, uploadId, i));
  for (const object of names) await objects.delete(object).catch(() => undefined);
  await uploads.delete(uploadId).catch(() => undefined);
}
