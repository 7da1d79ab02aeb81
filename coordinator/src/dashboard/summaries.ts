// The dashboard's view of jobs, workers, models and datasets: proto records as JSON plus what a
// person reads first (state name, progress, ETA).
import { BUILTIN_DATASETS, Job, JobState, UserDataset, FinalMetrics } from '@syncline/proto';
import type { ModelRegistry, ResolvedModel } from '../registry/model-registry.js';
import type { ConnectedWorker } from '../scheduling/worker-pool.js';

export function stateName(state: JobState): string {
  return (JobState[state] ?? 'UNKNOWN').replace('JOB_STATE_', '').toLowerCase();
}

/** Seconds left at the last step's speed, or null when unknown (not running, no step yet). */
export function etaSeconds(job: Job): number | null {
  const m = job.lastMetrics;
  const batch = job.spec?.training?.globalBatchSize ?? 0;
  if (job.state !== JobState.JOB_STATE_RUNNING || !m || !(m.samplesPerSecond > 0) || batch <= 0) return null;
  return Math.max(0, ((job.totalSteps - m.step) * batch) / m.samplesPerSecond);
}

export function jobSummary(job: Job) {
  const step = job.lastMetrics?.step ?? 0;
  return {
    id: job.id,
    name: job.spec?.name ?? '',
    state: stateName(job.state),
    step,
    totalSteps: job.totalSteps,
    progress: job.totalSteps > 0 ? Math.min(1, step / job.totalSteps) : 0,
    etaSeconds: etaSeconds(job),
    generation: job.generation,
    workers: job.workers,
    membershipChanges: job.membershipChanges,
    samplesPerSecond: job.lastMetrics?.samplesPerSecond ?? 0,
    error: job.error,
    createdUnixMs: job.createdUnixMs,
    updatedUnixMs: job.updatedUnixMs,
    model: job.model ?? null,
    result: job.result ? FinalMetrics.toJSON(job.result) : null,
  };
}

export function workerSummary(w: ConnectedWorker, lastSeenMs: number | undefined) {
  return {
    id: w.id,
    hostname: w.hello.hostname,
    pid: w.hello.pid,
    backend: w.hello.backend,
    accelerator: w.hello.accelerator ?? null,
    joinedUnixMs: w.joinedAt,
    lastHeartbeatUnixMs: lastSeenMs ?? w.joinedAt,
    jobId: w.jobId ?? null,
    samplesPerSecond: w.samplesPerSecond ?? null,
  };
}

/** Input shape of a TF.js layers model.json (without the batch dimension), if it says. */
function inputShape(modelJson: Record<string, unknown>): number[] | null {
  const topology = modelJson.modelTopology as { config?: { layers?: { config?: { batch_input_shape?: (number | null)[] } }[] } } | undefined;
  const shape = topology?.config?.layers?.[0]?.config?.batch_input_shape;
  return Array.isArray(shape) ? shape.slice(1).map((d) => d ?? -1) : null;
}

export async function modelSummaries(registry: ModelRegistry, baseUrl: string) {
  const version = async (m: ResolvedModel) => {
    const file = await registry.readFile(m, 'model.json');
    const json = file ? (JSON.parse(file.body.toString('utf8')) as Record<string, unknown>) : {};
    return {
      version: m.version,
      jobId: m.jobId,
      createdUnixMs: m.createdUnixMs,
      metrics: m.metrics ? FinalMetrics.toJSON(m.metrics) : null,
      inputShape: inputShape(json),
      sizes: file ? await registry.sizes(m) : [],
      url: `${baseUrl}/v1/models/${encodeURIComponent(m.name)}/${m.version}/model.json`,
    };
  };
  return Promise.all(registry.listAll().map(async (versions) => ({ name: versions[0]!.name, versions: await Promise.all(versions.map(version)) })));
}

export function datasetSummaries(uploaded: UserDataset[]) {
  const builtIn = Object.entries(BUILTIN_DATASETS).map(([name, d]) => ({
    name,
    source: 'built-in',
    inputShape: d.inputShape,
    input: d.input,
    classes: d.target.kind === 'classes' ? d.target.classes : 0,
    targetSize: d.target.kind === 'classes' ? d.target.classes : d.target.size,
    train: d.train,
    heldout: d.heldout,
    description: d.description,
  }));
  const user = uploaded.map((d) => ({
    name: d.name,
    source: 'uploaded',
    inputShape: d.inputShape,
    input: 'float',
    classes: d.classes,
    targetSize: d.targetSize,
    train: d.train,
    heldout: d.heldout,
    description: `uploaded ${new Date(d.createdUnixMs).toISOString()}, sha256 ${d.sha256.slice(0, 12)}…`,
  }));
  return [...builtIn, ...user];
}
