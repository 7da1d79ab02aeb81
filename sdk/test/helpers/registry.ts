// A real model registry for SDK tests and benches: a nats-server and an in-process coordinator,
// with models published the way a finished job publishes them (rank 0's files in the
// object store, then ModelRegistry.publish), but without running a training job.
import * as tf from '@tensorflow/tfjs';
import { startNatsServer, type NatsServer } from '@syncline/cli/nats-server';
import { startCoordinator, type Coordinator } from '@syncline/coordinator';
import { ModelRegistry } from '../../../coordinator/src/registry/model-registry.js';
import { modelFiles } from '../../../worker/src/artifacts/model-files.js';
import { uploadModelFiles } from '../../../worker/src/artifacts/object-store.js';

export interface Registry {
  /** The coordinator's HTTP base URL (no trailing slash). */
  baseUrl: string;
  coordinator: Coordinator;
  /** Publishes `model` as the next version of `name`; resolves to that version. */
  publish(model: tf.LayersModel, name: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const nats: NatsServer = await startNatsServer();
  let coordinator: Coordinator;
  try {
    coordinator = await startCoordinator({ natsUrl: nats.url });
  } catch (error) {
    await nats.stop();
    throw error;
  }
  const registry = await ModelRegistry.open(coordinator.nc);
  let published = 0;
  return {
    baseUrl: coordinator.httpUrl,
    coordinator,
    async publish(model, name) {
      const jobId = `test-${name}-${++published}`;
      const { files } = await modelFiles(model, { name, jobId });
      await uploadModelFiles(coordinator.nc, `models/${jobId}`, files);
      return (await registry.publish(name, jobId, `models/${jobId}`, undefined)).version;
    },
    async stop() {
      await coordinator.stop();
      await nats.stop();
    },
  };
}
