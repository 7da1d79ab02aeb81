// Derives the float16 and uint8 variants of a published TF.js layers model: the same topology,
// float32 weights rewritten with TF.js manifest `quantization` fields, re-sharded, each shard
// with its own sha256. Pure functions over bytes, deterministic, so a variant generated twice
// (two coordinators, or before and after a restart) is byte-for-byte the same.
import { createHash } from 'node:crypto';

export const QUANTIZATIONS = ['float16', 'uint8'] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

export function isQuantization(value: string): value is Quantization {
  return QUANTIZATIONS.some((q) => q === value);
}

/** Same shard size as the workers write (worker/src/artifacts/model-files.ts). */
export const VARIANT_SHARD_BYTES = 4 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
  [other: string]: unknown;
}

interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
  sha256?: string[];
}

/** The published model a variant is made from could not be read or verified. */
export class QuantizationSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuantizationSourceError';
  }
}

function weightBytes(spec: WeightSpec): number {
  const elements = spec.shape.reduce((n, d) => n * d, 1);
  const perValue = spec.quantization ? QUANTIZED_BYTES[spec.quantization.dtype] : DTYPE_BYTES[spec.dtype];
  if (perValue === undefined) throw new QuantizationSourceError(`weight ${spec.name} has dtype ${spec.dtype}, which has no fixed size`);
  return elements * perValue;
}

function parseGroups(modelJson: Record<string, unknown>): ManifestGroup[] {
  const manifest = modelJson.weightsManifest;
  if (!Array.isArray(manifest)) throw new QuantizationSourceError('model.json has no weightsManifest');
  return manifest.map((group: ManifestGroup, i) => {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) {
      throw new QuantizationSourceError(`weightsManifest[${i}] has no paths or weights`);
    }
    return group;
  });
}

/** The names of every shard a model.json lists, in order. */
export function shardPaths(modelJson: Record<string, unknown>): string[] {
  return parseGroups(modelJson).flatMap((g) => g.paths);
}

/**
 * Weight bytes of `modelJson` stored as `dtype` (what its shards of that variant add up to):
 * float32 weights take 4, 2 or 1 bytes a value, others keep their size.
 */
export function variantWeightBytes(modelJson: Record<string, unknown>, dtype: 'float32' | Quantization): number {
  const perValue = { float32: 4, float16: 2, uint8: 1 }[dtype];
  let total = 0;
  for (const group of parseGroups(modelJson)) {
    for (const spec of group.weights) {
      const quantizable = spec.dtype === 'float32' && spec.quantization === undefined;
      total += quantizable ? spec.shape.reduce((n, d) => n * d, 1) * perValue : weightBytes(spec);
    }
  }
  return total;
}

/**
 * Affine uint8 parameters in the TF.js converter's way: min is nudged so that 0 is exactly
 * representable (ReLU zeros and zero padding stay exact); a constant tensor gets scale 1.
 */
export function uint8Range(values: Float32Array): { scale: number; min: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo < hi)) return { scale: 1, min: Number.isFinite(lo) ? lo : 0 };
  const scale = (hi - lo) / 255;
  if (lo <= 0 && hi >= 0) return { scale, min: -Math.round(-lo / scale) * scale };
  return { scale, min: lo };
}

function toUint8(values: Float32Array): { bytes: Uint8Array; scale: number; min: number } {
  const { scale, min } = uint8Range(values);
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = Math.round((values[i]! - min) / scale);
    bytes[i] = q < 0 ? 0 : q > 255 ? 255 : q;
  }
  return { bytes, scale, min };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half-precision bits of `value`, rounded to nearest even; overflow becomes ±Infinity. */
export function float16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the implicit 1 in and round the dropped bits to even.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
  }
  const half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and may reach Infinity).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

function toFloat16(values: Float32Array): Uint8Array {
  const halves = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) halves[i] = float16Bits(values[i]!);
  return new Uint8Array(halves.buffer);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * The files of `modelJson`'s `dtype` variant: "model.json" plus its shards. `readShard` gives
 * the published shards, which are checked against their sha256 first: a variant made from
 * corrupt bytes would carry valid digests of garbage. Only float32 weights are quantized;
 * others are copied as they are.
 */
export async function quantizeModel(
  modelJson: Record<string, unknown>,
  readShard: (path: string) => Promise<Uint8Array | undefined>,
  dtype: Quantization,
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const groups = parseGroups(modelJson);
  const outGroups = [];
  for (const [g, group] of groups.entries()) {
    const shards: Uint8Array[] = [];
    for (const [i, path] of group.paths.entries()) {
      const bytes = await readShard(path);
      if (bytes === undefined) throw new QuantizationSourceError(`shard ${path} is missing`);
      const expected = group.sha256?.[i];
      if (expected !== undefined && sha256(bytes) !== expected) throw new QuantizationSourceError(`shard ${path} does not match its sha256`);
      shards.push(bytes);
    }
    const data = concat(shards);
    const parts: Uint8Array[] = [];
    const weights: WeightSpec[] = [];
    let offset = 0;
    for (const spec of group.weights) {
      const length = weightBytes(spec);
      if (offset + length > data.byteLength) throw new QuantizationSourceError(`weights of group ${g + 1} run past its shards`);
      const raw = data.subarray(offset, offset + length);
      offset += length;
      if (spec.dtype !== 'float32' || spec.quantization !== undefined) {
        parts.push(raw);
        weights.push(spec);
        continue;
      }
      // A copy, so the float view is aligned whatever the weight's offset in the shard.
      const values = new Float32Array(raw.slice().buffer);
      if (dtype === 'float16') {
        parts.push(toFloat16(values));
        weights.push({ ...spec, quantization: { dtype: 'float16' } });
      } else {
        const { bytes, scale, min } = toUint8(values);
        parts.push(bytes);
        weights.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
      }
    }
    const quantized = concat(parts);
    const count = Math.max(1, Math.ceil(quantized.byteLength / VARIANT_SHARD_BYTES));
    const paths: string[] = [];
    const digests: string[] = [];
    for (let i = 0; i < count; i++) {
      const path = `group${g + 1}-shard${i + 1}of${count}.bin`;
      const bytes = quantized.subarray(i * VARIANT_SHARD_BYTES, Math.min(quantized.byteLength, (i + 1) * VARIANT_SHARD_BYTES));
      files.set(path, bytes);
      paths.push(path);
      digests.push(sha256(bytes));
    }
    outGroups.push({ paths, weights, sha256: digests });
  }
  const syncline = typeof modelJson.syncline === 'object' && modelJson.syncline !== null ? modelJson.syncline : {};
  const variant = { ...modelJson, weightsManifest: outGroups, syncline: { ...syncline, quantization: dtype } };
  files.set('model.json', new TextEncoder().encode(JSON.stringify(variant)));
  return files;
}
