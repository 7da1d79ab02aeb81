// imageToSample: RGBA pixels to one model input: the model's shape picks size and channels,
// area averaging shrinks, invert and transparency treat paper as background, and the 'content'
// fit crops and centres a drawing as MNIST digits are.
import test from 'ava';
import { imageTarget, imageToSample, isImageInput, resizeArea, type ImageLike } from '../src/image.js';

/** A width x height RGBA image, opaque black, with `paint` deciding each pixel's [r, g, b, a]. */
function image(width: number, height: number, paint: (x: number, y: number) => [number, number, number, number] | undefined): ImageLike {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(paint(x, y) ?? [0, 0, 0, 255], (y * width + x) * 4);
  }
  return { data, width, height };
}

const at = (sample: Float32Array, width: number, x: number, y: number) => sample[y * width + x]!;

test('the input shape says the image size and channels', (t) => {
  t.deepEqual(imageTarget([784]), { height: 28, width: 28, channels: 1 });
  t.deepEqual(imageTarget([28, 28]), { height: 28, width: 28, channels: 1 });
  t.deepEqual(imageTarget([32, 24, 3]), { height: 32, width: 24, channels: 3 });
  t.throws(() => imageTarget([10]), { instanceOf: TypeError });
  t.throws(() => imageTarget([4, 4, 2]), { instanceOf: TypeError });
});

test('only image-like values are images', (t) => {
  t.true(isImageInput(image(1, 1, () => undefined)));
  t.false(isImageInput(new Float32Array(4)));
  t.false(isImageInput([[1, 2]]));
  t.false(isImageInput({ width: 2, height: 2 }));
});

test('a 56x56 image shrinks to 28x28 grey by averaging: a white top-left quarter stays exactly there', (t) => {
  const sample = imageToSample(image(56, 56, (x, y) => (x < 28 && y < 28 ? [255, 255, 255, 255] : undefined)), [784]);
  t.is(sample.length, 784);
  t.is(at(sample, 28, 0, 0), 1);
  t.is(at(sample, 28, 13, 13), 1);
  t.is(at(sample, 28, 14, 13), 0);
  t.is(sample.reduce((n, v) => n + v, 0), 14 * 14);
  // Odd factors average partial pixels: 3 source pixels over 2 outputs.
  t.deepEqual(Array.from(resizeArea({ values: Float32Array.from([0, 1, 0]), width: 3, height: 1 }, 1, 2, 1)), [Math.fround(1 / 3), Math.fround(1 / 3)]);
});

test('grey is luminance composited over black; invert composites over white and flips', (t) => {
  const red = image(28, 28, () => [255, 0, 0, 255]);
  t.true(Math.abs(imageToSample(red, [28, 28])[0]! - 0.299) < 1e-6);
  const rgb = imageToSample(red, [28, 28, 3]);
  t.deepEqual(Array.from(rgb.subarray(0, 3)), [1, 0, 0]);
  // Black ink on a transparent canvas: with invert the ink is 1 and the transparent rest 0.
  const ink = image(28, 28, (x) => (x === 5 ? [0, 0, 0, 255] : [0, 0, 0, 0]));
  const inverted = imageToSample(ink, [784], { invert: true });
  t.is(at(inverted, 28, 5, 3), 1);
  t.is(at(inverted, 28, 6, 3), 0);
  t.is(imageToSample(ink, [784]).reduce((n, v) => n + v, 0), 0, 'without invert, black on transparent is all background');
});

test("the 'content' fit crops to the drawing, scales it into the 20x20 box and centres it by mass", (t) => {
  // A 40x80 white bar in the top-left corner of a 280x280 black canvas.
  const bar = image(280, 280, (x, y) => (x >= 10 && x < 50 && y >= 10 && y < 90 ? [255, 255, 255, 255] : undefined));
  const sample = imageToSample(bar, [784], { fit: 'content' });
  const ink: [number, number][] = [];
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) if (at(sample, 28, x, y) > 0.5) ink.push([x, y]);
  const xs = ink.map(([x]) => x);
  const ys = ink.map(([, y]) => y);
  t.deepEqual([Math.min(...ys), Math.max(...ys)], [4, 23], '20 rows tall, centred');
  t.deepEqual([Math.min(...xs), Math.max(...xs)], [9, 18], '10 columns wide: the aspect is kept');
  const stretched = imageToSample(bar, [784]);
  t.true(at(stretched, 28, 2, 2) > 0.5 && at(stretched, 28, 14, 14) === 0, "'stretch' keeps it in the corner");
  // An empty drawing falls back to the plain stretch: all background.
  t.is(imageToSample(image(50, 50, () => undefined), [784], { fit: 'content' }).reduce((n, v) => n + v, 0), 0);
});

test('a buffer shorter than width x height x 4 is a RangeError', (t) => {
  t.throws(() => imageToSample({ data: new Uint8ClampedArray(10), width: 28, height: 28 }, [784]), { instanceOf: RangeError });
});
