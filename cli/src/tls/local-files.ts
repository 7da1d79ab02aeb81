// `syncline up --tls` keeps its CA and server certificate in its state directory: made on first
// start, the same ones after, so a client told once to trust the CA keeps trusting it.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalTls, type LocalTls } from './certificates.js';

export interface LocalTlsFiles extends LocalTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export async function ensureLocalTls(dir: string, log: (line: string) => void = () => undefined): Promise<LocalTlsFiles> {
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server-cert.pem'), keyFile: join(dir, 'server-key.pem') };
  if (!Object.values(files).every((f) => existsSync(f))) {
    const made = await createLocalTls();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(files.caFile, made.ca);
    await writeFile(files.certFile, made.cert);
    await writeFile(files.keyFile, made.key, { mode: 0o600 });
    await chmod(files.keyFile, 0o600);
    log(`made a local CA and a server certificate in ${dir}`);
  }
  const [ca, cert, key] = await Promise.all([files.caFile, files.certFile, files.keyFile].map((f) => readFile(f, 'utf8')));
  return { ...files, ca: ca!, cert: cert!, key: key! };
}
