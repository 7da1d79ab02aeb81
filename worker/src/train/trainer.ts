// One replica's model and optimizer. Gradients travel as one flat "fusion buffer" in variable
// order, followed by three statistics: [ ...gradients, lossSum, correct, samples ]. Summing
// the buffers of all replicas (the all-reduce) gives the global gradient of the summed loss
// and the global statistics at once; every replica then divides by the global sample count
// and applies the same update, so replicas stay identical.
import * as tf from '@tensorflow/tfjs';
import type { JobSpec } from '@syncline/proto';
import type { Dataset, Split } from '../data/dataset.js';
import { buildModel, trainableVariables } from '../model/build.js';
import { correctCount, lossFunction } from '../model/loss.js';
import { buildOptimizer } from '../model/optimizer.js';

export const STATS = 3;

export interface StepStats {
  loss: number;
  accuracy: number;
  samples: number;
}

export class Trainer {
  readonly model: tf.Sequential;
  readonly variables: tf.Variable[];
  readonly sizes: number[];
  /** Elements of gradient in the fusion buffer (without the statistics). */
  readonly gradientLength: number;
  private readonly optimizer: tf.Optimizer;
  private readonly loss: (t: tf.Tensor, p: tf.Tensor) => tf.Scalar;

  constructor(
    spec: JobSpec,
    readonly dataset: Pick<Dataset, 'inputShape' | 'featureSize' | 'classes'>,
  ) {
    if (!spec.model || !spec.training) throw new Error('spec without model or training');
    this.model = buildModel(spec.model, dataset.inputShape, spec.training.seed);
    this.variables = trainableVariables(this.model);
    this.sizes = this.variables.map((v) => v.size);
    this.gradientLength = this.sizes.reduce((a, b) => a + b, 0);
    this.optimizer = buildOptimizer(spec.model.optimizer);
    this.loss = lossFunction(spec.model.loss);
  }

  /** The fusion buffer for `count` samples: gradients of the summed loss, then the statistics. */
  localGradients(x: Float32Array, y: Float32Array, count: number): Float32Array {
    const buffer = new Float32Array(this.gradientLength + STATS);
    if (count === 0) return buffer;
    const xs = tf.tensor2d(x, [count, this.dataset.featureSize]);
    const ys = tf.tensor2d(y, [count, this.dataset.classes]);
    try {
      let correct: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const pred = this.model.apply(xs, { training: true }) as tf.Tensor2D;
        correct = tf.keep(correctCount(ys, pred));
        return this.loss(ys, pred);
      }, this.variables);
      let offset = 0;
      for (const v of this.variables) {
        const g = grads[v.name];
        if (!g) throw new Error(`no gradient for ${v.name}`);
        buffer.set(g.dataSync() as Float32Array, offset);
        offset += v.size;
      }
      buffer[offset] = value.dataSync()[0]!;
      buffer[offset + 1] = correct!.dataSync()[0]!;
      buffer[offset + 2] = count;
      tf.dispose([value, correct!, ...Object.values(grads)]);
      return buffer;
    } finally {
      tf.dispose([xs, ys]);
    }
  }

  /** Applies the update from the all-reduced fusion buffer; returns the global step statistics. */
  applySummed(summed: Float32Array): StepStats {
    const samples = summed[this.gradientLength + 2]!;
    if (!(samples > 0)) throw new Error('all-reduced step has no samples');
    const grads: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of this.variables) {
      const mean = new Float32Array(v.size);
      for (let i = 0; i < v.size; i++) mean[i] = summed[offset + i]! / samples;
      grads[v.name] = tf.tensor(mean, v.shape);
      offset += v.size;
    }
    this.optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    return {
      loss: summed[this.gradientLength]! / samples,
      accuracy: summed[this.gradientLength + 1]! / samples,
      samples,
    };
  }

  getWeights(): Float32Array {
    const flat = new Float32Array(this.gradientLength);
    let offset = 0;
    for (const v of this.variables) {
      flat.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    return flat;
  }

  setWeights(flat: Float32Array): void {
    if (flat.length !== this.gradientLength) throw new Error(`weights of length ${flat.length}, model has ${this.gradientLength}`);
    let offset = 0;
    for (const v of this.variables) {
      const t = tf.tensor(flat.subarray(offset, offset + v.size), v.shape);
      v.assign(t);
      t.dispose();
      offset += v.size;
    }
  }

  /** Mean loss and accuracy over a split, in batches. */
  evaluate(split: Split, batchSize = 500): { loss: number; accuracy: number } {
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < split.count; start += batchSize) {
      const n = Math.min(batchSize, split.count - start);
      const [l, c] = tf.tidy(() => {
        const xs = tf.tensor2d(split.x.subarray(start * this.dataset.featureSize, (start + n) * this.dataset.featureSize), [n, this.dataset.featureSize]);
        const ys = tf.tensor2d(split.y.subarray(start * this.dataset.classes, (start + n) * this.dataset.classes), [n, this.dataset.classes]);
        const pred = this.model.predict(xs) as tf.Tensor2D;
        return [this.loss(ys, pred), correctCount(ys, pred)];
      });
      lossSum += l!.dataSync()[0]!;
      correct += c!.dataSync()[0]!;
      tf.dispose([l!, c!]);
    }
    return { loss: lossSum / split.count, accuracy: correct / split.count };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
