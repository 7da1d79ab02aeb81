// Checks downloaded shards against their manifest group before any byte reaches tfjs: a
// corrupt weight would otherwise load silently and predict garbage.
import { IntegrityCheck, ModelIntegrityError, ModelLoadError } from './errors.js';
import type { ShardGroup, ShardSpec } from './manifest.js';

/** A downloaded shard, with what its manifest entry promises. */
export interface Shard extends ShardSpec {
  url: URL;
  bytes: ArrayBuffer;
}

/**
 * Throws ModelIntegrityError for the first shard of `group` that fails. A single-shard group's
 * size is known exactly, so it is checked before its digest (a truncation reads better as
 * "expected N bytes, got M"); across several shards only the total is known, checked last.
 */
export async function verifyGroup(group: ShardGroup, shards: Shard[]): Promise<void> {
  const [only, ...others] = shards;
  if (only !== undefined && others.length === 0 && only.bytes.byteLength !== group.byteLength) {
    throw new ModelIntegrityError(only.path, only.url.href, IntegrityCheck.ByteLength, group.byteLength, only.bytes.byteLength);
  }
  for (const shard of shards) {
    const actual = await sha256Hex(shard);
    if (actual !== shard.sha256) {
      throw new ModelIntegrityError(shard.path, shard.url.href, IntegrityCheck.Sha256, shard.sha256, actual);
    }
  }
  const total = shards.reduce((n, s) => n + s.bytes.byteLength, 0);
  if (total !== group.byteLength) {
    const paths = shards.map((s) => s.path).join(', ');
    const urls = shards.map((s) => s.url.href).join(', ');
    throw new ModelIntegrityError(paths, urls, IntegrityCheck.ByteLength, group.byteLength, total);
  }
}

async function sha256Hex(shard: Shard): Promise<string> {
  // WebCrypto is global in Node 20 and browsers; React Native needs a polyfill for it.
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new ModelLoadError(shard.url.href, 'cannot verify the shard: WebCrypto (crypto.subtle) is not available here');
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', shard.bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
