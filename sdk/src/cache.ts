// Where downloaded model files are kept between page loads, keyed by their versioned URL (which
// names the coordinator, model, version and variant). Nothing read from a cache is trusted:
// the loader checks every shard's sha256 again, and drops an entry that fails.

/** A store for model files. Failures must not be fatal: a get that cannot read is a miss. */
export interface ModelCache {
  get(key: string): Promise<ArrayBuffer | undefined>;
  put(key: string, bytes: ArrayBuffer): Promise<void>;
  delete(key: string): Promise<void>;
}

export const DEFAULT_CACHE_NAME = 'syncline-models';

/**
 * The browser's Cache API (also in service workers). Quota errors and a context without
 * `caches` (plain http on a non-local host) degrade to no caching.
 */
export function cacheStorage(name = DEFAULT_CACHE_NAME): ModelCache {
  let opened: Promise<Cache | undefined> | undefined;
  const open = () => (opened ??= (globalThis.caches?.open(name) ?? Promise.resolve(undefined)).catch(() => undefined));
  return {
    async get(key) {
      try {
        const response = await (await open())?.match(key);
        return response === undefined ? undefined : await response.arrayBuffer();
      } catch {
        return undefined;
      }
    },
    async put(key, bytes) {
      try {
        await (await open())?.put(key, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
      } catch {
        // Out of quota, or storage disabled: the model still loads, just not from cache next time.
      }
    },
    async delete(key) {
      try {
        await (await open())?.delete(key);
      } catch {
        // Nothing we can do; the next load verifies the entry again anyway.
      }
    },
  };
}

/** An in-memory cache, for Node and tests; holds copies, so callers cannot change what it holds. */
export function memoryCache(): ModelCache & { readonly entries: Map<string, ArrayBuffer> } {
  const entries = new Map<string, ArrayBuffer>();
  return {
    entries,
    get: (key) => Promise.resolve(entries.get(key)?.slice(0)),
    put: (key, bytes) => {
      entries.set(key, bytes.slice(0));
      return Promise.resolve();
    },
    delete: (key) => {
      entries.delete(key);
      return Promise.resolve();
    },
  };
}

/** The Cache API where there is one (browsers, secure contexts); none elsewhere (Node, React Native). */
export function defaultCache(): ModelCache | undefined {
  return typeof globalThis.caches === 'object' && globalThis.caches !== null ? cacheStorage() : undefined;
}
