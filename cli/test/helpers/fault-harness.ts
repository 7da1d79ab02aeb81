// Failure injection through real processes, in the spirit of torchft's FailureInjector: a schedule
// of faults in (a rank killed at a step in a phase, nats-server killed for a few seconds), the
// published weights out, compared with those of the same job trained by one process without
// interruption. Worker processes that die are replaced, as a Deployment would.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateJobSpec } from '@syncline/coordinator';
import { JobSpec, JobState, type Job, type StepMetrics } from '@syncline/proto';
import { selectBackend } from '@syncline/worker';
import { loadMnist } from '@syncline/worker/mnist';
import { modelFiles } from '../../../worker/src/artifacts/model-files.js';
import type { Fault } from '../../../worker/src/faults.js';
import { runJob } from '../../../worker/src/train/run-job.js';
export { maxRelativeError as relativeError } from '../../../worker/test/helpers/in-process-job.js';
import { SynclineClient } from '../../src/client.js';
import { startLocalCluster, type LocalCluster } from '../../src/local-cluster.js';
import { NatsOutages, type NatsOutage } from './nats-outages.js';
export type { NatsOutage } from './nats-outages.js';

/** Steps of the jobs the harness runs, and the step mid-job faults land at. */
export const STEPS = 24;
export const FAULT_STEP = 10;

/** 8 steps per epoch, 3 epochs; checkpoints every 5 steps; 2 to 3 workers; dropout, so randomness counts. */
export function faultySpec(name: string): JobSpec {
  return JobSpec.fromJSON({
    name,
    model: {
      layers: [{ dense: { units: 16, activation: 'relu' } }, { dropout: { rate: 0.2 } }, { dense: { units: 10, activation: 'softmax' } }],
      loss: 'categoricalCrossentropy',
      optimizer: { adam: { learningRate: 0.003 } },
    },
    dataset: { name: 'mnist', trainLimit: 512 },
    training: { epochs: 3, globalBatchSize: 64, seed: 17, maxSteps: STEPS, checkpointEverySteps: 5 },
    workers: { min: 2, max: 3 },
  });
}

/** The weights one process publishes after training the job without interruption. */
export async function referenceWeights(): Promise<Float32Array> {
  await selectBackend('wasm');
  const s = validateJobSpec(faultySpec('reference'));
  const { replica } = await runJob({
    assignment: { jobId: 'reference', spec: s, rank: 0, worldSize: 1, generation: 1, shares: [1], artifactPrefix: '', allreduceTimeoutSeconds: 10, checkpoint: '', checkpointObject: '', natsCredentials: undefined },
    dataset: loadMnist(),
    collective: { allReduceSum: async (d) => d, broadcast: async (d) => d! },
  });
  const { files, modelJson } = await modelFiles(replica.publishedModel(), {});
  replica.dispose();
  const paths = (modelJson.weightsManifest as { paths: string[] }[]).flatMap((g) => g.paths);
  const bytes = Buffer.concat(paths.map((p) => files.get(p)!));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

export interface FaultyJob {
  spec: JobSpec;
  faults: Omit<Fault, 'job'>[];
  outage?: NatsOutage;
  /** Send SIGTERM (a Kubernetes eviction) to the worker of `rank` when rank 0 reports `step`. */
  terminate?: { rank: number; step: number };
}

export interface FaultOutcome {
  job: Job;
  /** Every replica's published weights, concatenated in manifest order. */
  weights: Float32Array;
  /** Steps rank 0 reported more than once (redone after a fault). */
  redoneSteps: number;
  seconds: number;
  /** The longest wait between two step reports, and the median one: what a fault stalled the job. */
  longestPause: number;
  medianPause: number;
  /** Worker processes that died (each replaced). */
  died: number;
  /** The job as the submission answered. */
  submitted: Job;
  /** How long the registry took to serve the weights (answering 5xx while it rode out the fault) … */
  registryWaitSeconds: number;
  /** … and the last such answer, if any. */
  registryFailure?: string;
}

export class FaultHarness {
  private readonly planned: Fault[] = [];
  private died = 0;

  private constructor(
    private readonly size: number,
    readonly cluster: LocalCluster,
    readonly client: SynclineClient,
    private readonly dir: string,
    private readonly planFile: string,
    readonly logs: string[],
  ) {
    this.nats = new NatsOutages(cluster);
  }

  private readonly nats: NatsOutages;

  /**
   * A cluster of `workers` worker processes sharing one fault plan, on a nats-server with a small
   * max_payload (every all-reduce spans several messages).
   */
  static async start(workers: number, timeouts: { heartbeatIntervalMs: number; heartbeatTimeoutMs: number; allreduceTimeoutSeconds: number }, natsCluster = 1): Promise<FaultHarness> {
    const dir = await mkdtemp(join(tmpdir(), 'syncline-faults-'));
    const planFile = join(dir, 'plan.json');
    await writeFile(planFile, JSON.stringify({ faults: [], claims: join(dir, 'claims') }));
    const logs: string[] = [];
    const cluster = await startLocalCluster({ workers, natsCluster, natsMaxPayload: 16 * 1024, timeouts, workerEnv: { SYNCLINE_FAULT_PLAN: planFile }, log: (l) => logs.push(l) });
    const harness = new FaultHarness(workers, cluster, new SynclineClient(cluster.coordinator.grpcAddress, { token: cluster.secrets.adminToken }), dir, planFile, logs);
    for (const child of cluster.workers) harness.supervise(child);
    return harness;
  }

  /** Replaces a worker process that dies or leaves, like a Deployment. */
  private supervise(child: LocalCluster['workers'][number]): void {
    child.once('exit', (_code, signal) => {
      if (this.stopping) return;
      if (signal === 'SIGKILL') this.died++;
      this.replacing++;
      void this.cluster.addWorker().then(
        (i) => {
          this.replacing--;
          this.supervise(this.cluster.workers[i]!);
        },
        () => this.replacing--,
      );
    });
  }

  /** Worker processes that exited and whose replacement has not started yet. */
  private replacing = 0;

  private stopping = false;

  /** Runs `job` with its faults, once every replaced worker is back; resolves when it ended. */
  async run(job: FaultyJob): Promise<FaultOutcome> {
    // Every replaced worker has joined and every dead one is gone from the coordinator's pool: a
    // job never starts on a worker that died in the previous one (it would change membership mid-job).
    const deadline = Date.now() + 60_000;
    while (this.replacing > 0 || this.cluster.coordinator.workerCount() !== this.size) {
      if (Date.now() > deadline) throw new Error(`${this.cluster.coordinator.workerCount()} workers in the pool (${this.replacing} being replaced), not ${this.size}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(this.dir, 'claims'), { recursive: true });
    this.planned.push(...job.faults.map((f) => ({ ...f, job: job.spec.name })));
    // Workers read the plan when they start: the ones started before see it through the file, re-read per job.
    await writeFile(this.planFile, JSON.stringify({ faults: this.planned, claims: join(this.dir, 'claims') }));
    if (this.cluster.nats.length > 1) await this.nats.untilHealed();
    const diedBefore = this.died;
    const started = Date.now();
    let outage: Promise<void> | undefined;
    if (job.outage?.step === 'submit') {
      await this.nats.down(job.outage);
      await this.nats.untilPlacementRefused();
    }
    const submitted = await this.client.submit(job.spec);
    if (job.outage?.step === 'submit') outage = this.nats.up(job.outage);
    const seen = new Set<number>();
    const arrivals: number[] = [];
    let redone = 0;
    let terminated: Promise<void> | undefined;
    const final = await this.client.watch(submitted.id, {
      metrics: (m: StepMetrics) => {
        arrivals.push(Date.now());
        if (seen.has(m.step)) redone++;
        seen.add(m.step);
        const at = job.outage?.step;
        if (typeof at === 'number' && !outage && m.step >= at) outage = this.nats.down(job.outage!).then(() => this.nats.up(job.outage!));
        if (job.terminate && !terminated && m.step >= job.terminate.step) terminated = this.terminate(submitted.id, job.terminate.rank);
      },
    });
    await outage;
    await terminated;
    // A fault can fire just before the job ends (a rank dies while rank 0 evaluates or uploads):
    // its process exit may then be seen only after the job's end. Wait for one exit per fault
    // that fired (the claims say which), but not for ever: a fault that fired and killed nothing
    // is the failure the caller checks.
    const fired = await this.fired(job.spec.name);
    const exitDeadline = Date.now() + 15_000;
    const waitStart = Date.now();
    while (this.died - diedBefore < fired && Date.now() < exitDeadline) await new Promise((r) => setTimeout(r, 50));
    if (fired > 0) this.logs.push(`harness: ${fired} fault(s) fired, ${this.died - diedBefore} exit(s) seen ${Date.now() - waitStart} ms after the job ended`);
    const pauses = arrivals.slice(1).map((t, i) => (t - arrivals[i]!) / 1000).sort((a, b) => a - b);
    const registry = await this.publishedWeights(final);
    return {
      job: final,
      weights: registry.weights,
      redoneSteps: redone,
      seconds: (Date.now() - started) / 1000,
      longestPause: pauses.at(-1) ?? 0,
      medianPause: pauses[Math.floor(pauses.length / 2)] ?? 0,
      died: this.died - diedBefore,
      submitted,
      registryWaitSeconds: registry.waitedMs / 1000,
      ...(registry.failure !== undefined && { registryFailure: registry.failure }),
    };
  }

  /** How many of the planned faults of job `name` fired (each fires once, claimed in the claims folder). */
  private async fired(name: string): Promise<number> {
    const { readdir } = await import('node:fs/promises');
    const claimed = new Set(await readdir(join(this.dir, 'claims')));
    return this.planned.filter((f, i) => f.job === name && claimed.has(String(i))).length;
  }

  private async terminate(jobId: string, rank: number): Promise<void> {
    const id = (await this.client.get(jobId)).workers[rank];
    const index = Number(/^local-(\d+)$/.exec(id ?? '')?.[1]);
    this.cluster.workers[index]?.kill('SIGTERM');
  }

  private async publishedWeights(job: Job): Promise<{ weights: Float32Array; waitedMs: number; failure?: string }> {
    if (job.state !== JobState.JOB_STATE_SUCCEEDED || !job.model) return { weights: new Float32Array(0), waitedMs: 0 };
    const started = Date.now();
    let failure: string | undefined;
    const get = async (url: string) => {
      const got = await download(url);
      failure = got.failure ?? failure;
      return got.bytes;
    };
    const modelJson = JSON.parse(new TextDecoder().decode(await get(job.model.url))) as { weightsManifest: { paths: string[] }[] };
    const base = job.model.url.replace(/model\.json$/, '');
    const parts: Uint8Array[] = [];
    for (const path of modelJson.weightsManifest.flatMap((g) => g.paths)) parts.push(await get(base + path));
    const bytes = Buffer.concat(parts);
    const weights = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
    return { weights, waitedMs: Date.now() - started, ...(failure !== undefined && { failure }) };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.client.close();
    await this.cluster.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * GET `url`, retried as an SDK client would while the registry's store recovers from an outage,
 * with the last failed answer. Up to 90 s: once, on a CI machine under full load, reads of a
 * job's object store timed out for over 30 s after one server of three was killed (SIGKILL).
 */
async function download(url: string): Promise<{ bytes: Uint8Array; failure?: string }> {
  const started = Date.now();
  let failure: string | undefined;
  for (;;) {
    const res = await fetch(url);
    if (res.ok) return { bytes: new Uint8Array(await res.arrayBuffer()), ...(failure !== undefined && { failure }) };
    failure = `GET ${url}: ${res.status} ${await res.text()}`;
    if (Date.now() > started + 90_000) throw new Error(`${failure} (for 90 s)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
