// One replica's model and optimizer. Its gradients travel as one flat "fusion buffer" in
// variable order, followed by the step statistics (step-buffer.ts lays them out). Summing the
// buffers of all replicas (the all-reduce) gives the global gradient of the summed loss and the
// global statistics at once; every replica then divides by the global sample count, clips, and
// applies the same update, so replicas stay identical.
import * as tf from '@tensorflow/tfjs';
import type { JobSpec } from '@syncline/proto';
import type { DatasetShape } from '../data/dataset.js';
import { EVALUATION_BATCH_SIZE, evaluationBatches } from '../data/evaluation-batches.js';
import type { SampleSource } from '../data/sample-source.js';
import { buildModel, stateVariables, trainableVariables } from '../model/build.js';
import { buildTransferModel } from '../model/transfer.js';
import { absoluteErrorSum, correctCount, lossFunction } from '../model/loss.js';
import { baseLearningRate, buildOptimizer, setLearningRate } from '../model/optimizer.js';
import { FusedUpdate } from '../backends/native/fused-update.js';
import { SampleDraws } from '../model/sample-dropout.js';
import type { OptimizerTensor } from './checkpoint.js';
import { readInto, readStep } from './readback.js';
import { Stat, StepBufferLayout, type PhaseLayout, type StepBuffer } from './step-buffer.js';

/** An optimizer's state tensors, in its own order (iterations first). */
export async function optimizerState(optimizer: tf.Optimizer): Promise<OptimizerTensor[]> {
  const weights = await optimizer.getWeights();
  return Promise.all(weights.map(async (w) => ({ shape: [...w.tensor.shape], values: Float32Array.from(await w.tensor.data()) })));
}

/** Restores by position: TF.js optimizers match their slots to variables by index, not name. */
export async function restoreOptimizer(optimizer: tf.Optimizer, state: OptimizerTensor[]): Promise<void> {
  const tensors = state.map((t, i) => ({ name: `slot${i}`, tensor: tf.tensor(t.values, t.shape) }));
  await optimizer.setWeights(tensors);
  tf.dispose(tensors.map((t) => t.tensor));
}

/** One replica's share of a global batch. */
export interface TrainingBatch {
  /** Row-major samples and targets of `count` rows. */
  x: Float32Array;
  y: Float32Array;
  count: number;
  /** The epoch, and each row's index in the training set: what per-sample randomness is keyed by. */
  epoch: number;
  samples: ArrayLike<number>;
}

export interface StepStats {
  loss: number;
  accuracy: number;
  mae: number;
  samples: number;
  /** GAN jobs: the generator's mean loss. */
  generatorLoss?: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  mae: number;
  generatorLoss?: number;
}

/** How a replica sums each phase of a step over all replicas. */
export interface AllReduce {
  /**
   * A zeroed buffer for this replica's contribution to `phase`, laid out as the replica's
   * phases[phase] says (the training loop may add control slots of its own), so contributions
   * are built in place, never copied.
   */
  buffer(phase: number): StepBuffer;
  /** The element-wise sum over all replicas of a buffer from buffer(). */
  sum(buffer: StepBuffer, phase: number): Promise<StepBuffer>;
}

/** The all-reduce of a replica that trains alone: the sum is its own contribution. */
export function soloAllReduce(replica: Pick<Replica, 'phases'>): AllReduce {
  const layouts = replica.phases.map((phase) => new StepBufferLayout(phase));
  return {
    buffer: (phase) => layouts[phase]!.create(),
    sum: async (buffer) => buffer,
  };
}

/** What the training loop needs of a replica, whatever the job kind. */
export interface Replica {
  /** Elements in the weight vector that rank 0 broadcasts. */
  readonly weightLength: number;
  /**
   * Non-trainable state that each replica updates from its own share (batch-norm moving
   * statistics): averaged over the replicas at the end of training, so all publish the same.
   */
  readonly state: VariableSet;
  /** What each all-reduced phase of a step carries (1 phase, or 2 for a GAN). */
  readonly phases: readonly PhaseLayout[];
  getWeights(): Promise<Float32Array>;
  setWeights(flat: Float32Array): void;
  /**
   * One synchronous step on this replica's share of the batch. It either completes (every phase
   * applied) or fails leaving the replica as it was before the step.
   */
  step(batch: TrainingBatch, learningRateFactor: number, allReduce: AllReduce): Promise<StepStats>;
  /** Mean loss and metrics over the held-out samples, read a batch at a time (evaluation-batches.ts). */
  evaluate(heldout: SampleSource, signal?: AbortSignal): Promise<Evaluation>;
  /** Every optimizer's state, for checkpoints and for replicas joining a later generation. */
  optimizerStates(): Promise<OptimizerTensor[][]>;
  restoreOptimizers(states: OptimizerTensor[][]): Promise<void>;
  /** The model to publish. */
  publishedModel(): tf.LayersModel;
  dispose(): void;
}

/** A flat view of a set of variables: packing gradients, unpacking updates, clipping. */
export class VariableSet {
  readonly sizes: number[];
  readonly length: number;
  private scratch: Float32Array | undefined;

  constructor(readonly variables: tf.Variable[]) {
    this.sizes = variables.map((v) => v.size);
    this.length = this.sizes.reduce((a, b) => a + b, 0);
  }

  /** The gradients of these variables, in their order (what the fusion buffer holds). */
  ordered(grads: tf.NamedTensorMap): tf.Tensor[] {
    return this.variables.map((v) => {
      const g = grads[v.name];
      if (!g) throw new Error(`no gradient for ${v.name}`);
      return g;
    });
  }

  /**
   * The mean gradients from an all-reduced sum: divided by the global sample count and, when
   * `clipNorm` > 0, scaled down to that global L2 norm (computed in float64, the same on every replica).
   * Apply and dispose them before the next call: they may share its buffer.
   */
  meanGradients(summed: Float32Array, samples: number, clipNorm: number): tf.NamedTensorMap {
    // One scratch buffer for every step: a fresh 4-bytes-per-weight array costs page faults
    // on first touch, 5x the division loop itself. The cpu backend keeps the array of a
    // tensor made from it, so callers apply and dispose the result before the next call.
    this.scratch ??= new Float32Array(this.length);
    const mean = this.scratch;
    for (let i = 0; i < this.length; i++) mean[i] = summed[i]! / samples;
    if (clipNorm > 0) {
      let sq = 0;
      for (let i = 0; i < this.length; i++) sq += mean[i]! * mean[i]!;
      const norm = Math.sqrt(sq);
      if (norm > clipNorm) {
        const scale = clipNorm / norm;
        for (let i = 0; i < this.length; i++) mean[i] = mean[i]! * scale;
      }
    }
    const grads: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of this.variables) {
      grads[v.name] = tf.tensor(mean.subarray(offset, offset + v.size), v.shape);
      offset += v.size;
    }
    return grads;
  }

  async read(into: Float32Array, at = 0): Promise<void> {
    await readInto(this.variables, into, at);
  }

  assign(flat: Float32Array, at = 0): void {
    let offset = at;
    for (const v of this.variables) {
      const t = tf.tensor(flat.subarray(offset, offset + v.size), v.shape);
      v.assign(t);
      t.dispose();
      offset += v.size;
    }
  }
}

export { stateVariables };

export class Trainer implements Replica {
  readonly model: tf.Sequential;
  readonly variables: tf.Variable[];
  readonly sizes: number[];
  /** Elements of gradient in the fusion buffer (without the statistics). */
  readonly gradientLength: number;
  readonly weightLength: number;
  readonly phases: readonly PhaseLayout[];
  private readonly trainable: VariableSet;
  readonly state: VariableSet;
  private readonly all: VariableSet;
  private readonly optimizer: tf.Optimizer;
  private readonly baseRate: number;
  private readonly loss: (t: tf.Tensor, p: tf.Tensor) => tf.Scalar;
  private readonly clipNorm: number;
  private readonly seed: number;
  private readonly draws = new SampleDraws();
  /** The native backend's fused update, unless SYNCLINE_FUSED_UPDATE=off or another backend/optimizer. */
  private readonly fused: FusedUpdate | undefined;
  /** Steps whose update went through the fused path (the others took TF.js's). */
  fusedSteps = 0;

  /**
   * `base`: the loaded base model of a transfer-learning job (spec.model.base); its kept layers
   * are copied into this replica's model and it is disposed.
   */
  constructor(
    spec: JobSpec,
    readonly dataset: DatasetShape,
    base?: tf.LayersModel,
  ) {
    if (!spec.model || !spec.training) throw new Error('spec without model or training');
    this.seed = spec.training.seed;
    if (spec.model.base && !base) throw new Error(`the job starts from base model ${spec.model.base.name} v${spec.model.base.version}, which was not loaded`);
    this.model = spec.model.base && base ? buildTransferModel(base, spec.model.base, spec.model.layers, spec.training.seed, this.draws) : buildModel(spec.model.layers, dataset.inputShape, spec.training.seed, this.draws);
    this.variables = trainableVariables(this.model);
    this.trainable = new VariableSet(this.variables);
    this.state = new VariableSet(stateVariables(this.model));
    this.all = new VariableSet([...this.variables, ...this.state.variables]);
    this.sizes = this.trainable.sizes;
    this.gradientLength = this.trainable.length;
    this.weightLength = this.all.length;
    this.phases = [{ gradients: this.gradientLength, statistics: [Stat.loss, Stat.correct, Stat.absError, Stat.samples] }];
    this.optimizer = buildOptimizer(spec.model.optimizer);
    this.baseRate = baseLearningRate(spec.model.optimizer);
    this.loss = lossFunction(spec.model.loss);
    this.clipNorm = spec.training.clipGlobalNorm;
    this.fused = process.env.SYNCLINE_FUSED_UPDATE === 'off' ? undefined : FusedUpdate.for(this.optimizer, this.variables);
  }

  private inputs(x: Float32Array, count: number): tf.Tensor {
    return tf.tensor(x, [count, ...this.dataset.inputShape]);
  }

  /** Fills `buffer` (phase 0's layout) with the gradients of the summed loss over `batch`, and the statistics. */
  async localGradients(batch: TrainingBatch, buffer: StepBuffer): Promise<StepBuffer> {
    const { count } = batch;
    if (count === 0) return buffer;
    const xs = this.inputs(batch.x, count);
    const ys = tf.tensor2d(batch.y, [count, this.dataset.targetSize]);
    try {
      let correct: tf.Scalar | undefined;
      let absError: tf.Scalar | undefined;
      const keys = { seed: this.seed, epoch: batch.epoch, samples: batch.samples, pass: 0 };
      const { value, grads } = this.draws.during(keys, () =>
        tf.variableGrads(() => {
          const pred = this.model.apply(xs, { training: true }) as tf.Tensor2D;
          correct = tf.keep(correctCount(ys, pred));
          absError = tf.keep(absoluteErrorSum(ys, pred));
          return this.loss(ys, pred);
        }, this.variables),
      );
      await readStep(buffer, this.trainable.ordered(grads), { [Stat.loss]: value, [Stat.correct]: correct!, [Stat.absError]: absError!, [Stat.samples]: count });
      tf.dispose([value, correct!, absError!, ...Object.values(grads)]);
      return buffer;
    } finally {
      tf.dispose([xs, ys]);
    }
  }

  /** Applies the update from the all-reduced buffer; returns the global step statistics. */
  applySummed(summed: StepBuffer): StepStats {
    const samples = summed.stat(Stat.samples);
    if (!(samples > 0)) throw new Error('all-reduced step has no samples');
    if (this.fused?.apply(summed.gradients, samples, this.clipNorm)) {
      this.fusedSteps++;
    } else {
      const grads = this.trainable.meanGradients(summed.gradients, samples, this.clipNorm);
      this.optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
    }
    return {
      loss: summed.stat(Stat.loss) / samples,
      accuracy: this.classification ? summed.stat(Stat.correct) / samples : 0,
      mae: summed.stat(Stat.absError) / samples,
      samples,
    };
  }

  async step(batch: TrainingBatch, learningRateFactor: number, allReduce: AllReduce): Promise<StepStats> {
    setLearningRate(this.optimizer, this.baseRate * learningRateFactor);
    const buffer = await this.localGradients(batch, allReduce.buffer(0));
    const summed = await allReduce.sum(buffer, 0);
    return this.applySummed(summed);
  }

  async getWeights(): Promise<Float32Array> {
    const flat = new Float32Array(this.weightLength);
    await this.all.read(flat);
    return flat;
  }

  setWeights(flat: Float32Array): void {
    if (flat.length !== this.weightLength) throw new Error(`weights of length ${flat.length}, model has ${this.weightLength}`);
    this.all.assign(flat);
  }

  /** Mean loss and metrics over the held-out samples, summed batch by batch in order. */
  async evaluate(heldout: SampleSource, signal?: AbortSignal, batchSize = EVALUATION_BATCH_SIZE): Promise<Evaluation> {
    let lossSum = 0;
    let correct = 0;
    let absError = 0;
    const { targetSize } = this.dataset;
    for await (const batch of evaluationBatches(heldout, batchSize, signal)) {
      const n = batch.count;
      const sums = tf.tidy(() => {
        const xs = this.inputs(batch.x, n);
        const ys = tf.tensor2d(batch.y, [n, targetSize]);
        const pred = this.model.predict(xs) as tf.Tensor2D;
        return tf.stack([this.loss(ys, pred), correctCount(ys, pred), absoluteErrorSum(ys, pred)]);
      });
      const [l, c, a] = await sums.data();
      sums.dispose();
      lossSum += l!;
      correct += c!;
      absError += a!;
    }
    return { loss: lossSum / heldout.count, accuracy: this.classification ? correct / heldout.count : 0, mae: absError / heldout.count };
  }

  /** Accuracy means something only for class targets; regression jobs report mae. */
  private get classification(): boolean {
    return this.dataset.target.kind === 'classes';
  }

  publishedModel(): tf.LayersModel {
    return this.model;
  }

  async optimizerStates(): Promise<OptimizerTensor[][]> {
    return [await optimizerState(this.optimizer)];
  }

  async restoreOptimizers(states: OptimizerTensor[][]): Promise<void> {
    await restoreOptimizer(this.optimizer, states[0] ?? []);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
