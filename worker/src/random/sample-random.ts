// Random numbers of training that depend on the data, never on the rank: every draw is a pure
// function of (job seed, epoch, global sample index, stream, position), computed with Philox.
// A sample therefore gets the same dropout mask, latent vector or augmentation whichever rank
// trains it and however many ranks there are (so N workers equal one process), and a fresh one
// each epoch.
//
// API:
//   const key = { seed, epoch, sample, stream: Streams.dropout(model, pass, layer) };
//   fillUniform(key, out)   uniform floats in [0, 1), 24 bits each (exact in float32)
//   fillNormal(key, out)    standard normal floats (Box–Muller)
//   sampleUniforms(seed, epoch, samples, stream, perSample) / sampleNormals(...)
//                           one row of `perSample` draws per sample, rows in `samples` order:
//                           what a layer or an augmentation needs for a batch
//   dropoutMask(seed, epoch, samples, stream, perSample, rate)
//                           sampleUniforms made a dropout mask (1 / (1 - rate) where the uniform
//                           is >= rate, else 0), by the native addon where it is built
// Draw i of a key is always the same number, whatever `out`'s length: asking for more draws
// extends the sequence, it never changes its start.
import { loadAddon } from '../backends/native/addon.js';
import { philox4x32 } from './philox.js';

export interface DrawKey {
  /** The job's seed (training.seed). */
  seed: number;
  /** Epoch of the step, from 0. */
  epoch: number;
  /** The sample's index in the training set (what stepSlice(...).indices holds). */
  sample: number;
  /** What the draws are for, from Streams: different uses never share numbers. */
  stream: number;
}

/** The second key word: keeps Syncline's streams apart from any other use of Philox with the same seed. */
const DOMAIN = 0x5359_4e43; // "SYNC"

const KIND_BITS = 4;
const MODEL_BITS = 4;
const PASS_BITS = 8;
const INDEX_BITS = 16;

function stream(kind: number, model: number, pass: number, index: number): number {
  const fits = (v: number, bits: number) => Number.isInteger(v) && v >= 0 && v < 2 ** bits;
  if (!fits(model, MODEL_BITS) || !fits(pass, PASS_BITS) || !fits(index, INDEX_BITS)) {
    throw new RangeError(`random stream out of range: model ${model} (< ${2 ** MODEL_BITS}), pass ${pass} (< ${2 ** PASS_BITS}), index ${index} (< ${2 ** INDEX_BITS})`);
  }
  return ((kind << (MODEL_BITS + PASS_BITS + INDEX_BITS)) | (model << (PASS_BITS + INDEX_BITS)) | (pass << INDEX_BITS) | index) >>> 0;
}

/** Stream ids, one family per use. Arguments are small non-negative integers. */
export const Streams = {
  /**
   * A dropout layer's masks. `model` tells apart the models of one job (a GAN's generator and
   * discriminator), `pass` the forward passes of one step that see the same samples (a GAN's
   * discriminator sees real samples and fakes), `layer` the layer's position in its stack.
   */
  dropout: (model: number, pass: number, layer: number) => stream(1, model, pass, layer),
  /** A GAN's latent vectors; `phase` tells apart the discriminator's and the generator's update. */
  latent: (phase: number) => stream(2, 0, phase, 0),
  /** Data augmentation; `op` tells apart the transformations applied to one sample. */
  augmentation: (op: number) => stream(3, 0, 0, op),
} as const;

/** 2^-24: uniforms keep 24 bits, so every value is exact in float32 and below 1. */
const UNIT = 1 / 0x100_0000;

/** One block of four uint32 draws, reused (the draws are computed synchronously). */
const block = new Uint32Array(4);

/**
 * Writes draws 0 ..< count of `key` as uniforms in [0, 1) (24 bits) into `out[offset ..< offset + count]`.
 * Counter: (sample, epoch, block of four draws, stream); key: (seed, domain).
 */
function uniforms(key: DrawKey, out: Float32Array | Float64Array, offset: number, count: number): void {
  const { sample, epoch, stream, seed } = key;
  for (let i = 0; i < count; i += 4) {
    philox4x32(sample, epoch, i / 4, stream, seed, DOMAIN, block);
    const n = Math.min(4, count - i);
    for (let j = 0; j < n; j++) out[offset + i + j] = (block[j]! >>> 8) * UNIT;
  }
}

/** Fills `out[offset ..< offset + count]` with draws 0 ..< count of `key`, uniform in [0, 1). */
export function fillUniform(key: DrawKey, out: Float32Array | Float64Array, offset = 0, count = out.length - offset): void {
  uniforms(key, out, offset, count);
}

/**
 * Fills `out[offset ..< offset + count]` with standard normal values: Box–Muller on pairs of
 * uniforms, draws 2i and 2i + 1 giving values 2i and 2i + 1.
 */
export function fillNormal(key: DrawKey, out: Float32Array | Float64Array, offset = 0, count = out.length - offset): void {
  const pairs = Math.ceil(count / 2);
  const u = new Float64Array(2 * pairs);
  uniforms(key, u, 0, 2 * pairs);
  for (let p = 0; p < pairs; p++) {
    // 1 − u lies in (0, 1]: the logarithm stays finite.
    const radius = Math.sqrt(-2 * Math.log(1 - u[2 * p]!));
    const angle = 2 * Math.PI * u[2 * p + 1]!;
    out[offset + 2 * p] = radius * Math.cos(angle);
    if (2 * p + 1 < count) out[offset + 2 * p + 1] = radius * Math.sin(angle);
  }
}

function perSampleRows(
  fill: typeof fillUniform,
  seed: number,
  epoch: number,
  samples: ArrayLike<number>,
  stream: number,
  perSample: number,
): Float32Array {
  const out = new Float32Array(samples.length * perSample);
  for (let row = 0; row < samples.length; row++) fill({ seed, epoch, sample: samples[row]!, stream }, out, row * perSample, perSample);
  return out;
}

/** `samples.length` rows of `perSample` uniforms in [0, 1), row r keyed by sample `samples[r]`. */
export function sampleUniforms(seed: number, epoch: number, samples: ArrayLike<number>, stream: number, perSample: number): Float32Array {
  return perSampleRows(fillUniform, seed, epoch, samples, stream, perSample);
}

/** `samples.length` rows of `perSample` standard normal values, row r keyed by sample `samples[r]`. */
export function sampleNormals(seed: number, epoch: number, samples: ArrayLike<number>, stream: number, perSample: number): Float32Array {
  return perSampleRows(fillNormal, seed, epoch, samples, stream, perSample);
}

/**
 * An inverted-dropout mask for `samples.length` rows of `perSample` units: 1 / (1 − rate) (as
 * float32) where the unit's uniform (sampleUniforms' draw) is ≥ rate, 0 elsewhere. The native
 * addon computes the same numbers several times faster; without it, this module does.
 */
export function dropoutMask(seed: number, epoch: number, samples: ArrayLike<number>, stream: number, perSample: number, rate: number): Float32Array {
  const load = loadAddon();
  if (!('addon' in load)) return dropoutMaskHere(seed, epoch, samples, stream, perSample, rate);
  const scale = 1 / (1 - rate);
  const out = new Float32Array(samples.length * perSample);
  const keys = samples instanceof Uint32Array ? samples : Uint32Array.from(samples);
  load.addon.dropoutMask(seed >>> 0, epoch >>> 0, keys, stream >>> 0, perSample, rate, scale, out);
  return out;
}

/** dropoutMask computed in JavaScript (what a worker without the native addon runs, and its reference). */
export function dropoutMaskHere(seed: number, epoch: number, samples: ArrayLike<number>, stream: number, perSample: number, rate: number): Float32Array {
  const scale = 1 / (1 - rate);
  const mask = sampleUniforms(seed, epoch, samples, stream, perSample);
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! >= rate ? scale : 0;
  return mask;
}
