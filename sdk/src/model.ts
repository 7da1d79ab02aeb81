// A loaded model behind a tensor-free API: numbers or images in, numbers out, every
// intermediate tensor freed, so edge callers never manage tfjs memory themselves. It can
// replace its own weights with a newer published version while the page keeps running.
import * as tf from '@tensorflow/tfjs-core';
import { model as functionalModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { ModelLoadError } from './errors.js';
import type { ImageOptions } from './image.js';
import { toBatch, type ModelInput } from './input.js';
import { maximizeActivation, type MaximizedInput, type MaximizeOptions } from './maximize.js';
import { mulberry32, normalSamples } from './random.js';
import type { Quantization } from './source.js';

export interface ModelInfo {
  name: string;
  version: number;
  /** The tfjs backend that was current when the model was loaded. */
  backend: string;
  quantization?: Quantization;
  /** Names of the classes, by output index, when the training data named them (a conditional generator: the classes it draws). */
  classNames?: string[];
  /** A conditional GAN generator: the classes it draws, whose one-hot ends its input. */
  conditionClasses?: number;
}

/** One of a sample's largest outputs: the class index and its output (a probability, for softmax). */
export interface ClassScore {
  index: number;
  score: number;
  /** The class's name, when the model carries class names (image folders: the folder names). */
  label?: string;
}

/** A version fetched and built, not yet in use. */
export interface LoadedVersion {
  model: LayersModel;
  version: number;
  cacheKeys: string[];
  classNames?: string[];
  conditionClasses?: number;
}

/** How a model finds and fetches newer versions of itself (see load.ts). */
export interface ModelUpdates {
  latestVersion(): Promise<number>;
  /** The newest version when it is newer than `current`, else undefined. */
  loadNewer(current: number): Promise<LoadedVersion | undefined>;
  evict(cacheKeys: string[]): Promise<void>;
}

export interface WatchOptions {
  intervalMs: number;
  /** Called after each swap to a newer version. */
  onUpdate?: (model: SynclineModel) => void;
  /** Called when a check or download fails; the model keeps its current version and the watch goes on. */
  onError?: (error: unknown) => void;
}

interface Shapes {
  inputShape: number[];
  outputSize: number;
}

/** A conditional generator's class count, checked against its input: a latent vector then the one-hot class. */
function conditionClassesOf(info: Pick<ModelInfo, 'conditionClasses'>, inputShape: number[]): number {
  const k = info.conditionClasses ?? 0;
  if (k > 0 && !(inputShape.length === 1 && inputShape[0]! > k)) {
    throw new RangeError(`a conditional generator of ${k} classes needs a flat input longer than ${k}; this one takes [${inputShape.join(', ')}]`);
  }
  return k;
}

/** Class names that fit: one per output (a classifier) or one per class drawn (a conditional generator). */
function namesOf(info: Pick<ModelInfo, 'classNames'>, outputSize: number, conditionClasses: number): string[] | undefined {
  const expected = conditionClasses > 0 ? conditionClasses : outputSize;
  return info.classNames?.length === expected ? info.classNames : undefined;
}

/** Each sample's class for generate(): one for all, one each, or drawn uniformly from `seed`. */
function classesFor(count: number, k: number, classes: number | readonly number[] | undefined, seed: number): number[] {
  const valid = (c: number) => Number.isInteger(c) && c >= 0 && c < k;
  if (classes === undefined) {
    // A stream of its own, so the classes do not repeat the latent vectors' draws.
    const random = mulberry32((seed ^ 0x9e3779b9) >>> 0);
    return Array.from({ length: count }, () => Math.min(k - 1, Math.floor(random() * k)));
  }
  if (typeof classes === 'number') {
    if (!valid(classes)) throw new RangeError(`generate(): class ${classes} is not one of 0..${k - 1}`);
    return new Array<number>(count).fill(classes);
  }
  if (classes.length !== count) throw new RangeError(`generate(): ${classes.length} classes for ${count} samples`);
  const bad = classes.find((c) => !valid(c));
  if (bad !== undefined) throw new RangeError(`generate(): class ${bad} is not one of 0..${k - 1}`);
  return [...classes];
}

/** The per-sample dims of a symbolic shape; throws where one is unknown (flat input could not be reshaped). */
function sampleDims(shape: (number | null)[], what: string): number[] {
  const dims = shape.slice(1);
  if (!dims.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new Error(`${what} shape [${shape.join(', ')}] has a dimension of unknown size besides the batch`);
  }
  return dims;
}

/** The shapes the SDK needs; throws unless the model has one fixed-size input and output. */
function shapesOf(model: LayersModel): Shapes {
  const [input, ...moreInputs] = model.inputs;
  const [output, ...moreOutputs] = model.outputs;
  if (input === undefined || output === undefined || moreInputs.length > 0 || moreOutputs.length > 0) {
    throw new Error(`model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; one of each is supported`);
  }
  return {
    inputShape: sampleDims(input.shape, 'input'),
    outputSize: sampleDims(output.shape, 'output').reduce((n, d) => n * d, 1),
  };
}

/** Copies a tensor's values out and frees it (never hand a large typed array back from tf.tidy: it walks it). */
function take(tensor: tf.Tensor): Float32Array {
  try {
    return Float32Array.from(tensor.dataSync());
  } finally {
    tensor.dispose();
  }
}

export class SynclineModel {
  readonly name: string;
  readonly backend: string;
  /** float32 unless a quantized variant was loaded. */
  readonly quantization: Quantization;
  /** Dims of one sample, without the batch dim (e.g. [784]). */
  readonly inputShape: number[];
  /** Values per sample in the output (e.g. 10 class probabilities). */
  readonly outputSize: number;
  #classNames: string[] | undefined;
  #conditionClasses: number;
  #model: LayersModel;
  /** The same layers up to the one before the last (built on first use, shares the weights). */
  #featureModel: LayersModel | undefined;
  #version: number;
  #cacheKeys: string[];
  readonly #sampleSize: number;
  readonly #updates: ModelUpdates | undefined;
  /** Updates run one at a time, so two calls never swap twice or race a dispose. */
  #updating: Promise<boolean> = Promise.resolve(false);
  readonly #watches = new Set<ReturnType<typeof setInterval>>();
  #disposed = false;

  /**
   * Takes ownership of `model`; throws, owning nothing, unless it has one fixed-size input and
   * output. `updates` is absent for a model loaded from a URL outside the coordinator's layout.
   */
  constructor(model: LayersModel, info: ModelInfo, options: { updates?: ModelUpdates; cacheKeys?: string[] } = {}) {
    const { inputShape, outputSize } = shapesOf(model);
    this.name = info.name;
    this.#version = info.version;
    this.backend = info.backend;
    this.quantization = info.quantization ?? 'float32';
    this.inputShape = inputShape;
    this.outputSize = outputSize;
    this.#conditionClasses = conditionClassesOf(info, inputShape);
    this.#classNames = namesOf(info, outputSize, this.#conditionClasses);
    this.#sampleSize = inputShape.reduce((n, d) => n * d, 1);
    this.#model = model;
    this.#updates = options.updates;
    this.#cacheKeys = options.cacheKeys ?? [];
  }

  /**
   * Names of the classes, by output index, when the published model carries them; for a
   * conditional GAN generator, the names of the classes it draws.
   */
  get classNames(): readonly string[] | undefined {
    return this.#classNames;
  }

  /** For a conditional GAN generator, the classes generate() can be asked for; 0 otherwise. */
  get conditionClasses(): number {
    return this.#conditionClasses;
  }

  /** The version whose weights predict() uses now; rises when update() swaps. */
  get version(): number {
    return this.#version;
  }

  /** Outputs for one sample or a batch (see ModelInput), flattened row-major: outputSize values per sample. */
  predict(input: ModelInput, imageOptions?: ImageOptions): Float32Array {
    const batch = toBatch(input, this.inputShape, imageOptions);
    return this.#run(batch.data, batch.size);
  }

  /**
   * For a published GAN generator (a model from latent vectors to samples): `count` samples from
   * standard-normal latent vectors, flattened row-major, outputSize values each. The same `seed`
   * gives the same samples; pass `latent` (count x latent size values) to choose the vectors.
   *
   * A conditional generator (conditionClasses > 0) draws the class it is asked for: `classes` is
   * one class index for every sample or one per sample; absent, each sample's class is drawn
   * uniformly (from `seed`, when given).
   */
  generate(count = 1, options: { seed?: number; latent?: Float32Array; classes?: number | readonly number[] } = {}): Float32Array {
    if (this.inputShape.length !== 1) {
      throw new RangeError(`generate() needs a model whose input is a latent vector; this one takes [${this.inputShape.join(', ')}]`);
    }
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`generate(count): count must be a positive integer, got ${count}`);
    const k = this.#conditionClasses;
    const latentSize = this.#sampleSize - k;
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    const latent = options.latent ?? normalSamples(count * latentSize, seed);
    if (latent.length !== count * latentSize) {
      throw new RangeError(`generate(): latent has ${latent.length} values; ${count} samples need ${count * latentSize}`);
    }
    if (k === 0) {
      if (options.classes !== undefined) throw new RangeError(`generate(): classes were given, but ${this.name} is not a conditional generator`);
      return this.#run(latent, count);
    }
    const classes = classesFor(count, k, options.classes, seed);
    const input = new Float32Array(count * this.#sampleSize);
    for (let i = 0; i < count; i++) {
      input.set(latent.subarray(i * latentSize, (i + 1) * latentSize), i * this.#sampleSize);
      input[i * this.#sampleSize + latentSize + classes[i]!] = 1;
    }
    return this.#run(input, count);
  }

  /** The values predict() feeds the model for `input` (an image resized and normalised, say), flattened. */
  prepareInput(input: ModelInput, imageOptions?: ImageOptions): Float32Array {
    return toBatch(input, this.inputShape, imageOptions).data;
  }

  /** Outputs for `batchSize` samples laid end to end in `input`. */
  predictBatch(input: Float32Array, batchSize: number): Float32Array {
    if (!Number.isInteger(batchSize) || batchSize < 1 || input.length !== batchSize * this.#sampleSize) {
      throw new RangeError(`input has ${input.length} values; ${batchSize} samples need ${batchSize * this.#sampleSize}`);
    }
    return this.#run(input, batchSize);
  }

  /**
   * The outputs of the layer before the last, flattened row-major: for a classifier, the features
   * its final layer classifies (what a Fréchet distance between two sets of samples compares).
   */
  features(input: ModelInput, imageOptions?: ImageOptions): Float32Array {
    this.#assertLive();
    const batch = toBatch(input, this.inputShape, imageOptions);
    if (this.#featureModel === undefined) {
      const layers = this.#model.layers;
      const penultimate = layers[layers.length - 2];
      if (penultimate === undefined) throw new RangeError(`features() needs a model of at least two layers; ${this.name} has ${layers.length}`);
      this.#featureModel = functionalModel({ inputs: this.#model.inputs, outputs: penultimate.output });
    }
    const features = this.#featureModel;
    return take(
      tf.tidy(() => {
        const y = features.predict(tf.tensor(batch.data, [batch.size, ...this.inputShape], 'float32'));
        const output = Array.isArray(y) ? y[0] : y;
        if (output === undefined) throw new Error('model produced no output');
        return tf.reshape(output, [batch.size, -1]);
      }),
    );
  }

  /** The index of the largest output of each sample (the predicted class, for a classifier). */
  predictClass(input: ModelInput, imageOptions?: ImageOptions): number[] {
    return this.predictTopK(input, 1, imageOptions).map(([best]) => best?.index ?? 0);
  }

  /** The `k` largest outputs of each sample, largest first (ties: the lower index first). */
  predictTopK(input: ModelInput, k = 3, imageOptions?: ImageOptions): ClassScore[][] {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
    const outputs = this.predict(input, imageOptions);
    const samples: ClassScore[][] = [];
    for (let start = 0; start < outputs.length; start += this.outputSize) {
      const names = this.#classNames;
      const scores = Array.from(outputs.subarray(start, start + this.outputSize), (score, index): ClassScore => (names ? { index, score, label: names[index]! } : { index, score }));
      samples.push(scores.sort((a, b) => b.score - a.score || a.index - b.index).slice(0, k));
    }
    return samples;
  }

  /**
   * Gradient saliency: |∂ output[classIndex] / ∂ input| for each input value, in the input's
   * layout (samples × inputShape, flattened). Large values mark the inputs the class's score is
   * most sensitive to.
   */
  saliency(input: ModelInput, classIndex: number, imageOptions?: ImageOptions): Float32Array {
    this.#assertLive();
    if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= this.outputSize) {
      throw new RangeError(`class index ${classIndex} is not in [0, ${this.outputSize})`);
    }
    const batch = toBatch(input, this.inputShape, imageOptions);
    const model = this.#model;
    return take(
      tf.tidy(() => {
        const x = tf.tensor(batch.data, [batch.size, ...this.inputShape], 'float32');
        // Samples are independent at inference, so the gradient of the sum is each sample's own.
        const score = (input: tf.Tensor) => {
          const y = model.apply(input, { training: false });
          const output = Array.isArray(y) ? y[0] : y;
          if (!(output instanceof tf.Tensor)) throw new Error('model produced no output');
          return tf.sum(tf.slice(tf.reshape(output, [batch.size, this.outputSize]), [0, classIndex], [batch.size, 1]));
        };
        return tf.abs(tf.grad(score)(x));
      }),
    );
  }

  /**
   * Activation maximization: the input that most raises class `classIndex` (its logit), or unit
   * `classIndex` of `options.layer`, by gradient ascent with L2 decay, jitter and blur
   * (maximize.ts). Image models only (HxWxC, HxW or a square flattened input).
   */
  maximizeActivation(classIndex: number, options: MaximizeOptions = {}): MaximizedInput {
    this.#assertLive();
    return maximizeActivation(this.#model, this.inputShape, classIndex, options);
  }

  /**
   * Runs one prediction on zeros, so the first real one does not pay for shader compilation
   * (webgl, webgpu) or the first memory allocation.
   */
  async warmup(): Promise<void> {
    this.#assertLive();
    await warm(this.#model, this.inputShape);
  }

  /** Whether a newer version than this one is published (one small request for `latest`'s model.json). */
  async checkForUpdate(): Promise<boolean> {
    return (await this.#requireUpdates().latestVersion()) > this.#version;
  }

  /**
   * Swaps to the newest published version of the same model and variant, without a page
   * reload: the new weights are downloaded, verified, built and warmed up first, then replace
   * the old ones, which are freed and dropped from the cache. Resolves to whether it swapped.
   * Throws ModelLoadError (keeping the current version) when the new version takes or gives
   * differently shaped data, since callers are built around the current shapes.
   */
  update(): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const updates = this.#requireUpdates();
      this.#assertLive();
      const next = await updates.loadNewer(this.#version);
      if (next === undefined) return false;
      if (this.#disposed) {
        next.model.dispose();
        return false;
      }
      let conditionClasses = 0;
      try {
        const shapes = shapesOf(next.model);
        if (shapes.inputShape.join() !== this.inputShape.join() || shapes.outputSize !== this.outputSize) {
          throw new ModelLoadError(
            this.name,
            `version ${next.version} takes [${shapes.inputShape.join(', ')}] and gives ${shapes.outputSize} values; version ${this.#version} takes [${this.inputShape.join(', ')}] and gives ${this.outputSize}`,
          );
        }
        await warm(next.model, this.inputShape);
        conditionClasses = conditionClassesOf(next, this.inputShape);
      } catch (error) {
        next.model.dispose();
        throw error;
      }
      const previous = { model: this.#model, cacheKeys: this.#cacheKeys };
      this.#model = next.model;
      this.#featureModel = undefined;
      this.#version = next.version;
      this.#cacheKeys = next.cacheKeys;
      this.#conditionClasses = conditionClasses;
      this.#classNames = namesOf(next, this.outputSize, this.#conditionClasses);
      previous.model.dispose();
      await updates.evict(previous.cacheKeys.filter((key) => !next.cacheKeys.includes(key)));
      return true;
    };
    const result = this.#updating.then(run, run);
    this.#updating = result.catch(() => false);
    return result;
  }

  /** Calls update() every `intervalMs` until the returned function is called or the model is disposed. */
  watchForUpdates(options: WatchOptions): () => void {
    this.#requireUpdates();
    this.#assertLive();
    const timer = setInterval(() => {
      this.update().then(
        (swapped) => swapped && options.onUpdate?.(this),
        (error: unknown) => options.onError?.(error),
      );
    }, options.intervalMs);
    this.#watches.add(timer);
    return () => {
      clearInterval(timer);
      this.#watches.delete(timer);
    };
  }

  /** Frees the model's weights and stops update watches; later predictions throw. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const timer of this.#watches) clearInterval(timer);
    this.#watches.clear();
    this.#model.dispose();
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error(`model ${this.name} v${this.#version} has been disposed`);
  }

  #requireUpdates(): ModelUpdates {
    if (this.#updates === undefined) throw new TypeError(`model ${this.name} was not loaded from a coordinator URL, so it has no latest version to check`);
    return this.#updates;
  }

  #run(data: Float32Array, batchSize: number): Float32Array {
    this.#assertLive();
    const model = this.#model;
    return take(
      tf.tidy(() => {
        const y = model.predict(tf.tensor(data, [batchSize, ...this.inputShape], 'float32'));
        // Only single-output models are admitted, so this is one tensor.
        const output = Array.isArray(y) ? y[0] : y;
        if (output === undefined) throw new Error('model produced no output');
        return output;
      }),
    );
  }
}

async function warm(model: LayersModel, inputShape: number[]): Promise<void> {
  const output = tf.tidy(() => {
    const y = model.predict(tf.zeros([1, ...inputShape]));
    return Array.isArray(y) ? y[0] : y;
  });
  if (output === undefined) return;
  try {
    await output.data();
  } finally {
    output.dispose();
  }
}
