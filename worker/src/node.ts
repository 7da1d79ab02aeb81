// A worker process's connection to the coordinator: it joins over a gRPC stream, heartbeats,
// and trains each assignment it receives, one at a time.
import { hostname } from 'node:os';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { BUCKETS, WorkerServiceClient, type Assignment, type JoinRequest, type JoinResponse } from '@syncline/proto';
import type { NatsConnection, ObjectStore } from 'nats';
import { Collective } from './allreduce/collective.js';
import { NatsBus, connectNats } from './allreduce/nats-bus.js';
import { communicationOptions } from './allreduce/select.js';
import { modelFiles } from './artifacts/model-files.js';
import { uploadModelFiles } from './artifacts/object-store.js';
import type { BackendName } from './backend.js';
import { isBuiltinDataset, loadDataset } from './data/registry.js';
import { loadUserDataset } from './data/user-datasets.js';
import * as tf from '@tensorflow/tfjs';
import { kernelsMissingForTraining } from './kernels/missing-kernels.js';
import { buildModel } from './model/build.js';
import { jetstream } from './jetstream.js';
import { GenerationChangedError, JobCancelledError, CoordinatorLostError } from './errors.js';
import { runJob, type StateStore } from './train/run-job.js';
import { JobSessions } from './train/sessions.js';


/**
 * Checkpoints and generation states in the JetStream object store. The store is opened on first
 * use, never eagerly: training blocks the event loop for whole steps, and a request left waiting
 * meanwhile would time out with nobody to catch it.
 */
function objectStates(nc: NatsConnection): StateStore {
  let store: Promise<ObjectStore> | undefined;
  const open = () => (store ??= jetstream(nc).views.os(BUCKETS.objects));
  return {
    async save(name, bytes) {
      await (await open()).putBlob({ name }, bytes);
    },
    async load(name) {
      return (await (await open()).getBlob(name)) ?? undefined;
    },
  };
}

export interface WorkerNodeOptions {
  /** host:port of the coordinator's gRPC endpoint. */
  coordinator: string;
  backend: BackendName;
  /** Overrides the NATS URL the coordinator hands out. */
  natsUrl?: string;
  workerId?: string;
  log?: (line: string) => void;
  /** Job state kept across generations; share one between the nodes of successive reconnects. */
  sessions?: JobSessions;
}

export class WorkerNode {
  private client: WorkerServiceClient | undefined;
  private stream: ClientDuplexStream<JoinRequest, JoinResponse> | undefined;
  private nc: NatsConnection | undefined;
  /** The NATS connection the welcome starts; assignments wait for it. */
  private nats: Promise<NatsConnection> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private current: { jobId: string; controller: AbortController; done: Promise<void> } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closedResolve!: (reason: string) => void;
  /** Resolves with a reason when the Join stream ends. */
  readonly closed = new Promise<string>((resolve) => (this.closedResolve = resolve));
  id = '';

  private readonly sessions: JobSessions;
  private readonly checkedModels = new Set<string>();

  constructor(private readonly opts: WorkerNodeOptions) {
    this.sessions = opts.sessions ?? new JobSessions();
  }

  private log(line: string): void {
    this.opts.log?.(`[${this.id || 'worker'}] ${line}`);
  }

  /** Joins the coordinator; resolves once it has welcomed this worker. */
  async start(): Promise<void> {
    this.client = new WorkerServiceClient(this.opts.coordinator, credentials.createInsecure());
    const stream = this.client.join();
    this.stream = stream;
    const welcomed = new Promise<void>((resolve, reject) => {
      stream.on('data', (res: JoinResponse) => {
        const msg = res.msg;
        if (!msg) return;
        switch (msg.$case) {
          case 'welcome':
            this.id = msg.value.workerId;
            this.startHeartbeat(msg.value.heartbeatIntervalMs);
            this.nats = connectNats(this.opts.natsUrl ?? msg.value.natsUrl, `syncline-worker-${this.id}`);
            this.nats.then(
              (nc) => {
                this.nc = nc;
                this.log(`joined; NATS ${this.opts.natsUrl ?? msg.value.natsUrl}`);
                resolve();
              },
              reject,
            );
            return;
          case 'assignment':
            // A new generation of the job in hand replaces the running one at once: it is
            // stuck waiting for a lost peer, or must make room for a new one.
            if (this.current && !this.current.controller.signal.aborted) {
              this.current.controller.abort(new GenerationChangedError(msg.value.jobId, msg.value.generation));
            }
            this.enqueue(msg.value);
            return;
          case 'cancel':
            if (this.current?.jobId === msg.value.jobId) {
              this.log(`job ${msg.value.jobId}: cancelled (${msg.value.reason})`);
              this.current.controller.abort(new JobCancelledError(msg.value.jobId, msg.value.reason));
            }
            return;
        }
      });
      stream.on('error', (err) => {
        reject(err);
        this.onClosed(`stream error: ${err.message}`);
      });
      stream.on('end', () => {
        reject(new Error('coordinator ended the Join stream'));
        this.onClosed('coordinator ended the stream');
      });
    });
    stream.write({ msg: { $case: 'hello', value: { workerId: this.opts.workerId ?? '', hostname: hostname(), backend: this.opts.backend, pid: process.pid } } });
    await welcomed;
  }

  private startHeartbeat(intervalMs: number): void {
    this.heartbeat = setInterval(() => this.send({ msg: { $case: 'heartbeat', value: {} } }), Math.max(100, intervalMs));
  }

  private send(req: JoinRequest): void {
    if (this.stream && !this.stream.writableEnded && !this.stream.destroyed) this.stream.write(req);
  }

  private onClosed(reason: string): void {
    clearInterval(this.heartbeat);
    // Without the coordinator nobody collects the result: stop training.
    this.current?.controller.abort(new CoordinatorLostError(reason));
    this.closedResolve(reason);
  }

  private enqueue(assignment: Assignment): void {
    const controller = new AbortController();
    const done = this.queue.then(() => this.train(assignment, controller.signal));
    this.current = { jobId: assignment.jobId, controller, done };
    this.queue = done.catch(() => undefined);
  }

  private async train(a: Assignment, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    // The coordinator assigns work as soon as it has welcomed us, maybe before NATS is connected.
    const nc = await this.nats;
    if (!nc) throw new Error('no NATS connection');
    this.log(`job ${a.jobId}: rank ${a.rank}/${a.worldSize}, generation ${a.generation}`);
    const collective = new Collective({
      bus: new NatsBus(nc),
      jobId: a.jobId,
      generation: a.generation,
      rank: a.rank,
      worldSize: a.worldSize,
      timeoutMs: a.allreduceTimeoutSeconds * 1000,
      ...communicationOptions(a.spec?.communication),
    });
    const session = this.sessions.for(a.jobId);
    const states = objectStates(nc);
    try {
      await collective.start(signal);
      const datasetName = a.spec!.dataset!.name;
      const dataset = isBuiltinDataset(datasetName) ? loadDataset(datasetName) : await loadUserDataset(nc, datasetName);
      await this.checkKernels(a, dataset.inputShape);
      const { replica, metrics, timeline } = await runJob({
        assignment: a,
        dataset,
        collective,
        signal,
        workerLabel: this.id,
        session,
        states,
        onCheckpoint: (step, object) => this.send({ msg: { $case: 'checkpoint', value: { jobId: a.jobId, generation: a.generation, step, object } } }),
        onStep: (m) => {
          if (a.rank === 0) this.send({ msg: { $case: 'step', value: { jobId: a.jobId, generation: a.generation, metrics: m } } });
        },
      });
      let artifactPrefix = '';
      try {
        if (a.rank === 0) {
          const kind = a.spec!.gan ? { kind: 'gan-generator', latentDim: a.spec!.gan.latentDim } : { kind: 'model' };
          const { files } = await modelFiles(replica.publishedModel(), { name: a.spec!.name, jobId: a.jobId, generation: a.generation, ...kind });
          await uploadModelFiles(nc, a.artifactPrefix, files);
          artifactPrefix = a.artifactPrefix;
        }
      } finally {
        this.sessions.drop(a.jobId);
      }
      this.log(`job ${a.jobId}: done, held-out accuracy ${metrics.accuracy.toFixed(4)}`);
      const trace = Buffer.from(timeline ? JSON.stringify(timeline) : '');
      this.send({ msg: { $case: 'finished', value: { jobId: a.jobId, generation: a.generation, metrics, artifactPrefix, timeline: trace } } });
    } catch (err) {
      if (signal.aborted) {
        // A new generation or a reconnect goes on from this state; a cancellation frees it.
        if (signal.reason instanceof JobCancelledError) this.sessions.drop(a.jobId);
        return;
      }
      this.sessions.drop(a.jobId);
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.log(`job ${a.jobId}: failed: ${message}`);
      this.send({ msg: { $case: 'failed', value: { jobId: a.jobId, generation: a.generation, error: message } } });
    } finally {
      collective.close();
    }
  }

  /**
   * TF.js has no fallback between backends: a kernel the backend lacks fails the step. Find
   * out before training, once per model, and fail with a message that names the kernels.
   */
  private async checkKernels(a: Assignment, inputShape: number[]): Promise<void> {
    const spec = a.spec!;
    const stacks = spec.gan ? [{ layers: spec.gan.generator, input: [spec.gan.latentDim] }, { layers: spec.gan.discriminator, input: inputShape }] : [{ layers: spec.model!.layers, input: inputShape }];
    const key = JSON.stringify(stacks);
    if (this.checkedModels.has(key)) return;
    const missing = new Set<string>();
    for (const stack of stacks) {
      const model = buildModel(stack.layers, stack.input, 0);
      try {
        for (const k of await kernelsMissingForTraining(model, tf.getBackend())) missing.add(k);
      } finally {
        model.dispose();
      }
    }
    if (missing.size > 0) {
      throw new Error(`backend ${tf.getBackend()} lacks kernel(s) ${[...missing].join(', ')} needed to train this model (TF.js cannot fall back to another backend for them)`);
    }
    this.checkedModels.add(key);
    this.log(`job ${a.jobId}: every kernel of a training step runs on ${tf.getBackend()}`);
  }

  async stop(): Promise<void> {
    this.current?.controller.abort(new Error('worker stopping'));
    clearInterval(this.heartbeat);
    await this.queue;
    this.stream?.end();
    this.stream?.cancel();
    this.client?.close();
    await this.nc?.close();
    this.closedResolve('stopped');
  }
}
