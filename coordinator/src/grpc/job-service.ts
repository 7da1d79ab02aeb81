// syncline.v1.JobService: thin handlers over the scheduler and the stores. Every call arrives
// through the auth guard (auth/guard.ts) with its caller; what the caller may do with a given
// job, model or dataset is decided by auth/access.ts.
import type { sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { JobState, datasetInfo, type DatasetUploadHeader, type Job, type JobServiceServer, type JobSpec, type UploadDatasetRequest, type UploadDatasetResponse, type UploadModelRequest, type UploadModelResponse, type WatchJobRequest, type WatchJobResponse } from '@syncline/proto';
import { requireOwner, requireRead, seesEverything } from '../auth/access.js';
import { principalOf } from '../auth/guard.js';
import type { ModelOwners, Visibility } from '../auth/model-owners.js';
import type { Principal } from '../auth/principal.js';
import { DatasetStore, userDatasetInfo } from '../datasets/dataset-store.js';
import { receiveUpload } from '../datasets/receive-upload.js';
import { InvalidRequestError, InvalidSpecError, JobNotFoundError, JobStateError, ModelNotFoundError, NotFoundError } from '../errors.js';
import type { JobEvents } from '../job-events.js';
import { checkQuotas, checkSpecLimits, type Limits } from '../limits.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { isTerminal, plannedSteps, type Scheduler } from '../scheduling/scheduler.js';
import { BaseModelFormatError, describeModelJson } from '../registry/model-topology.js';
import { MAX_MODEL_UPLOAD_BYTES, checkUploadedModel } from '../registry/model-upload.js';
import { requestedVersion, type BaseModelInfo } from '../spec/base-model.js';
import { validateJobSpec } from '../spec/validate.js';
import type { JobLogStore } from '../store/job-log-store.js';
import type { JobStore } from '../store/job-store.js';
import type { TimelineStore } from '../store/timeline-store.js';
import { pageOf } from './paging.js';
import { toServiceError } from './status.js';
import { tokenHandlers } from './token-handlers.js';
import type { TokenStore } from '../auth/token-store.js';

function unary<Req, Res>(fn: (req: Req, who: Principal) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request, principalOf(call)))
      .then(
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
  owners: ModelOwners;
  tokens: TokenStore;
  timelines: TimelineStore;
  datasets: DatasetStore;
  jobLog: JobLogStore;
  limits: Limits;
  httpBase: () => string;
}): JobServiceServer {
  const getJob = async (jobId: string) => {
    const job = await deps.store.get(requireJobId(jobId));
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  };
  /** A job the caller may read; another user's job is refused, not hidden. */
  const readableJob = async (jobId: string, who: Principal) => {
    const job = await getJob(jobId);
    requireRead(who, job.owner, `job ${job.id}`);
    return job;
  };

  /** The uploaded dataset a spec names, described for validation (built-in ones need nothing). */
  const userDatasets = async (spec: JobSpec | undefined) => {
    const name = spec?.dataset?.name ?? '';
    const user = name && !datasetInfo(name) ? await deps.datasets.get(name) : undefined;
    return user ? { [name]: userDatasetInfo(user) } : {};
  };

  /** The registered model a spec's model.base names, described for validation. */
  const baseModel = async (spec: JobSpec | undefined, who: Principal): Promise<BaseModelInfo | undefined> => {
    const base = spec?.model?.base;
    if (!base || base.name === '') return undefined;
    // Starting from a private model reads its weights: only those who may download it may.
    const owner = deps.owners.get(base.name);
    if (owner?.visibility === 'private') requireRead(who, owner.owner, `model ${base.name} (private)`);
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

  /** Every check SubmitJob makes before it stores anything: the spec, the caps, the model name. */
  const checkSubmission = async (spec: JobSpec | undefined, who: Principal) => {
    const datasets = await userDatasets(spec);
    const base = await baseModel(spec, who);
    const normalized = validateJobSpec(spec, datasets, base);
    checkSpecLimits(normalized, datasets, deps.limits, base);
    return { normalized, datasets, base };
  };

  return {
    ...tokenHandlers(deps.tokens, unary),
    submitJob: unary(async (req, who) => {
      const { normalized, datasets, base } = await checkSubmission(req.spec, who);
      const quotas = (jobs: readonly Job[]) => checkQuotas(who, normalized, jobs, deps.limits);
      // Before the name is claimed, and again where the job is stored (the count may have moved).
      quotas(await deps.store.list());
      await deps.owners.claim(who, normalized.name, (normalized.visibility || undefined) as Visibility | undefined);
      return { job: await deps.scheduler.submit(normalized, datasets, base, who.name, quotas) };
    }),
    validateJob: unary(async (req, who) => {
      const { normalized } = await checkSubmission(req.spec, who);
      await deps.owners.check(who, normalized.name);
      return { spec: normalized, totalSteps: plannedSteps(normalized) };
    }),
    listDatasets: unary(async () => ({ datasets: await deps.datasets.list() })),
    uploadModel(call: ServerReadableStream<UploadModelRequest, UploadModelResponse>, callback: sendUnaryData<UploadModelResponse>) {
      let name: string | undefined;
      const parts = new Map<string, Uint8Array[]>();
      let size = 0;
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        callback(toServiceError(err));
      };
      call.on('data', (req: UploadModelRequest) => {
        if (failed) return;
        const part = req.part;
        if (part?.$case === 'header') {
          if (name !== undefined) return fail(new InvalidRequestError('the header must come once, first'));
          name = part.value.name;
        } else if (part?.$case === 'chunk') {
          if (name === undefined) return fail(new InvalidRequestError('the first UploadModel message must be the header'));
          size += part.value.data.length;
          if (size > MAX_MODEL_UPLOAD_BYTES) return fail(new InvalidRequestError(`upload larger than ${MAX_MODEL_UPLOAD_BYTES} bytes`));
          const chunks = parts.get(part.value.path) ?? [];
          chunks.push(part.value.data);
          parts.set(part.value.path, chunks);
        }
      });
      call.on('error', fail);
      call.on('end', () => {
        if (failed) return;
        if (name === undefined) return fail(new InvalidRequestError('the first UploadModel message must be the header'));
        const files = new Map([...parts].map(([path, chunks]) => [path, new Uint8Array(Buffer.concat(chunks))]));
        // The first user of a model name owns it, as when a job publishes it.
        deps.owners
          .claim(principalOf(call), name, undefined)
          .then(() => checkUploadedModel(name!, files))
          .then((checked) => deps.registry.registerUpload(name!, checked))
          .then((model) => callback(null, { name: model.name, version: model.version, url: `${deps.httpBase()}/v1/models/${model.name}/${model.version}/model.json` }), fail);
      });
    },
    uploadDataset(call: ServerReadableStream<UploadDatasetRequest, UploadDatasetResponse>, callback: sendUnaryData<UploadDatasetResponse>) {
      receiveUpload(deps.datasets, call, () => call.cancelled, principalOf(call).name).then(
        (dataset) => callback(null, { dataset }),
        (err: unknown) => {
          if (!call.cancelled) callback(toServiceError(err));
        },
      );
    },
    getDatasetUpload: unary(async (req) => deps.datasets.uploadProgress(req.uploadId)),
    getJob: unary(async (req, who) => ({ job: await readableJob(req.jobId, who) })),
    listJobs: unary(async (req, who) => {
      const visible = (await deps.store.list()).filter((j) => seesEverything(who) || j.owner === who.name);
      const page = pageOf(visible, req.pageSize, req.pageToken, (j: Job) => `${j.createdUnixMs}:${j.id}`);
      return { jobs: page.items, nextPageToken: page.nextPageToken };
    }),
    cancelJob: unary(async (req, who) => {
      const job = await getJob(req.jobId);
      requireOwner(who, job.owner, `job ${job.id}`);
      return { job: await deps.scheduler.cancel(job.id) };
    }),
    deleteJob: unary(async (req, who) => {
      const job = await getJob(req.jobId);
      requireOwner(who, job.owner, `job ${job.id}`);
      if (!isTerminal(job.state)) throw new JobStateError(`job ${job.id} is ${JobState[job.state].replace('JOB_STATE_', '')}: cancel it first`);
      // Files of the versions it published stay: the model owns them now.
      const published = new Set(deps.registry.listAll().flat().filter((m) => m.jobId === job.id).map((m) => `${m.artifactPrefix}/`));
      await deps.store.delete(job.id);
      await deps.jobLog.delete(job.id);
      await deps.timelines.deleteJobObjects(job.id, (name) => [...published].some((prefix) => name.startsWith(prefix) && !name.endsWith('/start')));
      return {};
    }),
    deleteModel: unary(async (req, who) => {
      if (!req.name) throw new InvalidRequestError('name: required');
      const record = deps.owners.get(req.name);
      if (!record && !deps.registry.listLatest().some((m) => m.name === req.name)) throw new NotFoundError(`model ${JSON.stringify(req.name)} not found`);
      const owner = record?.owner ?? '';
      requireOwner(who, owner, `model ${req.name}`);
      const versions = await deps.registry.deleteModel(req.name);
      await deps.owners.delete(req.name);
      return { versions };
    }),
    deleteDataset: unary(async (req, who) => {
      const dataset = req.name ? await deps.datasets.get(req.name) : undefined;
      if (!dataset) throw new NotFoundError(`dataset ${JSON.stringify(req.name)} not found`);
      requireOwner(who, dataset.owner, `dataset ${dataset.name}`);
      const users = (await deps.store.list()).filter((j) => !isTerminal(j.state) && j.spec?.dataset?.name === dataset.name);
      if (users.length) throw new JobStateError(`dataset ${dataset.name} is in use by ${users.map((j) => j.id).join(', ')}; wait for them or cancel them first`);
      await deps.datasets.delete(dataset);
      return {};
    }),
    getJobLog: unary(async (req, who) => {
      await readableJob(req.jobId, who);
      return { entries: await deps.jobLog.read(req.jobId, { includeMetrics: req.includeMetrics }) };
    }),
    getTimeline: unary(async (req, who) => {
      await readableJob(req.jobId, who);
      return { traceJson: Buffer.from(await deps.timelines.merged(req.jobId)) };
    }),
    listModels: unary(async () => ({
      models: (await deps.registry.listLatest()).map((m) => deps.registry.toPublished(m, deps.httpBase())),
    })),
    watchJob(call: ServerWritableStream<WatchJobRequest, WatchJobResponse>) {
      let unsubscribe: (() => void) | undefined;
      let ended = false;
      const stop = () => {
        ended = true;
        unsubscribe?.();
        unsubscribe = undefined;
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      const who = principalOf(call);
      // Access first; then subscribe before reading the job again, so no change between the two is missed.
      readableJob(call.request.jobId, who)
        .then(() => {
          if (ended) return undefined;
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
          return getJob(call.request.jobId);
        })
        .then(
          (job) => {
            if (!job || !unsubscribe) return;
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
