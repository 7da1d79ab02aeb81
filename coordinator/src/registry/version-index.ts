// Which versions of which models exist, in memory: loaded once from the key-value bucket, then
// kept current by a watch on it (publishes by any coordinator) and by this coordinator's own
// publish path (at once, before the watch delivers). Resolving `latest` is then a map lookup,
// never a round trip to NATS, so revalidating clients cost nothing but the answer.
import { KvWatchInclude, type KV, type KvEntry, type QueuedIterator } from 'nats';
import { versionKey } from '@syncline/proto';
import type { ModelSignature } from './signing.js';

export interface VersionRecord {
  name: string;
  version: number;
  jobId: string;
  artifactPrefix: string;
  createdUnixMs: number;
  metrics: unknown;
  /** The coordinator's signature of the float32 model.json as published (absent on versions published before signing). */
  signature?: ModelSignature;
}


function parseKey(key: string): { name: string; version: number } | undefined {
  const dot = key.lastIndexOf('.');
  const version = Number(key.slice(dot + 1));
  return dot > 0 && Number.isInteger(version) && version > 0 ? { name: key.slice(0, dot), version } : undefined;
}

export class VersionIndex {
  private readonly byName = new Map<string, Map<number, VersionRecord>>();
  private readonly newest = new Map<string, VersionRecord>();
  private watcher: QueuedIterator<KvEntry> | undefined;

  /** Starts watching `kv`, then loads what it holds (a publish in between is seen twice, harmlessly). */
  async start(kv: KV, keys: () => Promise<string[]>): Promise<void> {
    this.watcher = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const entry of this.watcher!) this.apply(entry);
    })().catch(() => undefined);
    for (const key of await keys()) {
      const entry = await kv.get(key);
      if (entry) this.apply(entry);
    }
  }

  stop(): void {
    this.watcher?.stop();
  }

  apply(entry: KvEntry): void {
    const parsed = parseKey(entry.key);
    if (!parsed) return;
    if (entry.operation !== 'PUT') return this.remove(parsed.name, parsed.version);
    this.add(entry.json<VersionRecord>());
  }

  remove(name: string, version: number): void {
    const versions = this.byName.get(name);
    versions?.delete(version);
    let best: VersionRecord | undefined;
    for (const r of versions?.values() ?? []) if (!best || r.version > best.version) best = r;
    if (best) this.newest.set(name, best);
    else this.newest.delete(name);
    if (versions?.size === 0) this.byName.delete(name);
  }

  add(record: VersionRecord): void {
    let versions = this.byName.get(record.name);
    if (!versions) this.byName.set(record.name, (versions = new Map()));
    versions.set(record.version, record);
    if (record.version >= (this.newest.get(record.name)?.version ?? 0)) this.newest.set(record.name, record);
  }

  get(name: string, version: number): VersionRecord | undefined {
    return this.byName.get(name)?.get(version);
  }

  latest(name: string): VersionRecord | undefined {
    return this.newest.get(name);
  }

  /** Every version of every model, by name, newest version first. */
  all(): VersionRecord[][] {
    return [...this.byName.keys()]
      .sort((a, b) => a.localeCompare(b))
      .map((name) => [...this.byName.get(name)!.values()].sort((a, b) => b.version - a.version))
      .filter((versions) => versions.length > 0);
  }
}
