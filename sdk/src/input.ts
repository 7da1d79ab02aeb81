// Turns the shapes callers hand to predict() into one flat float32 batch.

/** One sample or several, flattened row-major; a number[][] is one flattened sample per row. */
export type ModelInput = Float32Array | number[] | number[][];

export interface Batch {
  data: Float32Array;
  size: number;
}

function isRows(input: number[] | number[][]): input is number[][] {
  return input.length > 0 && Array.isArray(input[0]);
}

/** Flattens `input` into samples of `sampleSize` values; throws RangeError when it does not divide. */
export function toBatch(input: ModelInput, sampleSize: number): Batch {
  if (input instanceof Float32Array) return flat(input, sampleSize);
  if (!isRows(input)) return flat(Float32Array.from(input), sampleSize);
  const data = new Float32Array(input.length * sampleSize);
  input.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== sampleSize) {
      throw new RangeError(`sample ${i} has ${Array.isArray(row) ? row.length : 'no'} values; the model takes ${sampleSize}`);
    }
    data.set(row, i * sampleSize);
  });
  return { data, size: input.length };
}

function flat(data: Float32Array, sampleSize: number): Batch {
  if (data.length === 0 || data.length % sampleSize !== 0) {
    throw new RangeError(`input has ${data.length} values; the model takes a multiple of ${sampleSize} (one sample each)`);
  }
  return { data, size: data.length / sampleSize };
}
