// Test fixtures: a real nats-server and an in-process coordinator on free loopback ports.
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { JobServiceClient, JobSpec } from '@syncline/proto';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../src/coordinator.js';

export interface Fixture {
  nats: NatsServer;
  coordinator: Coordinator;
  client: JobServiceClient;
  stop(): Promise<void>;
}

export async function startFixture(opts: Partial<CoordinatorOptions> = {}): Promise<Fixture> {
  const nats = await startNatsServer();
  try {
    const coordinator = await startCoordinator({ natsUrl: nats.url, natsAccountKey: nats.accountKey, ...opts });
    const client = new JobServiceClient(coordinator.grpcAddress, credentials.createInsecure());
    return {
      nats,
      coordinator,
      client,
      async stop() {
        client.close();
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
