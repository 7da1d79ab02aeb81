// Rank 0's last act for a job: the trained model's files, uploaded where the coordinator's
// registry serves them from.
import type { Assignment, Logger } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { modelFiles } from '../artifacts/model-files.js';
import { uploadModelFiles } from '../artifacts/object-store.js';
import type { FaultInjector } from '../faults.js';
import type { Replica } from '../train/trainer.js';

/** Uploads `replica`'s published model under the assignment's artifact prefix; returns the prefix. */
export async function publishModel(nc: NatsConnection, a: Assignment, replica: Replica, opts: { logger?: Logger; faults?: FaultInjector; signal?: AbortSignal; classNames?: string[] }): Promise<string> {
  const spec = a.spec!;
  // A conditional generator's input ends in the one-hot class it draws: the SDK needs the count.
  const model = replica.publishedModel();
  const conditionClasses = spec.gan?.conditional ? (model.inputs[0]?.shape[1] ?? 0) - spec.gan.latentDim : 0;
  const kind = spec.gan ? { kind: 'gan-generator', latentDim: spec.gan.latentDim, ...(conditionClasses > 0 && { conditionClasses }) } : { kind: 'model' };
  // Class names travel with the model, so the SDK can say what a prediction (or a conditional
  // generator's class) is called.
  const classNames = (!spec.gan || conditionClasses > 0) && opts.classNames?.length ? { classNames: opts.classNames } : {};
  const { files } = await modelFiles(model, { name: spec.name, jobId: a.jobId, generation: a.generation, ...kind, ...classNames });
  const fields = { job: a.jobId, rank: a.rank, generation: a.generation };
  await uploadModelFiles(nc, a.jobId, a.artifactPrefix, files, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRetry: (err, attempt, delayMs) => opts.logger?.warn({ ...fields, attempt, delayMs, err: String(err) }, 'uploading the model failed; retrying'),
    afterEach: () => opts.faults?.check('upload'),
  });
  return a.artifactPrefix;
}
