// `syncline upload-model`: a TF.js layers model made elsewhere (model.json plus weight files, as
// tensorflowjs_converter writes them), checked whole — TF.js reads its topology, every weight file
// the manifest names is there and has the bytes its weights need, nothing else came along — then
// given our integrity extension (a sha256 per weight file) before the registry stores it.
import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../errors.js';
import { BaseModelFormatError, describeModelJson } from './model-topology.js';

export const MAX_MODEL_UPLOAD_BYTES = 512 * 1024 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
  sha256?: string[];
}

/** The files to store: the weight files as sent, model.json with a sha256 per weight file. */
export async function checkUploadedModel(name: string, files: Map<string, Uint8Array>): Promise<Map<string, Uint8Array>> {
  if (!NAME.test(name)) throw new InvalidRequestError(`header.name: ${JSON.stringify(name)} must be 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
  const raw = files.get('model.json');
  if (!raw) throw new InvalidRequestError(`no model.json among the files sent (${[...files.keys()].join(', ') || 'none'})`);
  let json: { modelTopology?: unknown; weightsManifest?: ManifestGroup[] } & Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(raw)) as typeof json;
  } catch (err) {
    throw new InvalidRequestError(`model.json is not JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    await describeModelJson(raw, name, 0);
  } catch (err) {
    if (err instanceof BaseModelFormatError) throw new InvalidRequestError(err.message.replace(`model ${name} v0: `, 'model.json: '), { cause: err });
    throw err;
  }
  if (!Array.isArray(json.weightsManifest)) throw new InvalidRequestError('model.json has no weightsManifest (a TF.js layers model with its weights is needed)');
  const named = new Set<string>();
  const weightsManifest = json.weightsManifest.map((group, g) => {
    let bytes = 0;
    for (const path of group.paths) {
      const file = files.get(path);
      if (!file) throw new InvalidRequestError(`weightsManifest[${g}] names ${path}, which was not sent`);
      named.add(path);
      bytes += file.byteLength;
    }
    const needed = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[w.quantization?.dtype ?? w.dtype] ?? NaN), 0);
    if (bytes !== needed) throw new InvalidRequestError(`weightsManifest[${g}]: its files hold ${bytes} bytes but its weights (${group.weights.map((w) => w.name).join(', ')}) need ${needed}`);
    return { ...group, sha256: group.paths.map((p) => createHash('sha256').update(files.get(p)!).digest('hex')) };
  });
  const extra = [...files.keys()].filter((p) => p !== 'model.json' && !named.has(p));
  if (extra.length) throw new InvalidRequestError(`files not named in model.json's weightsManifest: ${extra.join(', ')}`);
  const out = new Map(files);
  out.set('model.json', new TextEncoder().encode(JSON.stringify({ ...json, weightsManifest, syncline: { name, uploaded: true } })));
  return out;
}
