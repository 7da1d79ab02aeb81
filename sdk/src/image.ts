// Turns an image (ImageData, a canvas, an <img>, or any {data, width, height} RGBA buffer) into
// one sample of the model's input: the model's input shape says the size and channels
// ([28, 28, 1], [28, 28], or a flat [784] taken as 28x28 grey), values in [0, 1].

/** RGBA pixels, 8 bits each, row-major: ImageData's layout (and what React Native image libraries give). */
export interface ImageLike {
  readonly data: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
}

export type ImageInput = ImageLike | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | ImageBitmap;

export interface ImageOptions {
  /**
   * 'stretch' (default): the whole image is scaled to the input size. 'content': crop to the
   * drawn part and centre it by mass in a 20/28 box, keeping its aspect, as MNIST digits are
   * prepared; for drawings on an otherwise empty canvas.
   */
  fit?: 'stretch' | 'content';
  /**
   * The image is dark on light (ink on paper): composite over white and flip, so that ink is
   * 1 and background 0 as in MNIST. By default light on dark, transparent pixels are black.
   */
  invert?: boolean;
}

interface Target {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
}

/** Below this (after inversion), a pixel is background to the 'content' fit. */
const INK = 0.05;
/** MNIST puts each digit in a 20x20 box inside its 28x28 frame. */
const CONTENT_BOX = 20 / 28;

const IMAGE_CLASSES = ['HTMLCanvasElement', 'OffscreenCanvas', 'HTMLImageElement', 'ImageBitmap'];

export function isImageInput(input: unknown): input is ImageInput {
  if (typeof input !== 'object' || input === null || ArrayBuffer.isView(input) || Array.isArray(input)) return false;
  if (isImageLike(input)) return true;
  // Looked up at run time: Node and React Native have none of these classes.
  return IMAGE_CLASSES.some((name) => {
    const constructor: unknown = Reflect.get(globalThis, name);
    return typeof constructor === 'function' && input instanceof constructor;
  });
}

function isImageLike(input: object): input is ImageLike {
  const { data, width, height } = input as Partial<ImageLike>;
  return typeof width === 'number' && typeof height === 'number' && typeof data === 'object' && data !== null && 'length' in data;
}

/** The image layout of a model input shape; throws TypeError when it is not one. */
export function imageTarget(inputShape: number[]): Target {
  const [a, b, c] = inputShape;
  if (inputShape.length === 3 && a !== undefined && b !== undefined && (c === 1 || c === 3 || c === 4)) return { height: a, width: b, channels: c };
  if (inputShape.length === 2 && a !== undefined && b !== undefined) return { height: a, width: b, channels: 1 };
  const side = Math.round(Math.sqrt(a ?? 0));
  if (inputShape.length === 1 && side > 0 && side * side === a) return { height: side, width: side, channels: 1 };
  throw new TypeError(`the model's input shape [${inputShape.join(', ')}] is not an image (HxWxC, HxW, or a square flattened)`);
}

/** One sample for a model of `inputShape`, from an image. */
export function imageToSample(image: ImageInput, inputShape: number[], options: ImageOptions = {}): Float32Array {
  const target = imageTarget(inputShape);
  const pixels = readPixels(image);
  if (pixels.width < 1 || pixels.height < 1 || pixels.data.length < pixels.width * pixels.height * 4) {
    throw new RangeError(`image is ${pixels.width}x${pixels.height} with ${pixels.data.length} values; expected RGBA`);
  }
  const planes = toChannels(pixels, target.channels, options.invert ?? false);
  const source = { values: planes, width: pixels.width, height: pixels.height };
  if (options.fit === 'content') {
    const fitted = fitContent(source, target);
    if (fitted !== undefined) return fitted;
  }
  return resizeArea(source, target.channels, target.width, target.height);
}

function readPixels(image: ImageInput): ImageLike {
  if (isImageLike(image)) return image;
  const width = 'naturalWidth' in image ? image.naturalWidth : image.width;
  const height = 'naturalHeight' in image ? image.naturalHeight : image.height;
  // Drawn onto a scratch canvas rather than read in place: asking a canvas for a 2D context
  // would fail on a WebGL canvas, and would fix the context type of one that has none yet.
  const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (context === null) throw new Error('no 2D canvas context to read the image with');
  context.drawImage(image, 0, 0);
  return context.getImageData(0, 0, width, height);
}

/** RGBA bytes to `channels` values per pixel in [0, 1], composited over black (or white, then flipped). */
function toChannels(pixels: ImageLike, channels: 1 | 3 | 4, invert: boolean): Float32Array {
  const { data, width, height } = pixels;
  const out = new Float32Array(width * height * channels);
  const background = invert ? 255 : 0;
  for (let p = 0; p < width * height; p++) {
    const alpha = (data[p * 4 + 3] ?? 255) / 255;
    const over = (v: number) => {
      const composite = ((v * alpha + background * (1 - alpha)) / 255);
      return invert ? 1 - composite : composite;
    };
    const r = over(data[p * 4] ?? 0);
    const g = over(data[p * 4 + 1] ?? 0);
    const b = over(data[p * 4 + 2] ?? 0);
    if (channels === 1) {
      out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    } else {
      out[p * channels] = r;
      out[p * channels + 1] = g;
      out[p * channels + 2] = b;
      if (channels === 4) out[p * 4 + 3] = alpha;
    }
  }
  return out;
}

interface Plane {
  values: Float32Array;
  width: number;
  height: number;
}

/** For each output cell along one axis, the source cells it covers and by how much (area averaging). */
function coverage(from: number, to: number): { index: number; weight: number }[][] {
  const step = from / to;
  return Array.from({ length: to }, (_, i) => {
    const start = i * step;
    const end = start + step;
    const cells: { index: number; weight: number }[] = [];
    for (let s = Math.floor(start); s < Math.min(from, Math.ceil(end)); s++) {
      const weight = Math.min(end, s + 1) - Math.max(start, s);
      if (weight > 0) cells.push({ index: s, weight: weight / step });
    }
    return cells;
  });
}

/** Resizes by averaging the source area under each output pixel: no aliasing when shrinking a large drawing. */
export function resizeArea(source: Plane, channels: number, width: number, height: number): Float32Array {
  const columns = coverage(source.width, width);
  const rows = coverage(source.height, height);
  // Horizontal pass first, then vertical; both are weighted sums over the covered cells.
  const across = new Float32Array(source.height * width * channels);
  for (let y = 0; y < source.height; y++) {
    for (let x = 0; x < width; x++) {
      for (const { index, weight } of columns[x]!) {
        for (let c = 0; c < channels; c++) across[(y * width + x) * channels + c]! += weight * source.values[(y * source.width + index) * channels + c]!;
      }
    }
  }
  const out = new Float32Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (const { index, weight } of rows[y]!) {
      for (let i = 0; i < width * channels; i++) out[y * width * channels + i]! += weight * across[index * width * channels + i]!;
    }
  }
  return out;
}

/** MNIST-style preparation: crop to the ink, scale into the centre box, centre by mass. Undefined for an empty image. */
function fitContent(source: Plane, target: Target): Float32Array | undefined {
  const channels = target.channels;
  const { width, height, values } = source;
  const ink = (x: number, y: number) => {
    let most = 0;
    for (let c = 0; c < channels; c++) most = Math.max(most, values[(y * width + x) * channels + c]!);
    return most;
  };
  let [left, top, right, bottom] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink(x, y) <= INK) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  if (right < 0) return undefined;
  const cropWidth = right - left + 1;
  const cropHeight = bottom - top + 1;
  const crop = new Float32Array(cropWidth * cropHeight * channels);
  for (let y = 0; y < cropHeight; y++) {
    const from = ((top + y) * width + left) * channels;
    crop.set(values.subarray(from, from + cropWidth * channels), y * cropWidth * channels);
  }
  const scale = Math.min((target.width * CONTENT_BOX) / cropWidth, (target.height * CONTENT_BOX) / cropHeight);
  const w = Math.max(1, Math.round(cropWidth * scale));
  const h = Math.max(1, Math.round(cropHeight * scale));
  const scaled = resizeArea({ values: crop, width: cropWidth, height: cropHeight }, channels, w, h);

  // Centre of mass of the scaled drawing, placed at the frame's centre, kept inside the frame.
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let m = 0;
      for (let c = 0; c < channels; c++) m += scaled[(y * w + x) * channels + c]!;
      mass += m;
      mx += m * (x + 0.5);
      my += m * (y + 0.5);
    }
  }
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const offsetX = clamp(Math.round(target.width / 2 - (mass > 0 ? mx / mass : w / 2)), target.width - w);
  const offsetY = clamp(Math.round(target.height / 2 - (mass > 0 ? my / mass : h / 2)), target.height - h);
  const out = new Float32Array(target.width * target.height * channels);
  for (let y = 0; y < h; y++) {
    out.set(scaled.subarray(y * w * channels, (y + 1) * w * channels), ((offsetY + y) * target.width + offsetX) * channels);
  }
  return out;
}
