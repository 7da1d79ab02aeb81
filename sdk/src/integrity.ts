// Checks shards against their manifest group before any byte reaches tfjs, whether they came
// from the network or from a cache: a corrupt weight would otherwise load silently and predict
// garbage.
import { IntegrityCheck, ModelIntegrityError, ModelLoadError } from './errors.js';
import type { ShardGroup, ShardSpec } from './manifest.js';

/** A downloaded shard, with what its manifest entry promises. */
export interface Shard extends ShardSpec {
  url: URL;
  bytes: ArrayBuffer;
}

/**
 * Throws ModelIntegrityError when `shard` is not what `group` lists. A single-shard group's
 * size is known exactly, so it is checked before the digest (a truncation reads better as
 * "expected N bytes, got M"); across several shards only the total is known (verifyGroupLength).
 */
export async function verifyShard(group: ShardGroup, shard: Shard): Promise<void> {
  if (group.shards.length === 1 && shard.bytes.byteLength !== group.byteLength) {
    throw new ModelIntegrityError(shard.path, shard.url.href, IntegrityCheck.ByteLength, group.byteLength, shard.bytes.byteLength);
  }
  const actual = await sha256Hex(shard.bytes, shard.url);
  if (actual !== shard.sha256) {
    throw new ModelIntegrityError(shard.path, shard.url.href, IntegrityCheck.Sha256, shard.sha256, actual);
  }
}

/** Throws ModelIntegrityError when the group's verified shards do not add up to its weights. */
export function verifyGroupLength(group: ShardGroup, shards: Shard[]): void {
  const total = shards.reduce((n, s) => n + s.bytes.byteLength, 0);
  if (total !== group.byteLength) {
    const paths = shards.map((s) => s.path).join(', ');
    const urls = shards.map((s) => s.url.href).join(', ');
    throw new ModelIntegrityError(paths, urls, IntegrityCheck.ByteLength, group.byteLength, total);
  }
}

/** Whether `bytes` are what `shard` promises (for entries read back from a cache). */
export async function matchesShard(group: ShardGroup, spec: ShardSpec, url: URL, bytes: ArrayBuffer): Promise<boolean> {
  if (group.shards.length === 1 && bytes.byteLength !== group.byteLength) return false;
  return (await sha256Hex(bytes, url)) === spec.sha256;
}

async function sha256Hex(bytes: ArrayBuffer, url: URL): Promise<string> {
  // WebCrypto is global in Node 20 and browsers; React Native needs a polyfill for it.
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new ModelLoadError(url.href, 'cannot verify the shard: WebCrypto (crypto.subtle) is not available here');
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
