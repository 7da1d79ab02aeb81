// `syncline up`: a local cluster that runs until interrupted.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readNatsAccountKey } from '@syncline/coordinator';
import { loadOrCreateSecrets } from '../cluster-secrets.js';
import { defaultConfigPath, defaultStateDir, writeConfig } from '../config.js';
import { startLocalCluster } from '../local-cluster.js';
import { ensureModelSigningKey } from '../model-signing-key.js';
import { ensureLocalTls } from '../tls/local-files.js';

const sdkDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'sdk');

/** The coordinator's /demo page loads the SDK's browser bundle: build it once if it is missing. */
async function ensureSdkBundle(log: (line: string) => void): Promise<void> {
  if (existsSync(join(sdkDir, 'dist', 'browser', 'syncline-sdk.min.js'))) return;
  log('building the SDK browser bundle for the /demo page');
  try {
    await promisify(execFile)(process.execPath, [join(sdkDir, 'scripts', 'build.mjs')], { cwd: sdkDir });
  } catch (err) {
    log(`could not build the SDK bundle (the /demo page will not load): ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function up(opts: { workers?: string; grpcPort: string; httpPort: string; natsCluster?: string; stateDir?: string; config?: string; tls?: boolean; verbose?: boolean }): Promise<void> {
  const workers = opts.workers === undefined ? undefined : Number(opts.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new Error(`--workers must be a positive integer, got ${opts.workers}`);
  const natsCluster = Number(opts.natsCluster ?? '1');
  if (!Number.isInteger(natsCluster) || natsCluster < 1) throw new Error(`--nats-cluster must be a positive integer, got ${opts.natsCluster}`);
  const log = (line: string) => console.error(line);
  // Listen before starting anything: an interrupt while workers start must stop nats-server too.
  const interrupted = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupted.abort(new Error(`${signal} while starting`)));
  // Secrets on first start, the same ones after; the config file gets the admin token.
  const stateDir = opts.stateDir ?? defaultStateDir();
  const { secrets, path: secretsPath, created } = await loadOrCreateSecrets(stateDir);
  if (created) log(`created the cluster's secrets (admin token, worker token) in ${secretsPath}`);
  const configPath = opts.config ?? defaultConfigPath();
  let cluster;
  try {
    await ensureSdkBundle(log);
    const tls = opts.tls ? await ensureLocalTls(join(stateDir, 'tls'), log) : undefined;
    const modelSigner = await ensureModelSigningKey(join(stateDir, 'model-signing-key.pem'));
    if (tls) log(`TLS everywhere; clients trust ${tls.caFile} (SYNCLINE_CA=${tls.caFile})`);
    cluster = await startLocalCluster({
      secrets,
      ...(workers !== undefined ? { workers } : {}),
      grpcPort: Number(opts.grpcPort),
      httpPort: Number(opts.httpPort),
      natsCluster,
      ...(process.env.SYNCLINE_NATS_URL ? { natsUrl: process.env.SYNCLINE_NATS_URL } : {}),
      ...(process.env.SYNCLINE_NATS_ACCOUNT_KEY ? { natsAccountKey: await readNatsAccountKey(process.env.SYNCLINE_NATS_ACCOUNT_KEY) } : {}),
      ...(tls ? { tls } : {}),
      modelSigner,
      signal: interrupted.signal,
      log,
    });
  } catch (err) {
    if (!interrupted.signal.aborted) throw err;
    console.error('interrupted while starting; stopped everything started');
    return;
  }
  try {
    await writeConfig(configPath, cluster.clientConfig);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  console.log(`coordinator=${cluster.coordinator.grpcAddress} http=${cluster.coordinator.httpUrl} nats=${cluster.natsUrl} config=${configPath}`);
  log(`demo page (draw a digit once a model is published): ${cluster.coordinator.httpUrl}/demo`);
  log(`published models are signed; the SDK's trustedKeys: ["${cluster.coordinator.modelPublicKey}"] (also at ${cluster.coordinator.httpUrl}/v1/keys)`);
  if (!interrupted.signal.aborted) {
    await new Promise<void>((resolve) => interrupted.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  console.error('stopping the local cluster');
  await cluster.stop();
}
