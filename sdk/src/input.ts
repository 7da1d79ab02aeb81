// Turns the shapes callers hand to predict() into one flat float32 batch.
import { imageToSample, isImageInput, type ImageInput, type ImageOptions } from './image.js';

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array;

/**
 * One sample or several, flattened row-major (values used as they are); a number[][] is one
 * flattened sample per row; an image is one sample, resized to the model's input (see ImageOptions).
 */
export type ModelInput = NumericArray | number[] | number[][] | ImageInput;

export interface Batch {
  data: Float32Array;
  size: number;
}

function isRows(input: number[] | number[][]): input is number[][] {
  return input.length > 0 && Array.isArray(input[0]);
}

/**
 * Flattens `input` into samples of the model's `inputShape`; throws RangeError when the values
 * do not divide into samples, TypeError for an image when the input is not image-shaped.
 */
export function toBatch(input: ModelInput, inputShape: number[], imageOptions?: ImageOptions): Batch {
  const sampleSize = inputShape.reduce((n, d) => n * d, 1);
  if (isImageInput(input)) return { data: imageToSample(input, inputShape, imageOptions), size: 1 };
  if (input instanceof Float32Array) return flat(input, sampleSize);
  if (ArrayBuffer.isView(input)) return flat(Float32Array.from(input), sampleSize);
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
