// Reads a Syncline model.json: the TF.js layers format plus our per-shard sha256 and the
// `syncline` block. Checked by hand rather than with a schema library to keep the edge
// bundle down to tfjs alone.
import type { io } from '@tensorflow/tfjs-core';
import { ModelLoadError } from './errors.js';
import { isQuantization, type Quantization } from './source.js';

/** A weight file as model.json lists it: its path (relative to model.json) and promised digest. */
export interface ShardSpec {
  path: string;
  sha256: string;
}

/** One weights-manifest group: shards, and the weights they hold between them, in order. */
export interface ShardGroup {
  shards: ShardSpec[];
  weights: io.WeightsManifestEntry[];
  /** The bytes the group's shards hold between them, from the weight specs. */
  byteLength: number;
}

export interface SynclineModelJson {
  format: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: object;
  weightsManifest: ShardGroup[];
  /** `quantization` is set by the coordinator on the variants it derives; absent means float32. */
  syncline: { name: string; version: number; jobId: string; quantization: Quantization; classNames?: string[]; conditionClasses?: number };
}

const DTYPES = ['float32', 'int32', 'bool', 'complex64'] as const;
type WeightDtype = (typeof DTYPES)[number];
const DTYPE_BYTES: Record<WeightDtype, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;

const SHA256_HEX = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isInteger(d) && d >= 0);
}

function isDtype(value: unknown): value is WeightDtype {
  return DTYPES.some((d) => d === value);
}

function isQuantizedDtype(value: unknown): value is keyof typeof QUANTIZED_BYTES {
  return typeof value === 'string' && Object.hasOwn(QUANTIZED_BYTES, value);
}

/** Parses a model.json body; throws ModelLoadError naming the first thing that is wrong. */
export function parseModelJson(body: unknown, url: string): SynclineModelJson {
  if (!isObject(body)) invalid(url, 'not a JSON object');
  const { format, generatedBy, convertedBy, modelTopology, weightsManifest, syncline } = body;
  if (format !== 'layers-model') invalid(url, `format is ${JSON.stringify(format)}, expected "layers-model"`);
  if (!isObject(modelTopology)) invalid(url, 'modelTopology is missing');
  if (!Array.isArray(weightsManifest)) invalid(url, 'weightsManifest is missing');
  if (!isObject(syncline)) invalid(url, 'the syncline block is missing');
  const { name, version, jobId, quantization = 'float32', classNames, conditionClasses } = syncline;
  if (typeof name !== 'string') invalid(url, 'syncline.name is not a string');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    invalid(url, 'syncline.version is not a positive integer');
  }
  if (typeof jobId !== 'string') invalid(url, 'syncline.jobId is not a string');
  if (!isQuantization(quantization)) invalid(url, `syncline.quantization ${JSON.stringify(quantization)} is not understood`);
  if (classNames !== undefined && !(Array.isArray(classNames) && classNames.every((c) => typeof c === 'string'))) invalid(url, 'syncline.classNames is not a list of strings');
  if (conditionClasses !== undefined && !(typeof conditionClasses === 'number' && Number.isInteger(conditionClasses) && conditionClasses >= 1)) {
    invalid(url, 'syncline.conditionClasses is not a positive integer');
  }
  return {
    format,
    ...(typeof generatedBy === 'string' && { generatedBy }),
    ...(typeof convertedBy === 'string' && { convertedBy }),
    modelTopology,
    weightsManifest: weightsManifest.map((group: unknown, i) => parseGroup(group, url, `weightsManifest[${i}]`)),
    syncline: { name, version, jobId, quantization, ...(classNames !== undefined && { classNames: classNames as string[] }), ...(conditionClasses !== undefined && { conditionClasses }) },
  };
}

function invalid(url: string, what: string): never {
  throw new ModelLoadError(url, `model.json is not a Syncline layers model: ${what}`);
}

function parseGroup(group: unknown, url: string, where: string): ShardGroup {
  if (!isObject(group)) invalid(url, `${where} is not an object`);
  const { paths, sha256, weights } = group;
  if (!isStringArray(paths) || paths.length === 0) invalid(url, `${where}.paths is not a non-empty list of strings`);
  // Without a digest per shard we could not tell a corrupt download from a good one.
  if (!isStringArray(sha256)) invalid(url, `${where}.sha256 is missing`);
  if (sha256.length !== paths.length) invalid(url, `${where} has ${paths.length} paths but ${sha256.length} sha256 digests`);
  const badDigest = sha256.findIndex((digest) => !SHA256_HEX.test(digest));
  if (badDigest >= 0) invalid(url, `${where}.sha256[${badDigest}] is not a lowercase hex sha256`);
  if (!Array.isArray(weights)) invalid(url, `${where}.weights is missing`);
  const parsed = weights.map((w: unknown, i) => parseWeight(w, url, `${where}.weights[${i}]`));
  return {
    shards: paths.map((path, i) => ({ path, sha256: sha256[i] ?? '' })),
    weights: parsed.map((p) => p.entry),
    byteLength: parsed.reduce((total, p) => total + p.byteLength, 0),
  };
}

function parseWeight(weight: unknown, url: string, where: string): { entry: io.WeightsManifestEntry; byteLength: number } {
  if (!isObject(weight)) invalid(url, `${where} is not an object`);
  const { name, shape, dtype, group, quantization } = weight;
  if (typeof name !== 'string') invalid(url, `${where}.name is not a string`);
  if (!isShape(shape)) invalid(url, `${where}.shape is not a list of sizes`);
  if (!isDtype(dtype)) invalid(url, `${where}.dtype ${JSON.stringify(dtype)} is not a fixed-size weight type`);
  const entry: io.WeightsManifestEntry = { name, shape, dtype };
  const elements = shape.reduce((n, d) => n * d, 1);
  if (group === 'model' || group === 'optimizer') entry.group = group;
  if (quantization !== undefined) {
    if (!isObject(quantization) || !isQuantizedDtype(quantization.dtype)) invalid(url, `${where}.quantization is not understood`);
    const { dtype: quantizedAs, scale, min } = quantization;
    entry.quantization = {
      dtype: quantizedAs,
      ...(typeof scale === 'number' && { scale }),
      ...(typeof min === 'number' && { min }),
    };
    return { entry, byteLength: elements * QUANTIZED_BYTES[quantizedAs] };
  }
  return { entry, byteLength: elements * DTYPE_BYTES[dtype] };
}
