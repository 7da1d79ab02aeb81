// The coordinator's Ed25519 model-signing key: every published version, and every variant it
// derives, is signed over its name, version, variant, topology and weights manifest (each shard's
// sha256), and the SDK verifies that against the public keys it trusts (sdk/src/signature.ts,
// which computes the same canonical bytes).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The block model.json's `syncline.signature` holds. */
export interface ModelSignature {
  algorithm: 'ed25519';
  /** The signer's raw public key, base64. */
  publicKey: string;
  /** The signature, base64. */
  value: string;
}

/** JSON with object keys sorted at every level (the SDK's canonicalJson, byte for byte). */
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

/** The bytes signed for one version and variant of a model, from its stored model.json. */
export function signedPayload(model: { name: string; version: number; quantization: string }, json: Record<string, unknown>): Buffer {
  return Buffer.from(
    canonicalJson({
      signed: 'syncline-model/v1',
      name: model.name,
      version: model.version,
      quantization: model.quantization,
      modelTopology: json.modelTopology,
      weightsManifest: json.weightsManifest,
    }),
  );
}

export class ModelSigningKeyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelSigningKeyError';
  }
}

export class ModelSigner {
  /** The public key, raw and base64: what SDK users pass as trustedKeys. */
  readonly publicKey: string;

  private constructor(private readonly key: KeyObject) {
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    this.publicKey = Buffer.from(jwk.x!, 'base64url').toString('base64');
  }

  static generate(): ModelSigner {
    return new ModelSigner(generateKeyPairSync('ed25519').privateKey);
  }

  /** From a PKCS#8 PEM private key. */
  static fromPem(pem: string, source = 'the model-signing key'): ModelSigner {
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (err) {
      throw new ModelSigningKeyError(`${source} is not a PEM private key: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new ModelSigningKeyError(`${source} is a ${key.asymmetricKeyType} key; model signing needs an ed25519 key`);
    return new ModelSigner(key);
  }

  static async fromFile(path: string): Promise<ModelSigner> {
    const pem = await readFile(path, 'utf8').catch((err: Error) => {
      throw new ModelSigningKeyError(`cannot read the model-signing key ${path}: ${err.message}`, { cause: err });
    });
    return ModelSigner.fromPem(pem, path);
  }

  /** The key as PKCS#8 PEM, to keep in a file. */
  toPem(): string {
    return this.key.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  sign(model: { name: string; version: number; quantization: string }, json: Record<string, unknown>): ModelSignature {
    return { algorithm: 'ed25519', publicKey: this.publicKey, value: sign(null, signedPayload(model, json), this.key).toString('base64') };
  }
}
