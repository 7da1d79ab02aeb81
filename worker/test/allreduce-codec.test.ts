// Element encodings on the wire: float16 rounding against an independent reference, int8 quantization
// bounds and its residual, and decoding from unaligned transport buffers.
import test from 'ava';
import fc from 'fast-check';
import { addDecoded, Encoding, encodeF16, encodeI8, f32BitsToF16, writeDecoded } from '../src/allreduce/codec.js';

/** Nearest float16 by arithmetic (ties to even), as a number: an independent reference for f32BitsToF16. */
function referenceF16(value: number): number {
  if (Number.isNaN(value)) return NaN;
  const a = Math.abs(value);
  if (a >= 65520) return Math.sign(value) * Infinity; // halfway between 65504 and 2^16 rounds up
  const exponent = Math.max(a === 0 ? -14 : Math.floor(Math.log2(a)), -14);
  const quantum = 2 ** (exponent - 10);
  const q = a / quantum; // exact: a power-of-two division
  let n = Math.floor(q);
  const rest = q - n;
  if (rest > 0.5 || (rest === 0.5 && n % 2 === 1)) n++;
  return (value < 0 || Object.is(value, -0) ? -1 : 1) * n * quantum;
}

function viaCodec(value: number): number {
  const input = new Float32Array([value]);
  const out = new Uint8Array(2);
  encodeF16(input, out);
  const decoded = new Float32Array(1);
  writeDecoded(Encoding.f16, out, 0, decoded, 0);
  return decoded[0]!;
}

test('float32 → float16 rounds to nearest even, saturates to ±Infinity and keeps NaN, ±0 and subnormals', (t) => {
  const special = [0, -0, 1, -1, 65504, 65519.99, 65520, 65536, 1e9, -1e9, Infinity, -Infinity, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -26, 2 ** -26, 1e-45, 0.1, 1 / 3];
  for (const value of special) t.true(Object.is(viaCodec(value), referenceF16(Math.fround(value))), `${value}`);
  t.true(Number.isNaN(viaCodec(NaN)));
  // Every float16 and every midpoint between neighbours, and a float32 ulp either side of it.
  const all = new Float32Array(1);
  const bits = new Uint32Array(all.buffer);
  for (let h = 0; h < 0x7c00; h++) {
    const lo = referenceF16Bits(h);
    const hi = referenceF16Bits(h + 1);
    for (const value of [lo, (lo + hi) / 2]) {
      all[0] = value;
      for (const delta of [-1, 0, 1]) {
        const b = bits[0]! + delta;
        if (b < 0) continue;
        const v = new Float32Array(new Uint32Array([b]).buffer)[0]!;
        if (!Object.is(viaCodec(v), referenceF16(v))) t.fail(`${v}: ${viaCodec(v)} vs ${referenceF16(v)}`);
        if (!Object.is(viaCodec(-v), referenceF16(-v))) t.fail(`${-v}`);
      }
    }
  }
  fc.assert(
    fc.property(fc.float({ noNaN: true }), (value) => Object.is(viaCodec(value), referenceF16(value))),
    { numRuns: 20_000 },
  );
  t.is(f32BitsToF16(0x7fc0_0000), 0x7e00);
});

function referenceF16Bits(h: number): number {
  const exponent = h >>> 10;
  const mantissa = h & 0x3ff;
  return exponent === 0 ? mantissa * 2 ** -24 : (0x400 + mantissa) * 2 ** (exponent - 25);
}

test('int8 quantization loses at most half a step per element, and its residual is exactly what was lost', (t) => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), (values) => {
      const input = Float64Array.from(values);
      const out = new Uint8Array(input.length);
      const residual = new Float64Array(input.length);
      const scale = encodeI8(input, out, residual);
      const decoded = new Float32Array(input.length);
      writeDecoded(Encoding.i8, out, scale, decoded, 0);
      const max = Math.max(...values.map(Math.abs));
      // Half a step while the step is a normal float32; below that (max < 127·2^-126) values may be lost
      // to the residual entirely, which feeds them into the next step.
      const bound = max / 127 >= 2 ** -126 ? (max / 254) * (1 + 2 ** -20) : max;
      for (let i = 0; i < input.length; i++) {
        const lost = input[i]! - decoded[i]!;
        if (Math.abs(lost) > bound) return false;
        if (residual[i] !== lost) return false;
      }
      return true;
    }),
  );
  // All zeros: scale 0, nothing lost. A non-finite value: the frame decodes to NaN, and no NaN is fed back.
  const zeros = new Float64Array(3);
  t.is(encodeI8(zeros, new Uint8Array(3)), 0);
  const poisoned = Float64Array.from([1, NaN, 2]);
  const residual = Float64Array.from([5, 5, 5]);
  const scale = encodeI8(poisoned, new Uint8Array(3), residual);
  t.true(Number.isNaN(scale));
  t.deepEqual([...residual], [0, 0, 0]);
  const sums = new Float64Array(3);
  addDecoded(Encoding.i8, new Uint8Array(3), scale, sums, 0);
  t.true(sums.every(Number.isNaN));
});

test('decoding reads unaligned transport buffers correctly for every encoding', (t) => {
  const values = Float64Array.from([1.5, -2.25, 3e-3, 65504]);
  const encodings = [
    { encoding: Encoding.f32, bytes: new Uint8Array(new Float32Array(values).buffer), scale: 0 },
    { encoding: Encoding.f64, bytes: new Uint8Array(values.buffer.slice(0)), scale: 0 },
    { encoding: Encoding.f16, bytes: ((): Uint8Array => { const out = new Uint8Array(8); encodeF16(new Float32Array(values), out); return out; })(), scale: 0 },
  ];
  for (const { encoding, bytes, scale } of encodings) {
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = shifted.subarray(1);
    const sums = new Float64Array(5);
    addDecoded(encoding, view, scale, sums, 1);
    const written = new Float32Array(5);
    writeDecoded(encoding, view, scale, written, 1);
    t.deepEqual([...written.subarray(1)], [...sums.subarray(1)].map(Math.fround), `encoding ${encoding}`);
    t.is(written[1], 1.5);
    t.is(written[4], 65504);
  }
});
