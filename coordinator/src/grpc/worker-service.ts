// syncline.v1.WorkerService: one Join stream per worker process. The first message must be
// WorkerHello; after that, heartbeats keep the worker alive and reports drive the scheduler.
import { randomUUID } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { JoinRequest, JoinResponse, Logger, WorkerServiceServer } from '@syncline/proto';
import type { JobEvents } from '../job-events.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import type { WorkerPool } from '../scheduling/worker-pool.js';
import type { WorkerActivity } from '../worker-activity.js';

export function workerService(deps: {
  scheduler: Scheduler;
  pool: WorkerPool;
  natsUrl: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  logger: Logger;
  /** Every rank's error and every lost worker of a job go to its event log from here. */
  events: JobEvents;
  activity: WorkerActivity;
  /** True once the coordinator is shutting down: the streams it closes are no lost workers. */
  stopping: () => boolean;
}): WorkerServiceServer {
  return {
    join(call: ServerDuplexStream<JoinRequest, JoinResponse>) {
      let workerId: string | undefined;
      let lastSeen = Date.now();
      let closed = false;
      const watchdog = setInterval(() => {
        if (Date.now() - lastSeen > deps.heartbeatTimeoutMs) close(`no heartbeat for ${deps.heartbeatTimeoutMs} ms`);
      }, deps.heartbeatIntervalMs);

      const close = (reason: string) => {
        if (closed) return;
        closed = true;
        clearInterval(watchdog);
        // A stopping coordinator cancels every stream itself; its successor requeues the jobs.
        if (workerId && deps.pool.has(workerId) && !deps.stopping()) {
          const job = deps.pool.get(workerId)?.jobId;
          deps.logger.info({ worker: workerId, ...(job && { job }), reason }, 'worker left');
          if (job) deps.events.emit(job, { kind: 'worker_lost', workerId, reason });
          deps.activity.forget(workerId);
          void deps.scheduler.workerLost(workerId, reason);
        }
        call.end();
      };

      call.on('data', (req: JoinRequest) => {
        lastSeen = Date.now();
        if (workerId) deps.activity.seen(workerId, lastSeen);
        const msg = req.msg;
        if (!msg) return;
        if (msg.$case === 'hello') {
          if (workerId) return;
          const requested = msg.value.workerId;
          workerId = requested && !deps.pool.has(requested) ? requested : `worker-${randomUUID().slice(0, 8)}`;
          const id = workerId;
          deps.pool.add({
            id,
            hello: msg.value,
            joinedAt: Date.now(),
            send: (m) => {
              if (!closed) call.write(m);
            },
          });
          call.write({
            msg: { $case: 'welcome', value: { workerId: id, natsUrl: deps.natsUrl, heartbeatIntervalMs: deps.heartbeatIntervalMs } },
          });
          deps.activity.seen(id, lastSeen);
          deps.logger.info({ worker: id, hostname: msg.value.hostname, pid: msg.value.pid, backend: msg.value.backend, accelerator: msg.value.accelerator }, 'worker joined');
          void deps.scheduler.workerJoined();
          return;
        }
        if (!workerId) {
          close('first message was not hello');
          return;
        }
        switch (msg.$case) {
          case 'heartbeat':
            return;
          case 'step':
            deps.scheduler.stepReported(workerId, msg.value);
            return;
          case 'finished':
            void deps.scheduler.jobFinished(workerId, msg.value);
            return;
          case 'failed':
            deps.logger.warn({ worker: workerId, job: msg.value.jobId, generation: msg.value.generation, error: msg.value.error }, 'rank failed');
            deps.events.emit(msg.value.jobId, { kind: 'rank_failed', workerId, generation: msg.value.generation, error: msg.value.error });
            void deps.scheduler.jobFailed(workerId, msg.value);
            return;
          case 'checkpoint':
            void deps.scheduler.checkpointSaved(workerId, msg.value);
            return;
        }
      });
      call.on('end', () => close('stream ended'));
      call.on('error', (err) => close(`stream error: ${err.message}`));
      call.on('cancelled', () => close('stream cancelled'));
    },
  };
}
