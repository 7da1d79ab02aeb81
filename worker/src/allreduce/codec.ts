// How elements travel inside a frame: float32, float64 (ring partial sums), float16 or int8 with a
// per-frame scale. Every decoder is exact and deterministic, so all ranks read the same numbers.

export const Encoding = {
  f32: 0,
  f64: 1,
  f16: 2,
  i8: 3,
} as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

const BYTES: Readonly<Record<Encoding, number>> = { [Encoding.f32]: 4, [Encoding.f64]: 8, [Encoding.f16]: 2, [Encoding.i8]: 1 };

export function isEncoding(value: number): value is Encoding {
  return value === Encoding.f32 || value === Encoding.f64 || value === Encoding.f16 || value === Encoding.i8;
}

export function bytesPerElement(encoding: Encoding): number {
  return BYTES[encoding];
}

/** Copies float32 or float64 values as they are into `out` (which must have exactly their byte size). */
export function encodeRaw(values: Float32Array | Float64Array, out: Uint8Array): void {
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** Rounds float32 values to the nearest float16 (ties to even; beyond ±65504 they become ±Infinity). */
export function encodeF16(values: Float32Array, out: Uint8Array): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const halves = new Uint16Array(out.buffer, out.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) halves[i] = f32BitsToF16(bits[i]!);
}

/**
 * Quantizes to int8 with one scale for the frame (max |value| / 127), returns the scale. Where `residual`
 * is given, it receives what was lost, value − decoded value, so the caller can send it next time.
 * A non-finite value makes the scale NaN, so the whole frame decodes to NaN and the fault stays visible
 * (its residual is zero: feeding NaN forward would poison every later step).
 */
export function encodeI8(values: Float64Array, out: Uint8Array, residual?: Float64Array): number {
  const n = values.length;
  let max = 0;
  let finite = true;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(values[i]!);
    if (a > max) max = a;
    else if (!(a <= max)) finite = false; // NaN
  }
  const q = new Int8Array(out.buffer, out.byteOffset, n);
  if (!finite || max === Infinity) {
    q.fill(0);
    residual?.fill(0);
    return NaN;
  }
  const scale = Math.fround(max / 127);
  if (scale === 0) {
    q.fill(0);
    residual?.set(values);
    return 0;
  }
  const inverse = 1 / scale;
  if (residual === undefined) {
    for (let i = 0; i < n; i++) q[i] = quantize(values[i]! * inverse);
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      const k = quantize(v * inverse);
      q[i] = k;
      residual[i] = v - Math.fround(k * scale);
    }
  }
  return scale;
}

/** 1.5 · 2^52: adding and subtracting it rounds a double of magnitude < 2^51 to an integer, ties to even. */
const ROUNDING = 6_755_399_441_055_744;

/** Nearest integer in [-127, 127] (|x| exceeds 127 only by float rounding of the scale). */
function quantize(x: number): number {
  const k = x + ROUNDING - ROUNDING;
  return k > 127 ? 127 : k < -127 ? -127 : k;
}

/** sums[at + i] += values[from + i] for i < count. */
export function addValues(sums: Float64Array, at: number, values: Float32Array | Float64Array, from: number, count: number): void {
  // One loop per element type: a loop that sees both stays polymorphic and runs several times slower.
  if (values instanceof Float32Array) addFloat32(sums, at, values, from, count);
  else addFloat64(sums, at, values, from, count);
}

function addFloat32(sums: Float64Array, at: number, values: Float32Array, from: number, count: number): void {
  for (let i = 0; i < count; i++) sums[at + i]! += values[from + i]!;
}

function addFloat64(sums: Float64Array, at: number, values: Float64Array, from: number, count: number): void {
  for (let i = 0; i < count; i++) sums[at + i]! += values[from + i]!;
}

/** sums[offset + i] += decoded element i. */
export function addDecoded(encoding: Encoding, payload: Uint8Array, scale: number, sums: Float64Array, offset: number): void {
  switch (encoding) {
    case Encoding.f32: {
      const values = aligned(payload, Float32Array);
      addFloat32(sums, offset, values, 0, values.length);
      return;
    }
    case Encoding.f64: {
      const values = aligned(payload, Float64Array);
      addFloat64(sums, offset, values, 0, values.length);
      return;
    }
    case Encoding.f16: {
      const halves = aligned(payload, Uint16Array);
      const table = f16Table();
      for (let i = 0; i < halves.length; i++) sums[offset + i]! += table[halves[i]!]!;
      return;
    }
    case Encoding.i8: {
      const q = new Int8Array(payload.buffer, payload.byteOffset, payload.length);
      for (let i = 0; i < q.length; i++) sums[offset + i]! += Math.fround(q[i]! * scale);
      return;
    }
  }
}

/** out[offset + i] = decoded element i. */
export function writeDecoded(encoding: Encoding, payload: Uint8Array, scale: number, out: Float32Array, offset: number): void {
  switch (encoding) {
    case Encoding.f32:
      new Uint8Array(out.buffer, out.byteOffset + offset * 4, payload.length).set(payload);
      return;
    case Encoding.f64:
      out.set(aligned(payload, Float64Array), offset);
      return;
    case Encoding.f16: {
      const halves = aligned(payload, Uint16Array);
      const table = f16Table();
      for (let i = 0; i < halves.length; i++) out[offset + i] = table[halves[i]!]!;
      return;
    }
    case Encoding.i8: {
      const q = new Int8Array(payload.buffer, payload.byteOffset, payload.length);
      for (let i = 0; i < q.length; i++) out[offset + i] = q[i]! * scale;
      return;
    }
  }
}

type TypedArrayOf<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** A typed view of `bytes`, copying first when the transport handed over an unaligned view. */
function aligned<T>(bytes: Uint8Array, Type: TypedArrayOf<T>): T {
  const size = Type.BYTES_PER_ELEMENT;
  const source = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return new Type(source.buffer, source.byteOffset, source.length / size);
}

/**
 * float32 bits → float16 bits, round to nearest even (after F. Giesen's float_to_half_fast3_rtne, with the
 * subnormal case done in integers so no float rounding can interfere).
 */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const f = x & 0x7fff_ffff;
  if (f >= 0x4780_0000) return sign | (f > 0x7f80_0000 ? 0x7e00 : 0x7c00); // ≥ 2^16: Infinity, or NaN stays NaN
  if (f >= 0x3880_0000) {
    // Normal half (≥ 2^-14): rebias the exponent, round the 13 dropped mantissa bits to even.
    const odd = (f >>> 13) & 1;
    return sign | ((f + ((15 - 127) << 23) + 0xfff + odd) >>> 13);
  }
  const exponent = f >>> 23;
  if (exponent < 102) return sign; // below 2^-25: rounds to zero
  // Subnormal half: the value in units of 2^-24 is m · 2^(exponent − 126).
  const m = (f & 0x7f_ffff) | 0x80_0000;
  const shift = 126 - exponent;
  let q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q++;
  return sign | q;
}

let table: Float32Array | undefined;

/** Every float16 value as float32 (exact), indexed by its bits. */
function f16Table(): Float32Array {
  if (table !== undefined) return table;
  table = new Float32Array(0x1_0000);
  for (let h = 0; h < 0x1_0000; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    table[h] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa === 0
            ? sign * Infinity
            : NaN
          : sign * (0x400 + mantissa) * 2 ** (exponent - 25);
  }
  return table;
}
