// Gathers parsed samples into shards of about `shardBytes` and stores each, as a tensor file of
// consecutive samples, the moment it is full: an upload holds at most one shard in memory.
// A classification dataset's shard gets its label index beside it (proto/src/label-index.ts).
import { createHash } from 'node:crypto';
import { encodeLabels, encodeTensorFile, labelOf, objectNames, type DatasetShard } from '@syncline/proto';
import type { ObjectStore } from 'nats';
import type { Sample } from './sample-parser.js';

export class ShardWriter {
  private x?: Float32Array;
  private y?: Float32Array;
  private held = 0;

  constructor(
    private readonly objects: ObjectStore,
    private readonly name: string,
    private readonly uploadId: string,
    readonly samplesPerShard: number,
    readonly features: number,
    readonly targets: number,
    /** Index of the next shard (after a resume, the shards already stored). */
    private next: number,
    /** Classes of a classification dataset (its shards get label indexes); 0 for regression. */
    private readonly classes = 0,
  ) {}

  /** Samples per shard for samples of this size: as many as fit in `shardBytes`, at least one. */
  static samplesPerShard(shardBytes: number, features: number, targets: number): number {
    return Math.max(1, Math.floor(shardBytes / (4 * (features + targets))));
  }

  /** Adds a sample; resolves with the shard it completed and stored, if it completed one. */
  async add(s: Sample): Promise<DatasetShard | undefined> {
    this.x ??= new Float32Array(this.samplesPerShard * this.features);
    this.y ??= new Float32Array(this.samplesPerShard * this.targets);
    this.x.set(s.x, this.held * this.features);
    this.y.set(s.y, this.held * this.targets);
    this.held += 1;
    return this.held === this.samplesPerShard ? this.store() : undefined;
  }

  /** Stores the samples held (the last, short shard). */
  async flush(): Promise<DatasetShard | undefined> {
    return this.held > 0 ? this.store() : undefined;
  }

  private async store(): Promise<DatasetShard> {
    const n = this.held;
    const bytes = encodeTensorFile({ samples: n, features: this.features, targets: this.targets, x: this.x!.subarray(0, n * this.features), y: this.y!.subarray(0, n * this.targets) });
    const object = objectNames.datasetShard(this.name, this.uploadId, this.next);
    await this.objects.putBlob({ name: object }, bytes);
    const labels = this.classes > 0 ? await this.storeLabels(n) : { labelsObject: '', labelsSha256: '' };
    this.next += 1;
    this.held = 0;
    return { object, samples: n, bytes: bytes.length, sha256: sha256(bytes), ...labels };
  }

  private async storeLabels(n: number): Promise<Pick<DatasetShard, 'labelsObject' | 'labelsSha256'>> {
    const labels = Array.from({ length: n }, (_, i) => labelOf(this.y!.subarray(i * this.targets, (i + 1) * this.targets)));
    const bytes = encodeLabels(labels);
    const labelsObject = objectNames.datasetShardLabels(this.name, this.uploadId, this.next);
    await this.objects.putBlob({ name: labelsObject }, bytes);
    return { labelsObject, labelsSha256: sha256(bytes) };
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
