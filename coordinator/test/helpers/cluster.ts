// Test fixtures: a real nats-server and an in-process coordinator on free loopback ports, with
// security on as `syncline up` runs it: fresh cluster secrets, and a client with the admin token.
import { createHash } from 'node:crypto';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { BUCKETS, JobServiceClient, JobSpec, jobBucket, withBearer } from '@syncline/proto';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import { generateSecrets, type ClusterSecrets } from '../../src/auth/secrets.js';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../src/coordinator.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';

export interface Fixture {
  nats: NatsServer;
  coordinator: Coordinator;
  secrets: ClusterSecrets;
  /** A client with the admin token. */
  client: JobServiceClient;
  /** A client sending `token` (none: no credential); closed by stop(). */
  clientWith(token: string | undefined): JobServiceClient;
  stop(): Promise<void>;
}

export async function startFixture(opts: Partial<CoordinatorOptions> = {}): Promise<Fixture> {
  const nats = await startNatsServer();
  try {
    const secrets = opts.secrets ?? generateSecrets();
    const coordinator = await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, ...opts, secrets });
    const clients: JobServiceClient[] = [];
    const clientWith = (token: string | undefined) => {
      const c = new JobServiceClient(coordinator.grpcAddress, credentials.createInsecure(), withBearer(token));
      clients.push(c);
      return c;
    };
    const client = clientWith(secrets.adminToken);
    return {
      nats,
      coordinator,
      secrets,
      client,
      clientWith,
      async stop() {
        for (const c of clients) c.close();
        await coordinator.stop();
        await nats.stop();
      },
    };
  } catch (err) {
    await nats.stop();
    throw err;
  }
}

export function mnistMlpSpec(): JobSpec {
  return JobSpec.fromJSON({
    name: 'mnist-mlp-test',
    model: {
      layers: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { sgd: { learningRate: 0.1, momentum: 0.9 } },
    },
    dataset: { name: 'mnist', trainLimit: 512 },
    training: { epochs: 1, globalBatchSize: 64, seed: 1 },
    workers: { min: 2, max: 2 },
  });
}

export function submit(client: JobServiceClient, spec: JobSpec) {
  return new Promise<{ err: ServiceError | null; jobId?: string }>((resolve) =>
    client.submitJob({ spec }, (err, res) => resolve({ err, ...(res?.job ? { jobId: res.job.id } : {}) })),
  );
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The job whose store holds files under `prefix`: the id in `jobs/<id>/g<n>`, else the prefix with '-' for '/'. */
export function jobIdOf(prefix: string): string {
  return /^jobs\/([^/]+)\/g\d+$/.exec(prefix)?.[1] ?? prefix.replaceAll('/', '-');
}

/** Uploads a one-dense-layer model's files under `prefix` and publishes them as the next version of `name`. */
export async function publish(fixture: Fixture, name: string, prefix: string, weights: Float32Array): Promise<void> {
  const shard = new Uint8Array(weights.buffer.slice(0));
  const modelJson = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential', config: { name } },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        sha256: [sha256(shard)],
        weights: [{ name: 'dense/kernel', shape: [weights.length], dtype: 'float32' }],
      },
    ],
    syncline: { jobId: prefix },
  };
  const jobId = jobIdOf(prefix);
  const store = await fixture.coordinator.nc.jetstream().views.os(jobBucket(jobId));
  await store.putBlob({ name: `${prefix}/group1-shard1of1.bin` }, shard);
  await store.putBlob({ name: `${prefix}/model.json` }, new TextEncoder().encode(JSON.stringify(modelJson)));
  const registry = await ModelRegistry.open(fixture.coordinator.nc);
  try {
    await registry.publish(name, jobId, prefix, undefined);
  } finally {
    registry.close();
  }
}
