// The dashboard's JSON API and live stream, under /api (every request through `authorize`):
//   GET /api/jobs, /api/jobs/{id} (record, summary and event log with sampled metrics),
//   GET /api/jobs/{id}/timeline, /api/workers, /api/models, /api/datasets
//   GET /api/events   server-sent events: `snapshot` (jobs and workers) first, then `job`
//                     (a summary, on every change), `metrics` (every step), `workers` (every 2 s)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Job, JobLogEntry, StepMetrics } from '@syncline/proto';
import type { DatasetStore } from '../datasets/dataset-store.js';
import { JobNotFoundError } from '../errors.js';
import { HttpError, send, sendJson } from '../http/respond.js';
import type { HttpArea } from '../http/server.js';
import type { JobEvents } from '../job-events.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { WorkerPool } from '../scheduling/worker-pool.js';
import type { JobLogStore } from '../store/job-log-store.js';
import type { JobStore } from '../store/job-store.js';
import type { TimelineStore } from '../store/timeline-store.js';
import type { WorkerActivity } from '../worker-activity.js';
import { bearerToken, type Authorize } from './auth.js';
import { datasetSummaries, jobSummary, modelSummaries, workerSummary } from './summaries.js';

/** Bytes a live stream may have waiting before its step metrics are skipped. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface DashboardDeps {
  store: JobStore;
  pool: WorkerPool;
  activity: WorkerActivity;
  events: JobEvents;
  registry: ModelRegistry;
  datasets: DatasetStore;
  timelines: TimelineStore;
  jobLog: JobLogStore;
  baseUrl: () => string;
  authorize: Authorize;
  /** How often the live stream sends the worker list (default 2 s). */
  workersIntervalMs?: number;
}

export function dashboardApi(deps: DashboardDeps): HttpArea & { close(): void } {
  const streams = new Set<ServerResponse>();
  const workers = () => deps.pool.all().map((w) => workerSummary(w, deps.activity.lastSeenMs(w.id))).sort((a, b) => a.id.localeCompare(b.id));

  function live(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'access-control-allow-origin': '*',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const unsubscribe = deps.events.subscribeAll((jobId, event) => {
      switch (event.kind) {
        case 'job':
          write('job', jobSummary(event.job));
          return;
        case 'metrics':
          // A client that does not keep up misses steps (its curve thins), never job changes,
          // and the coordinator's memory stays bounded.
          if (res.writableLength < MAX_BUFFERED_BYTES) write('metrics', { jobId, metrics: StepMetrics.toJSON(event.metrics), atUnixMs: Date.now() });
          return;
        default:
          write('log', { jobId, kind: event.kind });
      }
    });
    const workersTimer = setInterval(() => write('workers', workers()), deps.workersIntervalMs ?? 2000);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    streams.add(res);
    const close = () => {
      unsubscribe();
      clearInterval(workersTimer);
      clearInterval(ping);
      streams.delete(res);
    };
    req.on('close', close);
    void deps.store.list().then(
      (jobs) => write('snapshot', { jobs: jobs.map(jobSummary), workers: workers() }),
      () => res.destroy(),
    );
  }

  async function job(id: string) {
    const record = await deps.store.get(id);
    if (!record) throw new HttpError(404, new JobNotFoundError(id).message);
    return record;
  }

  async function route(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const [area, id, sub] = parts;
    if (area === 'events' && parts.length === 1) return live(req, res);
    if (area === 'jobs' && parts.length === 1) return sendJson(res, 200, { jobs: (await deps.store.list()).map(jobSummary) });
    if (area === 'jobs' && id && parts.length === 2) {
      const record = await job(id);
      const log = await deps.jobLog.read(id, { includeMetrics: true });
      return sendJson(res, 200, { job: Job.toJSON(record), summary: jobSummary(record), log: log.map((e) => JobLogEntry.toJSON(e)) });
    }
    if (area === 'jobs' && id && sub === 'timeline' && parts.length === 3) {
      await job(id);
      const trace = await deps.timelines.merged(id).catch(() => undefined);
      if (!trace) throw new HttpError(404, `job ${id} recorded no timeline (submit it with training.timeline)`);
      return send(res, 200, trace, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    }
    if (area === 'workers' && parts.length === 1) return sendJson(res, 200, { workers: workers() });
    if (area === 'models' && parts.length === 1) return sendJson(res, 200, { models: await modelSummaries(deps.registry, deps.baseUrl()) });
    if (area === 'datasets' && parts.length === 1) return sendJson(res, 200, { datasets: datasetSummaries(await deps.datasets.list()) });
    throw new HttpError(404, `no route for /api/${parts.join('/')}`);
  }

  return {
    prefix: 'api',
    async handle(req, res, parts, query) {
      if (!(await deps.authorize(bearerToken(req, query)))) {
        return send(res, 401, JSON.stringify({ error: 'a valid bearer token is required' }), {
          'content-type': 'application/json',
          'www-authenticate': 'Bearer realm="syncline"',
          'cache-control': 'no-store',
        });
      }
      return route(req, res, parts);
    },
    close() {
      for (const res of streams) res.destroy();
    },
  };
}
