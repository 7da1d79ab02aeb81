// The image transformations of data augmentation, as pure functions of an image and explicit
// parameters (draws.ts picks the parameters of each sample). Images are row-major
// (height, width, channels) float arrays; nothing is clipped to a value range.

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** What one sample's augmentation does; identity values leave the image as it is. */
export interface AugmentParams {
  flipHorizontal: boolean;
  flipVertical: boolean;
  /** Radians; positive turns the picture clockwise as displayed (rows grow downwards). */
  angle: number;
  /** Scale factor about the centre (1: none). */
  scale: number;
  /** Shift in pixels, after rotation and scaling. */
  shiftX: number;
  shiftY: number;
  /** Added to every value. */
  brightness: number;
  /** Factor on each value's distance from its channel's mean (1: none). */
  contrast: number;
  /** Standard deviation of the noise added from `noise` (0: none). */
  noiseStddev: number;
  /** Cutout: a square of `cutoutSize` pixels centred at (cutoutY, cutoutX), zeroed in all channels. */
  cutoutSize: number;
  cutoutX: number;
  cutoutY: number;
}

export const IDENTITY: AugmentParams = {
  flipHorizontal: false,
  flipVertical: false,
  angle: 0,
  scale: 1,
  shiftX: 0,
  shiftY: 0,
  brightness: 0,
  contrast: 1,
  noiseStddev: 0,
  cutoutSize: 0,
  cutoutX: 0,
  cutoutY: 0,
};

/** Mirrors in place. */
export function flip(image: Float32Array, s: ImageShape, horizontal: boolean, vertical: boolean): void {
  if (!horizontal && !vertical) return;
  const { height: h, width: w, channels: c } = s;
  const source = image.slice();
  for (let y = 0; y < h; y++) {
    const sy = vertical ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = horizontal ? w - 1 - x : x;
      for (let k = 0; k < c; k++) image[(y * w + x) * c + k] = source[(sy * w + sx) * c + k]!;
    }
  }
}

/**
 * The affine map about the image centre: out(p) = in(A⁻¹(p − centre − shift) + centre), sampled
 * bilinearly with zeros outside the image. A rotates by `angle` and scales by `scale`.
 */
export function affine(image: Float32Array, s: ImageShape, angle: number, scale: number, shiftX: number, shiftY: number): void {
  if (angle === 0 && scale === 1 && shiftX === 0 && shiftY === 0) return;
  const { height: h, width: w, channels: c } = s;
  const source = image.slice();
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // Inverse of (rotation by angle) · scale: rotation by −angle, divided by scale.
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - cx - shiftX;
      const dy = y - cy - shiftY;
      const sx = cos * dx + sin * dy + cx;
      const sy = -sin * dx + cos * dy + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      // The four neighbours' weights; a neighbour outside the image counts as zero.
      const inX0 = x0 >= 0 && x0 < w;
      const inX1 = x0 + 1 >= 0 && x0 + 1 < w;
      const inY0 = y0 >= 0 && y0 < h;
      const inY1 = y0 + 1 >= 0 && y0 + 1 < h;
      const w00 = inY0 && inX0 ? (1 - fy) * (1 - fx) : 0;
      const w01 = inY0 && inX1 ? (1 - fy) * fx : 0;
      const w10 = inY1 && inX0 ? fy * (1 - fx) : 0;
      const w11 = inY1 && inX1 ? fy * fx : 0;
      const i00 = (y0 * w + x0) * c;
      const i01 = i00 + c;
      const i10 = i00 + w * c;
      const i11 = i10 + c;
      const o = (y * w + x) * c;
      for (let k = 0; k < c; k++) {
        let v = 0;
        if (w00 !== 0) v += w00 * source[i00 + k]!;
        if (w01 !== 0) v += w01 * source[i01 + k]!;
        if (w10 !== 0) v += w10 * source[i10 + k]!;
        if (w11 !== 0) v += w11 * source[i11 + k]!;
        image[o + k] = v;
      }
    }
  }
}

/** Brightness (added) and contrast (about each channel's mean), in place. */
export function brightnessContrast(image: Float32Array, s: ImageShape, brightness: number, contrast: number): void {
  if (brightness === 0 && contrast === 1) return;
  const { channels: c } = s;
  const pixels = image.length / c;
  for (let k = 0; k < c; k++) {
    let mean = 0;
    if (contrast !== 1) {
      for (let p = 0; p < pixels; p++) mean += image[p * c + k]!;
      mean /= pixels;
    }
    for (let p = 0; p < pixels; p++) {
      const i = p * c + k;
      image[i] = mean + (image[i]! - mean) * contrast + brightness;
    }
  }
}

/** Adds `stddev` × noise[i] to every value, in place. */
export function addNoise(image: Float32Array, noise: ArrayLike<number>, stddev: number): void {
  if (stddev === 0) return;
  for (let i = 0; i < image.length; i++) image[i] = image[i]! + stddev * noise[i]!;
}

/** Zeros a square of side `size` centred at (cy, cx) (for even sizes the centre is the lower-right middle pixel), clipped at the border. */
export function cutout(image: Float32Array, s: ImageShape, size: number, cx: number, cy: number): void {
  if (size === 0) return;
  const { height: h, width: w, channels: c } = s;
  const half = Math.floor(size / 2);
  for (let y = Math.max(0, cy - half); y < Math.min(h, cy - half + size); y++) {
    for (let x = Math.max(0, cx - half); x < Math.min(w, cx - half + size); x++) image.fill(0, (y * w + x) * c, (y * w + x + 1) * c);
  }
}

/** Applies every transformation of `p` to one image, in place, in the documented order. */
export function augmentImage(image: Float32Array, s: ImageShape, p: AugmentParams, noise?: ArrayLike<number>): void {
  flip(image, s, p.flipHorizontal, p.flipVertical);
  affine(image, s, p.angle, p.scale, p.shiftX, p.shiftY);
  brightnessContrast(image, s, p.brightness, p.contrast);
  if (noise) addNoise(image, noise, p.noiseStddev);
  cutout(image, s, p.cutoutSize, p.cutoutX, p.cutoutY);
}
