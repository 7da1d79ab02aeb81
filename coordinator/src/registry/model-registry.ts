// Published models: versions in a key-value bucket, files in the job's object store that rank 0
// uploaded to. Publishing registers the next version of a name for a job's artifacts.
// Reads are served from memory: the version index follows the bucket, files and rendered
// model.json bodies are kept in a bounded cache after their first read.
import { randomUUID } from 'node:crypto';
import { BUCKETS, FinalMetrics, PublishedModel, isTransientNatsError, jobBucket, retryTransient, versionKey } from '@syncline/proto';
import type { KV, NatsConnection, ObjectStore } from 'nats';
import { ModelNotFoundError } from '../errors.js';
import { kvKeys } from '../store/kv-keys.js';
import { FileCache, type CachedFile } from './file-cache.js';
import { quantizeModel, variantWeightBytes, QUANTIZATIONS, type Quantization } from './quantize.js';
import type { ModelSignature, ModelSigner } from './signing.js';
import { VersionIndex, type VersionRecord } from './version-index.js';

export interface ResolvedModel {
  name: string;
  version: number;
  jobId: string;
  artifactPrefix: string;
  createdUnixMs: number;
  metrics: FinalMetrics | undefined;
  signature: ModelSignature | undefined;
}

export type Variant = 'float32' | Quantization;

/** What a version weighs in each variant: model.json's size is left out (a few kB). */
export interface VariantSize {
  variant: Variant;
  weightBytes: number;
  /** Whether the variant's files exist yet (quantized ones are made on first request). */
  generated: boolean;
}

export class ModelRegistry {
  /** Variants known to be complete in the object store, and generations under way, by prefix. */
  private readonly variantsReady = new Set<string>();
  private readonly variantsPending = new Map<string, Promise<void>>();
  private readonly resolved = new WeakMap<VersionRecord, ResolvedModel>();
  /** The shard paths each cached model.json names. */
  private readonly paths = new WeakMap<CachedFile, Set<string>>();
  /** Each job's object store, opened once. */
  private readonly stores = new Map<string, Promise<ObjectStore>>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly index: VersionIndex,
    private readonly files: FileCache,
    private readonly signer: ModelSigner | undefined,
  ) {}

  /** `cacheBytes`: how many bytes of published files to keep in memory; `signer`: signs what is published (unsigned without). */
  static async open(nc: NatsConnection, opts: { cacheBytes?: number; signer?: ModelSigner } = {}): Promise<ModelRegistry> {
    const js = nc.jetstream();
    const kv = await js.views.kv(BUCKETS.models, { history: 1 });
    const index = new VersionIndex();
    await index.start(kv, () => kvKeys(nc, BUCKETS.models));
    return new ModelRegistry(nc, kv, index, new FileCache(opts.cacheBytes), opts.signer);
  }

  close(): void {
    this.index.stop();
  }

  /** Bytes of published files held in memory now. */
  get cachedBytes(): number {
    return this.files.size;
  }

  /** The object store of the job that trained a model (its files are kept there). */
  private store(jobId: string): Promise<ObjectStore> {
    let store = this.stores.get(jobId);
    if (!store) {
      store = this.nc.jetstream().views.os(jobBucket(jobId));
      this.stores.set(jobId, store);
      store.catch(() => this.stores.delete(jobId));
    }
    return store;
  }

  /** Stores an uploaded model's (checked) files in a store of their own (as a job's) and registers them as the next version of `name`. */
  async registerUpload(name: string, files: Map<string, Uint8Array>): Promise<ResolvedModel> {
    const id = randomUUID();
    const jobId = `upload-${id.slice(0, 8)}`;
    const prefix = `uploads/${name}/${id}`;
    const store = await this.store(jobId);
    const ordered = [...files.keys()].sort((a, b) => Number(a === 'model.json') - Number(b === 'model.json'));
    for (const file of ordered) await store.putBlob({ name: `${prefix}/${file}` }, files.get(file)!);
    return this.publish(name, jobId, prefix, undefined);
  }

  /** Registers the artifacts under `artifactPrefix` as the next version of `name`. */
  async publish(name: string, jobId: string, artifactPrefix: string, metrics: FinalMetrics | undefined): Promise<ResolvedModel> {
    const stored = await (await this.store(jobId)).getBlob(`${artifactPrefix}/model.json`);
    if (!stored) throw new Error(`no model.json under ${artifactPrefix} in ${jobBucket(jobId)}`);
    // Signed as it is now: what anyone changes in the object store later fails the signature.
    const modelJson = JSON.parse(new TextDecoder().decode(stored)) as Record<string, unknown>;
    // An outage (a cluster electing a new leader) is ridden out by retryTransient. A create()
    // that still fails found the version taken: by another publisher (try the next), or by this
    // one, when a retried create's first attempt was stored before its reply was lost (adopted,
    // so one upload never becomes two versions).
    const deadlineMs = 60_000;
    for (let attempt = 0; attempt < 20; attempt++) {
      const version = ((await retryTransient(() => this.storedLatestVersion(name), { deadlineMs })) ?? 0) + 1;
      const record: VersionRecord = {
        name,
        version,
        jobId,
        artifactPrefix,
        createdUnixMs: Date.now(),
        metrics: metrics ? FinalMetrics.toJSON(metrics) : undefined,
        ...(this.signer ? { signature: this.signer.sign({ name, version, quantization: 'float32' }, modelJson) } : {}),
      };
      const key = versionKey(name, version);
      try {
        await retryTransient(() => this.kv.create(key, JSON.stringify(record)), { deadlineMs });
      } catch (err) {
        if (isTransientNatsError(err)) throw new Error(`could not register a version of ${name}: ${err instanceof Error ? err.message : String(err)}`);
        const holder = await retryTransient(() => this.kv.get(key), { deadlineMs });
        const held = holder && holder.value.length > 0 ? (JSON.parse(holder.string()) as VersionRecord) : undefined;
        if (held?.jobId === jobId && held.artifactPrefix === artifactPrefix) {
          this.index.add(held);
          return this.toResolved(held);
        }
        continue;
      }
      // Known here at once; the bucket's watch tells every other coordinator.
      this.index.add(record);
      return this.toResolved(record);
    }
    throw new Error(`could not register a version of ${name}`);
  }

  /** From memory; the bucket is asked only for a version the index has not seen (yet). */
  async resolve(name: string, version: number | 'latest'): Promise<ResolvedModel> {
    const known = version === 'latest' ? this.index.latest(name) : this.index.get(name, version);
    if (known) return this.toResolved(known);
    const v = version === 'latest' ? await this.storedLatestVersion(name) : version;
    if (v === undefined) throw new ModelNotFoundError(`${name}@${version}`);
    const entry = await retryTransient(() => this.kv.get(versionKey(name, v)));
    if (!entry || entry.operation !== 'PUT') throw new ModelNotFoundError(`${name}@${version}`);
    const record = entry.json<VersionRecord>();
    this.index.add(record);
    return this.toResolved(record);
  }

  /** The latest version of every model. */
  listLatest(): ResolvedModel[] {
    return this.index.all().map((versions) => this.toResolved(versions[0]!));
  }

  /** Every version of every model, by name, newest first. */
  listAll(): ResolvedModel[][] {
    return this.index.all().map((versions) => versions.map((r) => this.toResolved(r)));
  }

  /** Deletes every version of `name` and its files (quantized variants included); returns how many versions. */
  async deleteModel(name: string): Promise<number> {
    const versions = this.index.all().find((v) => v[0]?.name === name) ?? [];
    if (versions.length === 0) throw new ModelNotFoundError(name);
    for (const r of versions) {
      await this.kv.delete(versionKey(name, r.version));
      this.index.remove(name, r.version);
      const store = await this.store(r.jobId);
      for (const o of await store.list()) if (o.name.startsWith(`${r.artifactPrefix}/`)) await store.delete(o.name);
    }
    return versions.length;
  }

  /**
   * A file of a published version, or undefined when it does not exist or is not one of the
   * version's files: model.json and the shards its manifest names. Other objects under the same
   * prefix (the generation-start training state rank 0 shares it with) are never served.
   */
  async readFile(model: ResolvedModel, file: string): Promise<CachedFile | undefined> {
    if (file !== 'model.json' && !(await this.manifestPaths(model, 'float32')).has(file)) return undefined;
    const name = `${model.artifactPrefix}/${file}`;
    return this.files.get(name, async () => (await (await this.store(model.jobId)).getBlob(name)) ?? undefined);
  }

  /**
   * A file of a published version's quantized variant. The variant is generated from the
   * float32 files on first request and kept in the object store next to them
   * (`<prefix>/<variant>/<file>`), so it is made once per version, survives restarts, and its
   * versioned URLs can be cached as immutable.
   */
  async readVariantFile(model: ResolvedModel, variant: Quantization, file: string): Promise<CachedFile | undefined> {
    const prefix = `${model.artifactPrefix}/${variant}`;
    const name = `${prefix}/${file}`;
    if (file !== 'model.json' && !(await this.manifestPaths(model, variant)).has(file)) return undefined;
    const cached = this.files.peek(name);
    if (cached) return cached;
    await this.ensureVariant(model, variant, prefix);
    return this.files.get(name, async () => (await (await this.store(model.jobId)).getBlob(name)) ?? undefined);
  }

  /** The shard paths a version's (or variant's) model.json names. */
  private async manifestPaths(model: ResolvedModel, variant: Variant): Promise<Set<string>> {
    const source = variant === 'float32' ? await this.readFile(model, 'model.json') : await this.readVariantFile(model, variant, 'model.json');
    if (!source) return new Set();
    let paths = this.paths.get(source);
    if (!paths) {
      const json = JSON.parse(source.body.toString('utf8')) as { weightsManifest?: { paths?: unknown }[] };
      paths = new Set((json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths.filter((p): p is string => typeof p === 'string') : [])));
      this.paths.set(source, paths);
    }
    return paths;
  }

  /** model.json as served: the stored one with the version's name, number and job filled in. */
  async servedModelJson(model: ResolvedModel, variant: Variant): Promise<CachedFile | undefined> {
    const key = `served:${model.artifactPrefix}/${variant}`;
    const cached = this.files.peek(key);
    if (cached) return cached;
    const stored = variant === 'float32' ? await this.readFile(model, 'model.json') : await this.readVariantFile(model, variant, 'model.json');
    if (!stored) return undefined;
    return this.files.get(key, async () => {
      const json = JSON.parse(stored.body.toString('utf8')) as Record<string, unknown>;
      // The float32 signature is the version record's (whatever the stored file claims); a
      // variant's was written into its model.json when the coordinator derived it.
      const { signature: storedSignature, ...block } = (json.syncline ?? {}) as Record<string, unknown>;
      const signature = variant === 'float32' ? model.signature : storedSignature;
      json.syncline = {
        ...block,
        name: model.name,
        version: model.version,
        jobId: model.jobId,
        ...(variant !== 'float32' && { quantization: variant }),
        ...(signature !== undefined && { signature }),
      };
      return Buffer.from(JSON.stringify(json));
    });
  }

  /** The weight bytes and shard count of a version in each variant, from its model.json. */
  async sizes(model: ResolvedModel): Promise<VariantSize[]> {
    const source = await this.readFile(model, 'model.json');
    if (!source) throw new ModelNotFoundError(`${model.name}@${model.version} (its model.json is missing)`);
    const json = JSON.parse(source.body.toString('utf8')) as Record<string, unknown>;
    const out: VariantSize[] = [{ variant: 'float32', weightBytes: variantWeightBytes(json, 'float32'), generated: true }];
    for (const variant of QUANTIZATIONS) {
      const prefix = `${model.artifactPrefix}/${variant}`;
      const generated = this.variantsReady.has(prefix) || (await (await this.store(model.jobId)).info(`${prefix}/model.json`)) !== null;
      if (generated) this.variantsReady.add(prefix);
      out.push({ variant, weightBytes: variantWeightBytes(json, variant), generated });
    }
    return out;
  }

  private async ensureVariant(model: ResolvedModel, variant: Quantization, prefix: string): Promise<void> {
    if (this.variantsReady.has(prefix)) return;
    let pending = this.variantsPending.get(prefix);
    if (pending === undefined) {
      pending = this.generateVariant(model, variant, prefix).finally(() => this.variantsPending.delete(prefix));
      this.variantsPending.set(prefix, pending);
    }
    await pending;
    this.variantsReady.add(prefix);
  }

  private async generateVariant(model: ResolvedModel, variant: Quantization, prefix: string): Promise<void> {
    // Another coordinator (or this one before a restart) may have made it already.
    const store = await this.store(model.jobId);
    if (await store.info(`${prefix}/model.json`)) return;
    const source = await this.readFile(model, 'model.json');
    if (!source) throw new ModelNotFoundError(`${model.name}@${model.version} (its model.json is missing)`);
    const modelJson = JSON.parse(source.body.toString('utf8')) as Record<string, unknown>;
    const files = await quantizeModel(modelJson, async (path) => (await this.readFile(model, path))?.body, variant);
    if (this.signer) {
      const derived = JSON.parse(new TextDecoder().decode(files.get('model.json')!)) as Record<string, unknown>;
      derived.syncline = { ...(derived.syncline as object), signature: this.signer.sign({ name: model.name, version: model.version, quantization: variant }, derived) };
      files.set('model.json', new TextEncoder().encode(JSON.stringify(derived)));
    }
    // model.json last: a reader that finds it finds its shards.
    const names = [...files.keys()].sort((a, b) => Number(a === 'model.json') - Number(b === 'model.json'));
    for (const name of names) await store.putBlob({ name: `${prefix}/${name}` }, files.get(name)!);
  }

  toPublished(model: ResolvedModel, httpBase: string): PublishedModel {
    return {
      ref: { name: model.name, version: model.version, url: modelJsonUrl(httpBase, model.name, model.version) },
      jobId: model.jobId,
      createdUnixMs: model.createdUnixMs,
      metrics: model.metrics,
    };
  }

  /** The newest version of `name` in the bucket itself (for publishing, and for names the index has not seen). */
  private async storedLatestVersion(name: string): Promise<number | undefined> {
    let best: number | undefined;
    for (const k of await kvKeys(this.nc, BUCKETS.models, `${name}.>`)) {
      const v = Number(k.slice(name.length + 1));
      if (Number.isInteger(v) && (best === undefined || v > best)) best = v;
    }
    return best;
  }

  private toResolved(r: VersionRecord): ResolvedModel {
    let model = this.resolved.get(r);
    if (!model) {
      model = {
        name: r.name,
        version: r.version,
        jobId: r.jobId,
        artifactPrefix: r.artifactPrefix,
        createdUnixMs: r.createdUnixMs,
        metrics: r.metrics === undefined ? undefined : FinalMetrics.fromJSON(r.metrics),
        signature: r.signature,
      };
      this.resolved.set(r, model);
    }
    return model;
  }
}

export function modelJsonUrl(httpBase: string, name: string, version: number | 'latest'): string {
  return `${httpBase.replace(/\/$/, '')}/v1/models/${encodeURIComponent(name)}/${version}/model.json`;
}
