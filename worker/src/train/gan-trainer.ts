// One replica of a GAN job. Each step has two all-reduced phases: the discriminator learns
// to tell real samples (this replica's share of the global batch) from the generator's
// fakes, then the generator learns to make the discriminator call its fakes real (the
// non-saturating loss). Both gradient sets are summed over all replicas like any model's.
//
// Each real sample brings one fake per phase: its latent vector is drawn from (job seed, epoch,
// the sample's index, phase), so fakes, like dropout masks, do not depend on the rank.
//
// A conditional GAN (AC-GAN) gives each fake the class of its real sample (a one-hot after the
// latent vector), and its discriminator also names the class of what it sees: both networks add
// the class cross-entropy of reals and fakes to their loss.
import * as tf from '@tensorflow/tfjs';
import { ganClasses, type JobSpec } from '@syncline/proto';
import type { DatasetShape } from '../data/dataset.js';
import { indexRange } from '../data/evaluation-batches.js';
import type { SampleSource } from '../data/sample-source.js';
import { buildModel, trainableVariables } from '../model/build.js';
import { baseLearningRate, buildOptimizer, setLearningRate } from '../model/optimizer.js';
import { SampleDraws } from '../model/sample-dropout.js';
import { Streams, sampleNormals } from '../random/sample-random.js';
import type { OptimizerTensor } from './checkpoint.js';
import { readStep } from './readback.js';
import { Stat, type PhaseLayout } from './step-buffer.js';
import { VariableSet, optimizerState, restoreOptimizer, stateVariables, type AllReduce, type Evaluation, type Replica, type StepStats, type TrainingBatch } from './trainer.js';

/** Forward passes of one step, for the dropout keys: each sees the same samples, with its own masks. */
const Pass = {
  /** Generator making the discriminator phase's fakes; discriminator on the reals. */
  fakesForD: 0,
  real: 0,
  /** Discriminator on the discriminator phase's fakes. */
  fakeInD: 1,
  /** Generator making the generator phase's fakes, and the discriminator judging them. */
  fakesForG: 1,
  fakeInG: 2,
} as const;

const EPS = 1e-7;

/**
 * Summed binary cross-entropy of probabilities `p` against a constant label in [0, 1]:
 * -Σ (label log p + (1 - label) log (1 - p)); a label between 0 and 1 is a smoothed one.
 */
export function bceSum(p: tf.Tensor, label: number): tf.Scalar {
  const clipped = tf.clipByValue(p, EPS, 1 - EPS);
  if (label === 1) return tf.neg(tf.sum(tf.log(clipped))) as tf.Scalar;
  if (label === 0) return tf.neg(tf.sum(tf.log(tf.sub(1, clipped)))) as tf.Scalar;
  return tf.neg(tf.add(tf.mul(label, tf.sum(tf.log(clipped))), tf.mul(1 - label, tf.sum(tf.log(tf.sub(1, clipped)))))) as tf.Scalar;
}

/** What the discriminator says of a batch: the probability each sample is real and, for an AC-GAN, class logits. */
interface Judgement {
  pReal: tf.Tensor;
  classLogits?: tf.Tensor2D;
}

/** Summed softmax cross-entropy of class logits against one-hot classes. */
export function classCrossEntropySum(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)))) as tf.Scalar;
}

export class GanTrainer implements Replica {
  readonly generator: tf.Sequential;
  readonly discriminator: tf.Sequential;
  readonly phases: readonly PhaseLayout[];
  readonly weightLength: number;
  readonly latentDim: number;
  /** Classes of a conditional GAN; 0 for an unconditional one. */
  readonly classes: number;
  private readonly g: VariableSet;
  private readonly d: VariableSet;
  readonly state: VariableSet;
  private readonly all: VariableSet;
  private readonly gOptimizer: tf.Optimizer;
  private readonly dOptimizer: tf.Optimizer;
  private readonly gRate: number;
  private readonly dRate: number;
  private readonly clipNorm: number;
  /** The discriminator's target for real samples (below 1: one-sided label smoothing). */
  private readonly realLabel: number;
  private readonly seed: number;
  private readonly gDraws = new SampleDraws(0);
  private readonly dDraws = new SampleDraws(1);

  constructor(
    spec: JobSpec,
    readonly dataset: DatasetShape,
  ) {
    const gan = spec.gan;
    if (!gan || !spec.training) throw new Error('spec without gan or training');
    this.latentDim = gan.latentDim;
    this.classes = ganClasses(gan, dataset.target);
    if (this.classes > 0 && dataset.targetSize !== this.classes) throw new Error(`a conditional GAN over ${this.classes} classes got targets of ${dataset.targetSize} values`);
    this.seed = spec.training.seed;
    this.generator = buildModel(gan.generator, [gan.latentDim + this.classes], spec.training.seed, this.gDraws);
    this.discriminator = buildModel(gan.discriminator, dataset.inputShape, spec.training.seed + 1, this.dDraws);
    this.g = new VariableSet(trainableVariables(this.generator));
    this.d = new VariableSet(trainableVariables(this.discriminator));
    this.state = new VariableSet([...stateVariables(this.generator), ...stateVariables(this.discriminator)]);
    this.all = new VariableSet([...this.g.variables, ...this.d.variables, ...this.state.variables]);
    this.weightLength = this.all.length;
    this.phases = [
      { gradients: this.d.length, statistics: [Stat.loss, Stat.correct, Stat.samples] },
      { gradients: this.g.length, statistics: [Stat.loss, Stat.samples] },
    ];
    this.gOptimizer = buildOptimizer(gan.generatorOptimizer);
    this.dOptimizer = buildOptimizer(gan.discriminatorOptimizer);
    this.gRate = baseLearningRate(gan.generatorOptimizer);
    this.dRate = baseLearningRate(gan.discriminatorOptimizer);
    this.clipNorm = spec.training.clipGlobalNorm;
    this.realLabel = gan.realLabel === 0 ? 1 : gan.realLabel;
  }

  /** The one-hot classes of `count` rows of targets, for a conditional GAN; undefined for an unconditional one. */
  private oneHot(y: Float32Array, count: number): tf.Tensor2D | undefined {
    return this.classes > 0 ? tf.tensor2d(y, [count, this.classes]) : undefined;
  }

  /** The generator's input for each sample of the batch, for `phase`: its latent vector, then its one-hot class when conditional. */
  private latents(batch: TrainingBatch, phase: number, classes: tf.Tensor2D | undefined): tf.Tensor2D {
    const z = sampleNormals(this.seed, batch.epoch, batch.samples, Streams.latent(phase), this.latentDim);
    return tf.tidy(() => this.generatorInput(tf.tensor2d(z, [batch.count, this.latentDim]), classes));
  }

  /** Latent vectors followed, when conditional, by the one-hot classes. */
  private generatorInput(z: tf.Tensor2D, classes: tf.Tensor2D | undefined): tf.Tensor2D {
    return classes ? tf.concat([z, classes], 1) : z;
  }

  /** The discriminator's outputs read as a probability of being real and, for an AC-GAN, class logits. */
  private judge(output: tf.Tensor): Judgement {
    if (this.classes === 0) return { pReal: output };
    const [logit, classLogits] = tf.split(output, [1, this.classes], 1) as [tf.Tensor2D, tf.Tensor2D];
    return { pReal: tf.sigmoid(logit), classLogits };
  }

  /** `adversarial` plus, for an AC-GAN, the class cross-entropy of each judgement (an unconditional GAN adds nothing). */
  private withClassLoss(adversarial: tf.Tensor, judged: Judgement[], oneHot: tf.Tensor2D | undefined): tf.Scalar {
    if (!oneHot) return adversarial as tf.Scalar;
    return tf.addN([adversarial, ...judged.map((j) => classCrossEntropySum(j.classLogits!, oneHot))]) as tf.Scalar;
  }

  private keys(batch: TrainingBatch, pass: number) {
    return { seed: this.seed, epoch: batch.epoch, samples: batch.samples, pass };
  }

  async step(batch: TrainingBatch, factor: number, allReduce: AllReduce): Promise<StepStats> {
    const { count } = batch;
    setLearningRate(this.dOptimizer, this.dRate * factor);
    setLearningRate(this.gOptimizer, this.gRate * factor);

    // Discriminator: its gradients, loss sum, correct calls and sample count.
    const dBuffer = allReduce.buffer(0);
    if (count > 0) {
      const real = tf.tensor(batch.x, [count, ...this.dataset.inputShape]);
      const classes = this.oneHot(batch.y, count);
      const z = this.latents(batch, 0, classes);
      const fake = this.gDraws.during(this.keys(batch, Pass.fakesForD), () => tf.tidy(() => this.generator.apply(z, { training: true }) as tf.Tensor));
      let correct: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const onReal = this.judge(this.dDraws.during(this.keys(batch, Pass.real), () => this.discriminator.apply(real, { training: true }) as tf.Tensor));
        const onFake = this.judge(this.dDraws.during(this.keys(batch, Pass.fakeInD), () => this.discriminator.apply(fake, { training: true }) as tf.Tensor));
        correct = tf.keep(tf.add(tf.sum(tf.cast(tf.greater(onReal.pReal, 0.5), 'float32')), tf.sum(tf.cast(tf.lessEqual(onFake.pReal, 0.5), 'float32'))) as tf.Scalar);
        return this.withClassLoss(tf.add(bceSum(onReal.pReal, this.realLabel), bceSum(onFake.pReal, 0)), [onReal, onFake], classes);
      }, this.d.variables);
      await readStep(dBuffer, this.d.ordered(grads), { [Stat.loss]: value, [Stat.correct]: correct!, [Stat.samples]: count });
      tf.dispose([real, z, fake, value, correct!, ...(classes ? [classes] : []), ...Object.values(grads)]);
    }
    const dSum = await allReduce.sum(dBuffer, 0);
    const samples = dSum.stat(Stat.samples);
    if (!(samples > 0)) throw new Error('all-reduced step has no samples');
    // The generator phase may fail (a peer lost, a new generation): then the discriminator's
    // update is undone, so a replica never stays half a step ahead of the others.
    const before = await this.discriminatorState();
    const dGrads = this.d.meanGradients(dSum.gradients, samples, this.clipNorm);
    this.dOptimizer.applyGradients(dGrads);
    tf.dispose(Object.values(dGrads));

    try {
      // Generator: its gradients, loss sum and sample count, one fake per real sample.
      const gBuffer = allReduce.buffer(1);
      if (count > 0) {
        const classes = this.oneHot(batch.y, count);
        const z = this.latents(batch, 1, classes);
        const { value, grads } = tf.variableGrads(() => {
          const fake = this.gDraws.during(this.keys(batch, Pass.fakesForG), () => this.generator.apply(z, { training: true }) as tf.Tensor);
          const judged = this.judge(this.dDraws.during(this.keys(batch, Pass.fakeInG), () => this.discriminator.apply(fake, { training: true }) as tf.Tensor));
          return this.withClassLoss(bceSum(judged.pReal, 1), [judged], classes);
        }, this.g.variables);
        await readStep(gBuffer, this.g.ordered(grads), { [Stat.loss]: value, [Stat.samples]: count });
        tf.dispose([z, value, ...(classes ? [classes] : []), ...Object.values(grads)]);
      }
      const gSum = await allReduce.sum(gBuffer, 1);
      const gGrads = this.g.meanGradients(gSum.gradients, gSum.stat(Stat.samples), this.clipNorm);
      this.gOptimizer.applyGradients(gGrads);
      tf.dispose(Object.values(gGrads));
      return {
        loss: dSum.stat(Stat.loss) / samples,
        accuracy: dSum.stat(Stat.correct) / (2 * samples),
        mae: 0,
        generatorLoss: gSum.stat(Stat.loss) / gSum.stat(Stat.samples),
        samples,
      };
    } catch (err) {
      this.d.assign(before.weights);
      await restoreOptimizer(this.dOptimizer, before.optimizer);
      throw err;
    }
  }

  /** The discriminator's weights and optimizer state, to undo its half of a failed step. */
  private async discriminatorState(): Promise<{ weights: Float32Array; optimizer: OptimizerTensor[] }> {
    const weights = new Float32Array(this.d.length);
    await this.d.read(weights);
    return { weights, optimizer: await optimizerState(this.dOptimizer) };
  }

  async getWeights(): Promise<Float32Array> {
    const flat = new Float32Array(this.weightLength);
    await this.all.read(flat);
    return flat;
  }

  setWeights(flat: Float32Array): void {
    if (flat.length !== this.weightLength) throw new Error(`weights of length ${flat.length}, GAN has ${this.weightLength}`);
    this.all.assign(flat);
  }

  /**
   * The discriminator's loss and accuracy on the first (at most 1,000) held-out real samples and
   * as many fakes, and the generator's loss on those fakes. An AC-GAN's losses include the class
   * cross-entropy, as its training losses do (its accuracy stays real against fake).
   */
  async evaluate(heldout: SampleSource, signal?: AbortSignal): Promise<Evaluation> {
    const n = Math.min(heldout.count, 1000);
    const { x, y } = await heldout.rows(indexRange(0, n), signal);
    const result = tf.tidy(() => {
      const real = tf.tensor(x, [n, ...this.dataset.inputShape]);
      // An AC-GAN's fakes take the held-out samples' classes.
      const classes = this.oneHot(y, n);
      const z = tf.randomNormal([n, this.latentDim], 0, 1, 'float32', this.seed) as tf.Tensor2D;
      const fake = this.generator.predict(this.generatorInput(z, classes)) as tf.Tensor;
      const onReal = this.judge(this.discriminator.predict(real) as tf.Tensor);
      const onFake = this.judge(this.discriminator.predict(fake) as tf.Tensor);
      const correct = tf.add(tf.sum(tf.cast(tf.greater(onReal.pReal, 0.5), 'float32')), tf.sum(tf.cast(tf.lessEqual(onFake.pReal, 0.5), 'float32')));
      const dLoss = this.withClassLoss(tf.add(bceSum(onReal.pReal, 1), bceSum(onFake.pReal, 0)), [onReal, onFake], classes);
      return tf.stack([dLoss, correct, this.withClassLoss(bceSum(onFake.pReal, 1), [onFake], classes)]);
    });
    const [loss, correct, gLoss] = await result.data();
    result.dispose();
    return { loss: loss! / n, accuracy: correct! / (2 * n), mae: 0, generatorLoss: gLoss! / n };
  }

  publishedModel(): tf.LayersModel {
    return this.generator;
  }

  async optimizerStates(): Promise<OptimizerTensor[][]> {
    return [await optimizerState(this.gOptimizer), await optimizerState(this.dOptimizer)];
  }

  async restoreOptimizers(states: OptimizerTensor[][]): Promise<void> {
    await restoreOptimizer(this.gOptimizer, states[0] ?? []);
    await restoreOptimizer(this.dOptimizer, states[1] ?? []);
  }

  dispose(): void {
    this.gOptimizer.dispose();
    this.dOptimizer.dispose();
    this.generator.dispose();
    this.discriminator.dispose();
  }
}
