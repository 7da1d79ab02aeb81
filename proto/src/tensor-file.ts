// Syncline's compact binary tensor format, for uploaded datasets and as the form in which the
// coordinator stores every user dataset (workers read only this):
//
//   offset 0   4 bytes  magic "SYNT"
//   offset 4   uint32   version (1)
//   offset 8   uint32   samples
//   offset 12  uint32   features per sample
//   offset 16  uint32   target values per sample
//   offset 20  float32  samples x features, row-major
//   then       float32  samples x targets, row-major
//
// All numbers little-endian. Nothing follows the targets.

export const TENSOR_MAGIC = 'SYNT';
export const TENSOR_VERSION = 1;
export const TENSOR_HEADER_BYTES = 20;

export interface TensorFile {
  samples: number;
  features: number;
  targets: number;
  x: Float32Array;
  y: Float32Array;
}

/** A malformed tensor file; `offset` is the byte where the problem is. */
export class TensorFileError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(`byte offset ${offset}: ${message}`);
    this.name = 'TensorFileError';
  }
}

export function encodeTensorFile(t: TensorFile): Uint8Array {
  const bytes = new Uint8Array(TENSOR_HEADER_BYTES + 4 * (t.x.length + t.y.length));
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(TENSOR_MAGIC), 0);
  view.setUint32(4, TENSOR_VERSION, true);
  view.setUint32(8, t.samples, true);
  view.setUint32(12, t.features, true);
  view.setUint32(16, t.targets, true);
  let at = TENSOR_HEADER_BYTES;
  for (const v of t.x) {
    view.setFloat32(at, v, true);
    at += 4;
  }
  for (const v of t.y) {
    view.setFloat32(at, v, true);
    at += 4;
  }
  return bytes;
}

export function decodeTensorFile(bytes: Uint8Array): TensorFile {
  if (bytes.length < TENSOR_HEADER_BYTES) throw new TensorFileError(bytes.length, `file ends inside the ${TENSOR_HEADER_BYTES}-byte header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== TENSOR_MAGIC) throw new TensorFileError(0, `not a Syncline tensor file (magic ${JSON.stringify(magic)}, expected "SYNT")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== TENSOR_VERSION) throw new TensorFileError(4, `unsupported version ${version}`);
  const samples = view.getUint32(8, true);
  const features = view.getUint32(12, true);
  const targets = view.getUint32(16, true);
  if (samples === 0) throw new TensorFileError(8, 'no samples');
  if (features === 0) throw new TensorFileError(12, 'no features');
  if (targets === 0) throw new TensorFileError(16, 'no targets');
  const expected = TENSOR_HEADER_BYTES + 4 * samples * (features + targets);
  if (bytes.length < expected) throw new TensorFileError(bytes.length, `file is truncated: ${samples} samples need ${expected} bytes, got ${bytes.length}`);
  if (bytes.length > expected) throw new TensorFileError(expected, `${bytes.length - expected} unexpected bytes after the targets`);
  const x = new Float32Array(samples * features);
  const y = new Float32Array(samples * targets);
  let at = TENSOR_HEADER_BYTES;
  for (let i = 0; i < x.length; i++, at += 4) {
    const v = view.getFloat32(at, true);
    if (!Number.isFinite(v)) throw new TensorFileError(at, `feature ${i % features} of sample ${Math.floor(i / features)} is ${v}`);
    x[i] = v;
  }
  for (let i = 0; i < y.length; i++, at += 4) {
    const v = view.getFloat32(at, true);
    if (!Number.isFinite(v)) throw new TensorFileError(at, `target ${i % targets} of sample ${Math.floor(i / targets)} is ${v}`);
    y[i] = v;
  }
  return { samples, features, targets, x, y };
}

// Version 2 is the same header followed by one row per sample: its features, then its
// targets. A file of this layout can be read and stored as it streams (version 1 cannot: every
// target comes after every feature), so it is what `syncline upload` sends.
export const TENSOR_ROWS_VERSION = 2;

/** The 20-byte header of a tensor file. */
export function encodeTensorHeader(version: number, samples: number, features: number, targets: number): Uint8Array {
  const bytes = new Uint8Array(TENSOR_HEADER_BYTES);
  bytes.set(new TextEncoder().encode(TENSOR_MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, version, true);
  view.setUint32(8, samples, true);
  view.setUint32(12, features, true);
  view.setUint32(16, targets, true);
  return bytes;
}

/** One sample of a version-2 file: its features then its targets, little-endian float32. */
export function encodeTensorRow(x: ArrayLike<number>, y: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(4 * (x.length + y.length));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < x.length; i++) view.setFloat32(4 * i, x[i]!, true);
  for (let i = 0; i < y.length; i++) view.setFloat32(4 * (x.length + i), y[i]!, true);
  return bytes;
}
