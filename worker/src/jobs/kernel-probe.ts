// TF.js has no fallback between backends: a kernel the backend lacks fails the step. Find out
// before training, once per model, and fail with a message that names the kernels.
import type { Assignment } from '@syncline/proto';
import * as tf from '@tensorflow/tfjs';
import { kernelsMissingForTraining } from '../kernels/missing-kernels.js';
import { buildModel } from '../model/build.js';

export class KernelProbe {
  private readonly checked = new Set<string>();

  /** Resolves once every kernel of a training step of the assignment's model runs on the current backend. */
  async check(a: Assignment, inputShape: number[]): Promise<void> {
    const spec = a.spec!;
    // A transfer-learning job's own layers sit on the base model's output, whose shape only the
    // loaded base knows: its kernels are met in its first step instead.
    if (spec.model?.base) return;
    const stacks = spec.gan
      ? [
          { layers: spec.gan.generator, input: [spec.gan.latentDim] },
          { layers: spec.gan.discriminator, input: inputShape },
        ]
      : [{ layers: spec.model!.layers, input: inputShape }];
    const key = JSON.stringify(stacks);
    if (this.checked.has(key)) return;
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
    this.checked.add(key);
  }
}
