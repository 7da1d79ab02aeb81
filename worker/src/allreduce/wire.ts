// The one place values become frames: which encoding each compression uses, and how a reduced result
// is encoded so that its owner keeps exactly what every other rank will decode.
import { ChunkLayout, elementsPerChunk } from './chunking.js';
import { bytesPerElement, Encoding, encodeF16, encodeI8, encodeRaw, writeDecoded } from './codec.js';
import { allocateFrame, framePayload, frameScale, setScale, type FrameHeader } from './messages.js';
import type { AllReduceContext, Compression } from './round.js';

/** Encoding of contributions and reduced results under `compression`. */
export function wireEncoding(compression: Compression): Encoding {
  switch (compression) {
    case 'none':
      return Encoding.f32;
    case 'fp16':
      return Encoding.f16;
    case 'int8':
      return Encoding.i8;
  }
}

/**
 * How a reduction cuts its buffer into `shards` shards and chunks: chunks sized for `compressed`
 * elements, and from ctx.exactFrom on (when set) exact chunks sized for `exact` elements.
 */
export function reductionLayout(ctx: AllReduceContext, compressed: Encoding, exact: Encoding, shards = 1): ChunkLayout {
  const tail = ctx.exactFrom === undefined ? undefined : { from: ctx.exactFrom, elementsPerChunk: elementsPerChunk(ctx.maxChunkBytes, bytesPerElement(exact)) };
  return new ChunkLayout(ctx.length, elementsPerChunk(ctx.maxChunkBytes, bytesPerElement(compressed)), shards, tail);
}

/**
 * A new frame for `header` holding `values` in `header.encoding`. int8 sets the frame's scale and, given
 * `residual` (as long as `values`), writes what quantization lost into it.
 */
export function encodeChunk(header: FrameHeader, values: Float32Array | Float64Array, residual?: Float64Array): Uint8Array {
  const frame = allocateFrame(header);
  const payload = framePayload(frame);
  switch (header.encoding) {
    case Encoding.f32:
      encodeRaw(values instanceof Float32Array ? values : new Float32Array(values), payload);
      break;
    case Encoding.f64:
      encodeRaw(values instanceof Float64Array ? values : new Float64Array(values), payload);
      break;
    case Encoding.f16:
      encodeF16(values instanceof Float32Array ? values : new Float32Array(values), payload);
      break;
    case Encoding.i8:
      setScale(frame, encodeI8(values instanceof Float64Array ? values : new Float64Array(values), payload, residual));
      break;
  }
  return frame;
}

/**
 * Rounds a reduced chunk `sums` into `result` (same length) the way its frame carries it, and returns the
 * frame: the owner keeps exactly what the other ranks decode, so every rank ends bit-identical.
 */
export function encodeResult(header: FrameHeader, sums: Float64Array, result: Float32Array, residual?: Float64Array): Uint8Array {
  if (header.encoding === Encoding.i8) {
    const frame = encodeChunk(header, sums, residual);
    writeDecoded(Encoding.i8, framePayload(frame), frameScale(frame), result, 0);
    return frame;
  }
  result.set(sums); // the one rounding of the float64 sum to float32
  const frame = encodeChunk(header, result);
  if (header.encoding !== Encoding.f32) writeDecoded(header.encoding, framePayload(frame), 0, result, 0);
  return frame;
}
