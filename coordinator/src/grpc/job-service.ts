// syncline.v1.JobService: thin handlers over the scheduler and the stores.
import type { sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { JobState, datasetInfo, type DatasetUploadHeader, type JobServiceServer, type JobSpec, type UploadDatasetRequest, type UploadDatasetResponse, type WatchJobRequest, type WatchJobResponse } from '@syncline/proto';
import { DatasetStore, userDatasetInfo } from '../datasets/dataset-store.js';
import { receiveUpload } from '../datasets/receive-upload.js';
import { InvalidRequestError, InvalidSpecError, JobNotFoundError, ModelNotFoundError } from '../errors.js';
import type { JobEvents } from '../job-events.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { isTerminal, plannedSteps, type Scheduler } from '../scheduling/scheduler.js';
import { BaseModelFormatError, describeModelJson } from '../registry/model-topology.js';
import { requestedVersion, type BaseModelInfo } from '../spec/base-model.js';
import { validateJobSpec } from '../spec/validate.js';
import type { JobLogStore } from '../store/job-log-store.js';
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
  datasets: DatasetStore;
  jobLog: JobLogStore;
  httpBase: () => string;
}): JobServiceServer {
  const getJob = async (jobId: string) => {
    const job = await deps.store.get(requireJobId(jobId));
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  };

  /** The uploaded dataset a spec names, described for validation (built-in ones need nothing). */
  const userDatasets = async (spec: JobSpec | undefined) => {
    const name = spec?.dataset?.name ?? '';
    const user = name && !datasetInfo(name) ? await deps.datasets.get(name) : undefined;
    return user ? { [name]: userDatasetInfo(user) } : {};
  };

  /** The registered model a spec's model.base names, described for validation. */
  const baseModel = async (spec: JobSpec | undefined): Promise<BaseModelInfo | undefined> => {
    const base = spec?.model?.base;
    if (!base || base.name === '') return undefined;
    const version = requestedVersion(base);
    let model;
    try {
      model = await deps.registry.resolve(base.name, version);
    } catch (err) {
      if (!(err instanceof ModelNotFoundError)) throw err;
      const field = version === 'latest' ? 'model.base.name' : 'model.base.version';
      throw new InvalidSpecError(field, `no model ${JSON.stringify(base.name)}${version === 'latest' ? '' : ` version ${version}`} in the registry (publish one with a job, or upload one with syncline upload-model)`);
    }
    const file = await deps.registry.readFile(model, 'model.json');
    if (!file) throw new InvalidSpecError('model.base.name', `model ${model.name} v${model.version} has no model.json`);
    try {
      return await describeModelJson(file.body, model.name, model.version);
    } catch (err) {
      if (err instanceof BaseModelFormatError) throw new InvalidSpecError('model.base.name', err.message);
      throw err;
    }
  };

  return {
    submitJob: unary(async (req) => ({ job: await deps.scheduler.submit(req.spec, await userDatasets(req.spec), await baseModel(req.spec)) })),
    validateJob: unary(async (req) => {
      const spec = validateJobSpec(req.spec, await userDatasets(req.spec), await baseModel(req.spec));
      return { spec, totalSteps: plannedSteps(spec) };
    }),
    listDatasets: unary(async () => ({ datasets: await deps.datasets.list() })),
    uploadDataset(call: ServerReadableStream<UploadDatasetRequest, UploadDatasetResponse>, callback: sendUnaryData<UploadDatasetResponse>) {
      receiveUpload(deps.datasets, call, () => call.cancelled).then(
        (dataset) => callback(null, { dataset }),
        (err: unknown) => {
          if (!call.cancelled) callback(toServiceError(err));
        },
      );
    },
    getDatasetUpload: unary(async (req) => deps.datasets.uploadProgress(req.uploadId)),
    getJob: unary(async (req) => ({ job: await getJob(req.jobId) })),
    listJobs: unary(async () => ({ jobs: await deps.store.list() })),
    cancelJob: unary(async (req) => ({ job: await deps.scheduler.cancel(requireJobId(req.jobId)) })),
    getJobLog: unary(async (req) => {
      await getJob(req.jobId);
      return { entries: await deps.jobLog.read(req.jobId, { includeMetrics: req.includeMetrics }) };
    }),
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
        // Rank errors and lost workers reach watchers through the job record they change.
        if (event.kind !== 'job') return;
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
          // grpc-js sends a streaming call's status from an 'error' event; destroy() would end
          // the stream without one, and the client would wait forever.
          call.emit('error', toServiceError(err));
        },
      );
    },
  };
}
