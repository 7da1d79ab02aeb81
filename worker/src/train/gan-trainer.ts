// One replica of a GAN job. Each step has two all-reduced phases: the discriminator learns
// to tell real samples (this replica's share of the global batch) from the generator's
// fakes, then the generator learns to make the discriminator call its fakes real (the
// non-saturating loss). Both gradient sets are summed over all replicas like any model's.
import * as tf from '@tensorflow/tfjs';
import type { JobSpec } from '@syncline/proto';
import type { DatasetShape, Split } from '../data/dataset.js';
import { buildModel, trainableVariables } from '../model/build.js';
import { baseLearningRate, buildOptimizer, setLearningRate } from '../model/optimizer.js';
import type { OptimizerTensor } from './checkpoint.js';
import { VariableSet, optimizerState, restoreOptimizer, stateVariables, type AllReduce, type Evaluation, type Replica, type StepStats } from './trainer.js';

const EPS = 1e-7;

/** Summed binary cross-entropy of probabilities `p` against a constant label. */
function bceSum(p: tf.Tensor, label: 0 | 1): tf.Scalar {
  const clipped = tf.clipByValue(p, EPS, 1 - EPS);
  return tf.neg(tf.sum(label === 1 ? tf.log(clipped) : tf.log(tf.sub(1, clipped)))) as tf.Scalar;
}

export class GanTrainer implements Replica {
  readonly generator: tf.Sequential;
  readonly discriminator: tf.Sequential;
  readonly phases = 2;
  readonly weightLength: number;
  readonly latentDim: number;
  private readonly g: VariableSet;
  private readonly d: VariableSet;
  readonly state: VariableSet;
  private readonly all: VariableSet;
  private readonly gOptimizer: tf.Optimizer;
  private readonly dOptimizer: tf.Optimizer;
  private readonly gRate: number;
  private readonly dRate: number;
  private readonly clipNorm: number;
  private readonly seed: number;
  private steps = 0;

  constructor(
    spec: JobSpec,
    readonly dataset: DatasetShape,
    private readonly rank: number,
  ) {
    const gan = spec.gan;
    if (!gan || !spec.training) throw new Error('spec without gan or training');
    this.latentDim = gan.latentDim;
    this.seed = spec.training.seed;
    this.generator = buildModel(gan.generator, [gan.latentDim], spec.training.seed);
    this.discriminator = buildModel(gan.discriminator, dataset.inputShape, spec.training.seed + 1);
    this.g = new VariableSet(trainableVariables(this.generator));
    this.d = new VariableSet(trainableVariables(this.discriminator));
    this.state = new VariableSet([...stateVariables(this.generator), ...stateVariables(this.discriminator)]);
    this.all = new VariableSet([...this.g.variables, ...this.d.variables, ...this.state.variables]);
    this.weightLength = this.all.length;
    this.gOptimizer = buildOptimizer(gan.generatorOptimizer);
    this.dOptimizer = buildOptimizer(gan.discriminatorOptimizer);
    this.gRate = baseLearningRate(gan.generatorOptimizer);
    this.dRate = baseLearningRate(gan.discriminatorOptimizer);
    this.clipNorm = spec.training.clipGlobalNorm;
  }

  /** Latent vectors that differ by rank, step and phase but are reproducible. */
  private noise(count: number, phase: number): tf.Tensor2D {
    const seed = (Math.imul(this.seed + 1, 7919) + Math.imul(this.rank + 1, 104729) + this.steps * 2 + phase) >>> 0;
    return tf.randomNormal([count, this.latentDim], 0, 1, 'float32', seed);
  }

  async step(x: Float32Array, _y: Float32Array, count: number, factor: number, allReduce: AllReduce): Promise<StepStats> {
    setLearningRate(this.dOptimizer, this.dRate * factor);
    setLearningRate(this.gOptimizer, this.gRate * factor);

    // Discriminator: [grads, lossSum, correct, samples].
    const dBuffer = allReduce.buffer(this.d.length + 3, 0);
    if (count > 0) {
      const real = tf.tensor(x, [count, ...this.dataset.inputShape]);
      const z = this.noise(count, 0);
      const fake = tf.tidy(() => this.generator.apply(z, { training: true }) as tf.Tensor);
      let correct: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const pReal = this.discriminator.apply(real, { training: true }) as tf.Tensor;
        const pFake = this.discriminator.apply(fake, { training: true }) as tf.Tensor;
        correct = tf.keep(tf.add(tf.sum(tf.cast(tf.greater(pReal, 0.5), 'float32')), tf.sum(tf.cast(tf.lessEqual(pFake, 0.5), 'float32'))) as tf.Scalar);
        return tf.add(bceSum(pReal, 1), bceSum(pFake, 0)) as tf.Scalar;
      }, this.d.variables);
      this.d.pack(grads, dBuffer);
      dBuffer[this.d.length] = value.dataSync()[0]!;
      dBuffer[this.d.length + 1] = correct!.dataSync()[0]!;
      dBuffer[this.d.length + 2] = count;
      tf.dispose([real, z, fake, value, correct!, ...Object.values(grads)]);
    }
    const dSum = await allReduce.sum(dBuffer, 0);
    const samples = dSum[this.d.length + 2]!;
    if (!(samples > 0)) throw new Error('all-reduced step has no samples');
    const dGrads = this.d.meanGradients(dSum, samples, this.clipNorm);
    this.dOptimizer.applyGradients(dGrads);
    tf.dispose(Object.values(dGrads));

    // Generator: [grads, lossSum, samples], as many fakes as this replica's real samples.
    const gBuffer = allReduce.buffer(this.g.length + 2, 1);
    if (count > 0) {
      const z = this.noise(count, 1);
      const { value, grads } = tf.variableGrads(() => {
        const fake = this.generator.apply(z, { training: true }) as tf.Tensor;
        return bceSum(this.discriminator.apply(fake, { training: true }) as tf.Tensor, 1);
      }, this.g.variables);
      this.g.pack(grads, gBuffer);
      gBuffer[this.g.length] = value.dataSync()[0]!;
      gBuffer[this.g.length + 1] = count;
      tf.dispose([z, value, ...Object.values(grads)]);
    }
    const gSum = await allReduce.sum(gBuffer, 1);
    const gGrads = this.g.meanGradients(gSum, gSum[this.g.length + 1]!, this.clipNorm);
    this.gOptimizer.applyGradients(gGrads);
    tf.dispose(Object.values(gGrads));
    this.steps++;

    return {
      loss: dSum[this.d.length]! / samples,
      accuracy: dSum[this.d.length + 1]! / (2 * samples),
      mae: 0,
      generatorLoss: gSum[this.g.length]! / gSum[this.g.length + 1]!,
      samples,
    };
  }

  getWeights(): Float32Array {
    const flat = new Float32Array(this.weightLength);
    this.all.read(flat);
    return flat;
  }

  setWeights(flat: Float32Array): void {
    if (flat.length !== this.weightLength) throw new Error(`weights of length ${flat.length}, GAN has ${this.weightLength}`);
    this.all.assign(flat);
  }

  /** The discriminator's loss and accuracy on held-out real samples and as many fakes. */
  evaluate(split: Split): Evaluation {
    const n = Math.min(split.count, 1000);
    const result = tf.tidy(() => {
      const real = tf.tensor(split.x.subarray(0, n * this.dataset.featureSize), [n, ...this.dataset.inputShape]);
      const fake = this.generator.predict(tf.randomNormal([n, this.latentDim], 0, 1, 'float32', this.seed)) as tf.Tensor;
      const pReal = this.discriminator.predict(real) as tf.Tensor;
      const pFake = this.discriminator.predict(fake) as tf.Tensor;
      const correct = tf.add(tf.sum(tf.cast(tf.greater(pReal, 0.5), 'float32')), tf.sum(tf.cast(tf.lessEqual(pFake, 0.5), 'float32')));
      return tf.stack([tf.add(bceSum(pReal, 1), bceSum(pFake, 0)), correct, bceSum(pFake, 1)]);
    });
    const [loss, correct, gLoss] = result.dataSync();
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

  resumedAt(step: number): void {
    // The noise sequence continues where the state left it.
    this.steps = step;
  }

  dispose(): void {
    this.gOptimizer.dispose();
    this.dOptimizer.dispose();
    this.generator.dispose();
    this.discriminator.dispose();
  }
}
