// Published models: versions in a key-value bucket, files in the object store that rank 0
// uploaded to. Publishing registers the next version of a name for a job's artifacts.
import { BUCKETS, FinalMetrics, PublishedModel } from '@syncline/proto';
import type { KV, NatsConnection, ObjectStore } from 'nats';
import { ModelNotFoundError } from '../errors.js';
import { kvKeys } from '../store/kv-keys.js';
import { quantizeModel, type Quantization } from './quantize.js';


interface VersionRecord {
  name: string;
  version: number;
  jobId: string;
  artifactPrefix: string;
  createdUnixMs: number;
  metrics: unknown;
}

export interface ResolvedModel {
  name: string;
  version: number;
  jobId: string;
  artifactPrefix: string;
  createdUnixMs: number;
  metrics: FinalMetrics | undefined;
}

const key = (name: string, version: number) => `${name}.${String(version).padStart(8, '0')}`;

export class ModelRegistry {
  /** Variants known to be complete in the object store, and generations under way, by prefix. */
  private readonly variantsReady = new Set<string>();
  private readonly variantsPending = new Map<string, Promise<void>>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly store: ObjectStore,
  ) {}

  static async open(nc: NatsConnection): Promise<ModelRegistry> {
    const js = nc.jetstream();
    return new ModelRegistry(nc, await js.views.kv(BUCKETS.models, { history: 1 }), await js.views.os(BUCKETS.objects));
  }

  /** Registers the artifacts under `artifactPrefix` as the next version of `name`. */
  async publish(name: string, jobId: string, artifactPrefix: string, metrics: FinalMetrics | undefined): Promise<ResolvedModel> {
    if (!(await this.store.info(`${artifactPrefix}/model.json`))) {
      throw new Error(`no model.json under ${artifactPrefix} in ${BUCKETS.objects}`);
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const version = ((await this.latestVersion(name)) ?? 0) + 1;
      const record: VersionRecord = {
        name,
        version,
        jobId,
        artifactPrefix,
        createdUnixMs: Date.now(),
        metrics: metrics ? FinalMetrics.toJSON(metrics) : undefined,
      };
      try {
        // create() fails if another publisher took this version first; then try the next.
        await this.kv.create(key(name, version), JSON.stringify(record));
        return this.toResolved(record);
      } catch {
        continue;
      }
    }
    throw new Error(`could not register a version of ${name}`);
  }

  async resolve(name: string, version: number | 'latest'): Promise<ResolvedModel> {
    const v = version === 'latest' ? await this.latestVersion(name) : version;
    if (v === undefined) throw new ModelNotFoundError(`${name}@${version}`);
    const entry = await this.kv.get(key(name, v));
    if (!entry || entry.operation !== 'PUT') throw new ModelNotFoundError(`${name}@${version}`);
    return this.toResolved(entry.json<VersionRecord>());
  }

  /** The latest version of every model. */
  async listLatest(): Promise<ResolvedModel[]> {
    const latest = new Map<string, number>();
    for (const k of await this.keys()) {
      const dot = k.lastIndexOf('.');
      const name = k.slice(0, dot);
      const version = Number(k.slice(dot + 1));
      if (version > (latest.get(name) ?? 0)) latest.set(name, version);
    }
    const out: ResolvedModel[] = [];
    for (const [name, version] of [...latest].sort((a, b) => a[0].localeCompare(b[0]))) out.push(await this.resolve(name, version));
    return out;
  }

  /** A file of a published version, or undefined when it does not exist. */
  async readFile(model: ResolvedModel, file: string): Promise<Uint8Array | undefined> {
    return (await this.store.getBlob(`${model.artifactPrefix}/${file}`)) ?? undefined;
  }

  /**
   * A file of a published version's quantized variant. The variant is generated from the
   * float32 files on first request and kept in the object store next to them
   * (`<prefix>/<variant>/<file>`), so it is made once per version, survives restarts, and its
   * versioned URLs can be cached as immutable.
   */
  async readVariantFile(model: ResolvedModel, variant: Quantization, file: string): Promise<Uint8Array | undefined> {
    const prefix = `${model.artifactPrefix}/${variant}`;
    if (!this.variantsReady.has(prefix)) {
      let pending = this.variantsPending.get(prefix);
      if (pending === undefined) {
        pending = this.generateVariant(model, variant, prefix).finally(() => this.variantsPending.delete(prefix));
        this.variantsPending.set(prefix, pending);
      }
      await pending;
      this.variantsReady.add(prefix);
    }
    return (await this.store.getBlob(`${prefix}/${file}`)) ?? undefined;
  }

  private async generateVariant(model: ResolvedModel, variant: Quantization, prefix: string): Promise<void> {
    // Another coordinator (or this one before a restart) may have made it already.
    if (await this.store.info(`${prefix}/model.json`)) return;
    const source = await this.readFile(model, 'model.json');
    if (!source) throw new ModelNotFoundError(`${model.name}@${model.version} (its model.json is missing)`);
    const modelJson = JSON.parse(new TextDecoder().decode(source)) as Record<string, unknown>;
    const files = await quantizeModel(modelJson, (path) => this.readFile(model, path), variant);
    // model.json last: a reader that finds it finds its shards.
    const names = [...files.keys()].sort((a, b) => Number(a === 'model.json') - Number(b === 'model.json'));
    for (const name of names) await this.store.putBlob({ name: `${prefix}/${name}` }, files.get(name)!);
  }

  toPublished(model: ResolvedModel, httpBase: string): PublishedModel {
    return {
      ref: { name: model.name, version: model.version, url: modelJsonUrl(httpBase, model.name, model.version) },
      jobId: model.jobId,
      createdUnixMs: model.createdUnixMs,
      metrics: model.metrics,
    };
  }

  private async latestVersion(name: string): Promise<number | undefined> {
    let best: number | undefined;
    for (const k of await this.keys(`${name}.>`)) {
      const v = Number(k.slice(name.length + 1));
      if (Number.isInteger(v) && (best === undefined || v > best)) best = v;
    }
    return best;
  }

  private async keys(filter?: string): Promise<string[]> {
    return kvKeys(this.nc, BUCKETS.models, filter);
  }

  private toResolved(r: VersionRecord): ResolvedModel {
    return {
      name: r.name,
      version: r.version,
      jobId: r.jobId,
      artifactPrefix: r.artifactPrefix,
      createdUnixMs: r.createdUnixMs,
      metrics: r.metrics === undefined ? undefined : FinalMetrics.fromJSON(r.metrics),
    };
  }
}

export function modelJsonUrl(httpBase: string, name: string, version: number | 'latest'): string {
  return `${httpBase.replace(/\/$/, '')}/v1/models/${encodeURIComponent(name)}/${version}/model.json`;
}
