// The secrets of a local cluster (an admin token, the workers' token), made on the first
// `syncline up` and kept in its state directory, readable by the owner only, so the config
// file written from them stays valid across restarts.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSecrets, type ClusterSecrets } from '@syncline/coordinator';
import { UsageError } from './errors.js';

export async function loadOrCreateSecrets(stateDir: string): Promise<{ secrets: ClusterSecrets; path: string; created: boolean }> {
  const path = join(stateDir, 'secrets.json');
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read the cluster secrets in ${path}: ${err.message}`, { cause: err });
  });
  if (text !== undefined) {
    const s = JSON.parse(text) as Partial<ClusterSecrets>;
    if (typeof s.adminToken !== 'string' || typeof s.workerToken !== 'string') {
      throw new UsageError(`${path} does not hold adminToken and workerToken; remove it to make new secrets`);
    }
    return { secrets: { adminToken: s.adminToken, workerToken: s.workerToken }, path, created: false };
  }
  const secrets = generateSecrets();
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return { secrets, path, created: true };
}
