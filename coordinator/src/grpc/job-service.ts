// syncline.v1.JobService: thin handlers over the scheduler and the stores.
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { JobState, type JobServiceServer, type WatchJobRequest, type WatchJobResponse } from '@syncline/proto';
import { InvalidRequestError, JobNotFoundError } from '../errors.js';
import type { JobEvents } from '../job-events.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { isTerminal, type Scheduler } from '../scheduling/scheduler.js';
import type { JobStore } from '../store/job-store.js';
import type { TimelineStore } from '../store/timeline-store.js';
import { toServiceError } from './status.js';

function unary<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

function requireJobId(jobId: string): string {
  if (!jobId) throw new InvalidRequestError('jobId: required');
  return jobId;
}

export function jobService(deps: {
  scheduler: Scheduler;
  store: JobStore;
  events: JobEvents;
  registry: ModelRegistry;
  timelines: TimelineStore;
  httpBase: () => string;
}): JobServiceServer {
  const getJob = async (jobId: string) => {
    const job = await deps.store.get(requireJobId(jobId));
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  };

  return {
    submitJob: unary(async (req) => ({ job: await deps.scheduler.submit(req.spec) })),
    getJob: unary(async (req) => ({ job: await getJob(req.jobId) })),
    listJobs: unary(async () => ({ jobs: await deps.store.list() })),
    cancelJob: unary(async (req) => ({ job: await deps.scheduler.cancel(requireJobId(req.jobId)) })),
    getTimeline: unary(async (req) => {
      await getJob(req.jobId);
      return { traceJson: Buffer.from(await deps.timelines.merged(req.jobId)) };
    }),
    listModels: unary(async () => ({
      models: (await deps.registry.listLatest()).map((m) => deps.registry.toPublished(m, deps.httpBase())),
    })),
    watchJob(call: ServerWritableStream<WatchJobRequest, WatchJobResponse>) {
      let unsubscribe: (() => void) | undefined;
      const stop = () => {
        unsubscribe?.();
        unsubscribe = undefined;
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      // Subscribe before reading the job, so no change between the two is missed.
      unsubscribe = deps.events.subscribe(call.request.jobId, (event) => {
        if (event.kind === 'metrics') {
          call.write({ event: { $case: 'metrics', value: event.metrics } });
          return;
        }
        call.write({ event: { $case: 'job', value: event.job } });
        if (isTerminal(event.job.state)) {
          stop();
          call.end();
        }
      });
      getJob(call.request.jobId).then(
        (job) => {
          if (!unsubscribe) return;
          call.write({ event: { $case: 'job', value: job } });
          if (isTerminal(job.state) || job.state === JobState.JOB_STATE_UNSPECIFIED) {
            stop();
            call.end();
          }
        },
        (err: unknown) => {
          stop();
          call.destroy(toServiceError(err) as Error);
        },
      );
    },
  };
}
