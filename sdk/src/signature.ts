// Verifies the coordinator's Ed25519 signature of a model.json: over the model's name, version and
// variant, its topology and its weights manifest (every shard's path and sha256), so an altered
// model.json fails here and an altered shard fails its digest (integrity.ts). The signed bytes
// are the canonical JSON the coordinator signs (coordinator/src/registry/signing.ts).
import { verifyAsync } from '@noble/ed25519';
import { ModelSignatureError } from './errors.js';

/** JSON with object keys sorted at every level: the same bytes wherever it is computed. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What is signed, from a model.json as served (its syncline block names the version and variant). */
export function signedPayload(json: { modelTopology?: unknown; weightsManifest?: unknown; syncline?: { name?: unknown; version?: unknown; quantization?: unknown } }): Uint8Array {
  return new TextEncoder().encode(
    canonicalJson({
      signed: 'syncline-model/v1',
      name: json.syncline?.name,
      version: json.syncline?.version,
      quantization: json.syncline?.quantization ?? 'float32',
      modelTopology: json.modelTopology,
      weightsManifest: json.weightsManifest,
    }),
  );
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * Throws ModelSignatureError unless `raw` (a parsed model.json) carries a signature by one of
 * `trustedKeys` (base64 Ed25519 public keys, as the coordinator's /v1/keys lists them) over its
 * signed payload. Every weight group must list a sha256 per shard, so the signature covers the shards.
 */
export async function verifyModelSignature(raw: Record<string, unknown>, url: string, trustedKeys: readonly string[]): Promise<void> {
  const syncline = raw.syncline as { signature?: { algorithm?: unknown; publicKey?: unknown; value?: unknown } } | undefined;
  const signature = syncline?.signature;
  if (signature === undefined) throw new ModelSignatureError(url, 'unsigned', 'the model is not signed, and trustedKeys asks for a signature');
  if (signature.algorithm !== 'ed25519' || typeof signature.value !== 'string' || typeof signature.publicKey !== 'string') {
    throw new ModelSignatureError(url, 'malformed', 'its signature is not an ed25519 signature this SDK understands');
  }
  if (!trustedKeys.includes(signature.publicKey)) throw new ModelSignatureError(url, 'untrusted-key', `it is signed by ${signature.publicKey}, which is not among the trusted keys`);
  const groups = Array.isArray(raw.weightsManifest) ? (raw.weightsManifest as { paths?: unknown; sha256?: unknown }[]) : [];
  if (groups.some((g) => !Array.isArray(g.paths) || !Array.isArray(g.sha256) || g.sha256.length !== g.paths.length)) {
    throw new ModelSignatureError(url, 'bad-signature', 'a weight group lists no sha256 for each of its shards, so the signature would not cover them');
  }
  const [sig, key] = [fromBase64(signature.value), fromBase64(signature.publicKey)];
  const valid = sig !== undefined && key !== undefined && key.length === 32 && sig.length === 64 && (await verifyAsync(sig, signedPayload(raw), key).catch(() => false));
  if (!valid) throw new ModelSignatureError(url, 'bad-signature', 'its signature does not match its content: model.json was altered after it was signed');
}
