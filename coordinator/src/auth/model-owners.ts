// Who owns each model name, and who may download it. The first user to submit a job that
// publishes a name owns it; later jobs of other users publishing the same name are refused at
// submit time, before they train. Records live in a key-value bucket; this coordinator keeps them
// in memory through a watch, so the registry decides public or private without a round trip.
import { BUCKETS, retryTransient } from '@syncline/proto';
import { KvWatchInclude, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import { PermissionDeniedError } from '../errors.js';
import type { VISIBILITIES } from '../spec/validate.js';
import { kvKeys } from '../store/kv-keys.js';
import type { Principal } from './principal.js';

export type Visibility = (typeof VISIBILITIES)[number];

export interface ModelOwner {
  owner: string;
  visibility: Visibility;
  createdUnixMs: number;
}

export class ModelOwners {
  private readonly known = new Map<string, ModelOwner>();
  private watcher: QueuedIterator<KvEntry> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<ModelOwners> {
    const owners = new ModelOwners(nc, await nc.jetstream().views.kv(BUCKETS.modelOwners, { history: 1 }));
    owners.watcher = await owners.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const entry of owners.watcher!) owners.apply(entry);
    })().catch(() => undefined);
    for (const key of await kvKeys(nc, BUCKETS.modelOwners)) {
      const entry = await owners.kv.get(key);
      if (entry) owners.apply(entry);
    }
    return owners;
  }

  close(): void {
    this.watcher?.stop();
  }

  private apply(entry: KvEntry): void {
    if (entry.operation !== 'PUT' || entry.value.length === 0) this.known.delete(entry.key);
    else this.known.set(entry.key, entry.json<ModelOwner>());
  }

  get(name: string): ModelOwner | undefined {
    return this.known.get(name);
  }

  /** Whether anyone may download `name` (models published without an owner record are public). */
  isPublic(name: string): boolean {
    return (this.known.get(name)?.visibility ?? 'public') === 'public';
  }

  /** Throws unless `p` may publish versions of `name` (checks only; see claim). */
  async check(p: Principal, name: string): Promise<void> {
    const record = await this.read(name);
    if (record) requirePublisher(p, name, record.value);
  }

  /**
   * Makes `p` the owner of `name` if nobody is, or checks that it may publish it; `visibility`
   * (when given) becomes the model's. Compare-and-set, so of two racing first users one wins.
   */
  async claim(p: Principal, name: string, visibility: Visibility | undefined): Promise<ModelOwner> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.read(name);
      try {
        if (!record) {
          const created: ModelOwner = { owner: p.name, visibility: visibility ?? 'public', createdUnixMs: Date.now() };
          await retryTransient(() => this.kv.create(name, JSON.stringify(created)));
          this.known.set(name, created);
          return created;
        }
        requirePublisher(p, name, record.value);
        if (!visibility || visibility === record.value.visibility) return record.value;
        const changed = { ...record.value, visibility };
        await retryTransient(() => this.kv.update(name, JSON.stringify(changed), record.revision));
        this.known.set(name, changed);
        return changed;
      } catch (err) {
        // Lost a race, or a write retried through an outage had landed the first time: read again.
        if (err instanceof PermissionDeniedError || attempt >= 5) throw err;
      }
    }
  }

  async delete(name: string): Promise<void> {
    await retryTransient(() => this.kv.delete(name));
    this.known.delete(name);
  }

  private async read(name: string): Promise<{ value: ModelOwner; revision: number } | undefined> {
    const entry = await retryTransient(() => this.kv.get(name));
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return { value: entry.json<ModelOwner>(), revision: entry.revision };
  }

}

function requirePublisher(p: Principal, name: string, record: ModelOwner): void {
  if (p.role === 'admin' || record.owner === p.name) return;
  throw new PermissionDeniedError(`the model name ${JSON.stringify(name)} belongs to "${record.owner}": pick another job name (the published model takes the job's name), or ask an admin`);
}
