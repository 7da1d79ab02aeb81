// Data augmentation of a batch: each sample's parameters are drawn from the per-sample random
// streams (random/sample-random.ts, Streams.augmentation), keyed by (job seed, epoch, sample
// index), so a sample is transformed the same way whichever rank trains it, and afresh each epoch.
import type { Augmentation } from '@syncline/proto';
import { Streams, fillNormal, fillUniform } from '../random/sample-random.js';
import { IDENTITY, augmentImage, type AugmentParams, type ImageShape } from './transforms.js';

/** One stream per transformation family: adding one never changes another's draws. */
const Op = { flip: 0, affine: 1, photometric: 2, noise: 3, cutout: 4 } as const;

/** Whether a spec asks for any transformation at all. */
export function augments(spec: Augmentation | undefined): spec is Augmentation {
  if (!spec) return false;
  return (
    spec.horizontalFlip ||
    spec.verticalFlip ||
    spec.rotation > 0 ||
    spec.zoom > 0 ||
    spec.widthShift > 0 ||
    spec.heightShift > 0 ||
    spec.brightness > 0 ||
    spec.contrast > 0 ||
    spec.noiseStddev > 0 ||
    spec.cutoutSize > 0
  );
}

/** The image shape a (validated) spec augments: its own, else the dataset's rank-3 input shape. */
export function imageShapeOf(spec: Augmentation, inputShape: readonly number[]): ImageShape {
  const [height, width, channels] = spec.imageShape.length === 3 ? spec.imageShape : inputShape;
  if (height === undefined || width === undefined || channels === undefined) throw new Error(`augmentation needs an image shape; the input shape is [${inputShape.join(', ')}]`);
  return { height, width, channels };
}

/** A value uniform in [-range, range] from a uniform u in [0, 1). */
const symmetric = (u: number, range: number) => (2 * u - 1) * range;

/** The parameters of one sample's augmentation; `noise` receives its noise values when the spec adds noise. */
export function drawParams(spec: Augmentation, shape: ImageShape, seed: number, epoch: number, sample: number, noise?: Float32Array): AugmentParams {
  const u = new Float64Array(4);
  const key = (op: number) => ({ seed, epoch, sample, stream: Streams.augmentation(op) });
  const p: AugmentParams = { ...IDENTITY };
  if (spec.horizontalFlip || spec.verticalFlip) {
    fillUniform(key(Op.flip), u, 0, 2);
    p.flipHorizontal = spec.horizontalFlip && u[0]! < 0.5;
    p.flipVertical = spec.verticalFlip && u[1]! < 0.5;
  }
  if (spec.rotation > 0 || spec.zoom > 0 || spec.widthShift > 0 || spec.heightShift > 0) {
    fillUniform(key(Op.affine), u, 0, 4);
    p.angle = (symmetric(u[0]!, spec.rotation) * Math.PI) / 180;
    p.scale = 1 + symmetric(u[1]!, spec.zoom);
    p.shiftX = symmetric(u[2]!, spec.widthShift) * shape.width;
    p.shiftY = symmetric(u[3]!, spec.heightShift) * shape.height;
  }
  if (spec.brightness > 0 || spec.contrast > 0) {
    fillUniform(key(Op.photometric), u, 0, 2);
    p.brightness = symmetric(u[0]!, spec.brightness);
    p.contrast = 1 + symmetric(u[1]!, spec.contrast);
  }
  if (spec.noiseStddev > 0 && noise) {
    fillNormal(key(Op.noise), noise);
    p.noiseStddev = spec.noiseStddev;
  }
  if (spec.cutoutSize > 0) {
    fillUniform(key(Op.cutout), u, 0, 2);
    p.cutoutSize = spec.cutoutSize;
    p.cutoutX = Math.floor(u[0]! * shape.width);
    p.cutoutY = Math.floor(u[1]! * shape.height);
  }
  return p;
}

/** Augments the rows of `x` (one image each, row r being training sample `samples[r]`) in place. */
export function augmentBatch(x: Float32Array, samples: ArrayLike<number>, spec: Augmentation, shape: ImageShape, seed: number, epoch: number): void {
  const size = shape.height * shape.width * shape.channels;
  if (x.length !== samples.length * size) throw new RangeError(`a batch of ${samples.length} images of ${size} values needs ${samples.length * size} values, got ${x.length}`);
  const noise = spec.noiseStddev > 0 ? new Float32Array(size) : undefined;
  for (let r = 0; r < samples.length; r++) {
    const params = drawParams(spec, shape, seed, epoch, samples[r]!, noise);
    augmentImage(x.subarray(r * size, (r + 1) * size), shape, params, noise);
  }
}
