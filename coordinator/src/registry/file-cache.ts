// Published files in memory, bounded by bytes (least recently used go first). Versioned
// files never change, so nothing here is ever stale; concurrent first reads of one file share
// one object-store read.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface CachedFile {
  body: Buffer;
  /** Strong ETag: the body's sha256. */
  etag: string;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export function cachedFile(bytes: Uint8Array): CachedFile {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { body, etag: `"${createHash('sha256').update(body).digest('hex')}"` };
}

export class FileCache {
  private readonly cache: LRUCache<string, CachedFile, () => Promise<Uint8Array | undefined>>;

  /** `maxBytes` 0 keeps nothing (every read goes to the store). */
  constructor(maxBytes = DEFAULT_CACHE_BYTES) {
    const bound = Math.max(1, maxBytes);
    this.cache = new LRUCache({
      maxSize: bound,
      // A file larger than the whole cache is served but not kept.
      maxEntrySize: bound,
      sizeCalculation: (file, key) => file.body.byteLength + key.length,
      fetchMethod: async (_key, _stale, { context: read }) => {
        const bytes = await read();
        return bytes === undefined ? undefined : cachedFile(bytes);
      },
    });
  }

  /** The file under `key`, read with `read` (once, however many ask at the same time) when absent. */
  async get(key: string, read: () => Promise<Uint8Array | undefined>): Promise<CachedFile | undefined> {
    return this.cache.fetch(key, { context: read });
  }

  peek(key: string): CachedFile | undefined {
    return this.cache.get(key);
  }

  /** Bytes held now. */
  get size(): number {
    return this.cache.calculatedSize;
  }
}
