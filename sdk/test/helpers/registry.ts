// A real model registry for SDK tests and benches: a nats-server and an in-process coordinator,
// with models published the way a finished job publishes them (rank 0's files in the
// object store, then ModelRegistry.publish), but without running a training job.
import * as tf from '@tensorflow/tfjs';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import { ModelSigner, generateSecrets, startCoordinator, type ClusterSecrets, type Coordinator } from '@syncline/coordinator';
import { ModelRegistry } from '../../../coordinator/src/registry/model-registry.js';
import { modelFiles } from '../../../worker/src/artifacts/model-files.js';
import { uploadModelFiles } from '../../../worker/src/artifacts/object-store.js';

export interface Registry {
  /** The coordinator's HTTP base URL (no trailing slash). */
  baseUrl: string;
  coordinator: Coordinator;
  /** The cluster's secrets (the admin token reads private models). */
  secrets: ClusterSecrets;
  /** The NATS server(s) and account key: for another coordinator on the same store. */
  natsUrl: string;
  natsAccountKey: NatsServer['accountKey'];
  /** The public key every version is signed with (the SDK's trustedKeys). */
  publicKey: string;
  /** Publishes `model` as the next version of `name` (`meta` goes into model.json's `syncline`), signed (unless `unsigned`); resolves to that version. */
  publish(model: tf.LayersModel, name: string, opts?: { unsigned?: boolean; meta?: Record<string, unknown> }): Promise<number>;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const signer = ModelSigner.generate();
  const nats: NatsServer = await startNatsServer();
  let coordinator: Coordinator;
  const secrets = generateSecrets();
  try {
    coordinator = await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, modelSigner: signer, secrets });
  } catch (error) {
    await nats.stop();
    throw error;
  }
  const registry = await ModelRegistry.open(coordinator.nc, { signer });
  const unsignedRegistry = await ModelRegistry.open(coordinator.nc);
  let published = 0;
  return {
    baseUrl: coordinator.httpUrl,
    coordinator,
    secrets,
    publicKey: signer.publicKey,
    natsUrl: nats.url,
    natsAccountKey: nats.accountKey,
    async publish(model, name, opts = {}) {
      const jobId = `test-${name}-${++published}`;
      const { files } = await modelFiles(model, { name, jobId, ...opts.meta });
      await uploadModelFiles(coordinator.nc, jobId, `models/${jobId}`, files);
      const { version } = await (opts.unsigned ? unsignedRegistry : registry).publish(name, jobId, `models/${jobId}`, undefined);
      // Published as another coordinator would: the serving one learns of it through its watch
      // of the models bucket, within moments. Tests start once it serves the new version.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const latest = await fetch(`${coordinator.httpUrl}/v1/models/${name}/latest/model.json`, { method: 'HEAD', headers: { authorization: `Bearer ${secrets.adminToken}` } });
        if (Number(latest.headers.get('x-syncline-version')) >= version) return version;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`the coordinator did not serve ${name}@${version} as latest within 5 s`);
    },
    async stop() {
      registry.close();
      unsignedRegistry.close();
      await coordinator.stop();
      await nats.stop();
    },
  };
}
