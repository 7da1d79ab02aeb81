// syncline.v1.WorkerService: one Join stream per worker process. The first message must be
// WorkerHello; after that, heartbeats keep the worker alive and reports drive the scheduler.
import { randomUUID } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { JoinRequest, JoinResponse, Logger, WorkerServiceServer } from '@syncline/proto';
import type { Scheduler } from '../scheduling/scheduler.js';
import type { WorkerPool } from '../scheduling/worker-pool.js';

export function workerService(deps: {
  scheduler: Scheduler;
  pool: WorkerPool;
  natsUrl: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  logger?: Logger;
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
        if (workerId && deps.pool.has(workerId)) {
          deps.logger?.info({ worker: workerId, reason }, 'worker left');
          void deps.scheduler.workerLost(workerId, reason);
        }
        call.end();
      };

      call.on('data', (req: JoinRequest) => {
        lastSeen = Date.now();
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
          deps.logger?.info({ worker: id, host: msg.value.hostname, pid: msg.value.pid, backend: msg.value.backend }, 'worker joined');
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
