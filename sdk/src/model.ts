// A loaded model behind a tensor-free API: numbers in, numbers out, every intermediate tensor
// freed, so edge callers never manage tfjs memory themselves.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { BackendName } from './backend.js';
import { toBatch, type ModelInput } from './input.js';

export interface ModelInfo {
  name: string;
  version: number;
  /** The tfjs backend that was current when the model was loaded. */
  backend: BackendName;
}

/** The per-sample dims of a symbolic shape; throws where one is unknown (flat input could not be reshaped). */
function sampleDims(shape: (number | null)[], what: string): number[] {
  const dims = shape.slice(1);
  if (!dims.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new Error(`${what} shape [${shape.join(', ')}] has a dimension of unknown size besides the batch`);
  }
  return dims;
}

export class SynclineModel {
  readonly name: string;
  readonly version: number;
  readonly backend: BackendName;
  /** Dims of one sample, without the batch dim (e.g. [784]). */
  readonly inputShape: number[];
  /** Values per sample in the output (e.g. 10 class probabilities). */
  readonly outputSize: number;
  readonly #model: LayersModel;
  readonly #sampleSize: number;
  #disposed = false;

  /** Takes ownership of `model`; throws, owning nothing, unless it has one fixed-size input and output. */
  constructor(model: LayersModel, info: ModelInfo) {
    const [input, ...moreInputs] = model.inputs;
    const [output, ...moreOutputs] = model.outputs;
    if (input === undefined || output === undefined || moreInputs.length > 0 || moreOutputs.length > 0) {
      throw new Error(`model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; one of each is supported`);
    }
    this.name = info.name;
    this.version = info.version;
    this.backend = info.backend;
    this.inputShape = sampleDims(input.shape, 'input');
    this.outputSize = sampleDims(output.shape, 'output').reduce((n, d) => n * d, 1);
    this.#sampleSize = this.inputShape.reduce((n, d) => n * d, 1);
    this.#model = model;
  }

  /** Outputs for one sample or a batch (see ModelInput), flattened row-major: outputSize values per sample. */
  predict(input: ModelInput): Float32Array {
    const batch = toBatch(input, this.#sampleSize);
    return this.#run(batch.data, batch.size);
  }

  /** Outputs for `batchSize` samples laid end to end in `input`. */
  predictBatch(input: Float32Array, batchSize: number): Float32Array {
    if (!Number.isInteger(batchSize) || batchSize < 1 || input.length !== batchSize * this.#sampleSize) {
      throw new RangeError(`input has ${input.length} values; ${batchSize} samples need ${batchSize * this.#sampleSize}`);
    }
    return this.#run(input, batchSize);
  }

  /** The index of the largest output of each sample (the predicted class, for a classifier). */
  predictClass(input: ModelInput): number[] {
    const outputs = this.predict(input);
    const classes: number[] = [];
    for (let start = 0; start < outputs.length; start += this.outputSize) {
      let best = 0;
      let bestValue = -Infinity;
      outputs.subarray(start, start + this.outputSize).forEach((value, j) => {
        if (value > bestValue) [best, bestValue] = [j, value];
      });
      classes.push(best);
    }
    return classes;
  }

  /** Frees the model's weights; later predictions throw. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#model.dispose();
  }

  #run(data: Float32Array, batchSize: number): Float32Array {
    if (this.#disposed) throw new Error(`model ${this.name} v${this.version} has been disposed`);
    return tf.tidy(() => {
      const x = tf.tensor(data, [batchSize, ...this.inputShape], 'float32');
      const y = this.#model.predict(x);
      // The constructor admitted only single-output models, so this is one tensor.
      const output = Array.isArray(y) ? y[0] : y;
      if (output === undefined) throw new Error('model produced no output');
      const values = output.dataSync();
      return values instanceof Float32Array ? values : Float32Array.from(values);
    });
  }
}
