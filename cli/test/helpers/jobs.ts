// Test helpers for following jobs through the JobService client.
import type { ServiceError } from '@grpc/grpc-js';
import type { Job, JobSpec, WatchJobResponse } from '@syncline/proto';
import type { SynclineClient } from '../../src/client.js';

export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The error of a call that must fail, and within 5 s: a streaming call that never ends fails too. */
export function grpcError(promise: Promise<unknown>): Promise<ServiceError> {
  return within(5000, 'the call', promise).then(
    () => {
      throw new Error('expected a gRPC error');
    },
    (err: ServiceError) => err,
  );
}

/** Submits `s`, resolves once rank 0 reported `steps` steps; `final` follows the job to its end. */
export async function submitAndRun(client: SynclineClient, s: JobSpec, steps = 3): Promise<{ job: Job; final: Promise<Job> }> {
  const submitted = await client.submit(s);
  let reached!: () => void;
  const running = new Promise<void>((r) => (reached = r));
  const final = client.watch(submitted.id, { metrics: (m) => m.step >= steps && reached() });
  await within(30_000, `${submitted.id} reaching step ${steps}`, Promise.race([running, final]));
  return { job: await client.get(submitted.id), final };
}

/** Resolves with the first state of the job, as WatchJob streams it, that `until` accepts; then stops watching. */
export function watchUntil(client: SynclineClient, jobId: string, until: (job: Job) => boolean): Promise<Job> {
  return new Promise((resolve, reject) => {
    let found = false;
    const stream = client.raw.watchJob({ jobId });
    stream.on('data', (res: WatchJobResponse) => {
      if (found || res.event?.$case !== 'job' || !until(res.event.value)) return;
      found = true;
      resolve(res.event.value);
      stream.cancel();
    });
    stream.on('error', (err) => found || reject(err));
    stream.on('end', () => found || reject(new Error(`the watch of ${jobId} ended first`)));
  });
}
