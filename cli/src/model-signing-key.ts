// `syncline up` keeps the coordinator's model-signing key in its state directory, so models
// published in one run still verify against the public key users were given in the first.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ModelSigner } from '@syncline/coordinator';

export async function ensureModelSigningKey(path: string): Promise<ModelSigner> {
  if (existsSync(path)) return ModelSigner.fromFile(path);
  const signer = ModelSigner.generate();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, signer.toPem(), { mode: 0o600 });
  return signer;
}
