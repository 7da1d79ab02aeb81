// Wire frame of one collective message: a fixed little-endian header, then the encoded elements.
import { bytesPerElement, Encoding, isEncoding } from './codec.js';

export const FrameKind = {
  hello: 1,
  broadcast: 2,
  /** A contribution (or, in the ring, a partial sum) on its way to be reduced. */
  reduce: 3,
  /** A reduced result on its way to the ranks that do not own it. */
  gather: 4,
  /**
   * A request to send again the frames of an all-reduce step (or, below, a broadcast) that the
   * requester misses, after an outage lost them; the payload lists their chunk indices (uint32).
   */
  resendReduction: 5,
  resendBroadcast: 6,
  /** A broadcast receiver tells the root how many chunks it holds (chunkIndex), so the root sends more. */
  ack: 7,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Which all-reduce algorithm produced a frame, so peers that disagree fail loudly instead of timing out. */
export const AlgorithmId = {
  none: 0, // hello and broadcast
  direct: 1,
  ring: 2,
  sharded: 3,
} as const;
export type AlgorithmId = (typeof AlgorithmId)[keyof typeof AlgorithmId];

const MAGIC = 0x53; // 'S'
const VERSION = 3;
/** Set on a hello whose sender still waits for peers. Replies never set it, so hellos cannot ping-pong. */
const FLAG_WANTS_REPLY = 1;

/** A multiple of 8, so a payload in a fresh buffer can be viewed as float64 without a copy. */
export const HEADER_BYTES = 40;
const SCALE_AT = 36;
export const MAX_UINT32 = 0xffff_ffff;
export const MAX_WORLD_SIZE = 0x1_0000; // ranks travel as uint16

export interface FrameHeader {
  kind: FrameKind;
  /** Hello only: the sender still waits for peers and asks each receiver to say hello back. */
  wantsReply: boolean;
  generation: number;
  /** All-reduce step, or broadcast tag. */
  step: number;
  sender: number;
  algorithm: AlgorithmId;
  encoding: Encoding;
  chunkIndex: number;
  chunkCount: number;
  /** Length of the whole buffer the chunk belongs to, so disagreeing peers are detected. */
  totalLength: number;
  elementOffset: number;
  elementCount: number;
  /** int8 only: the value of one quantization step; 0 for every other encoding. */
  scale: number;
}

export interface Frame extends FrameHeader {
  /**
   * The encoded elements: a view into the transport's buffer, valid only during the call that hands it
   * over. Keep it with detachFrame().
   */
  payload: Uint8Array;
}

// Payloads are copied with memcpy in host byte order; all supported hosts (x86-64, arm64) are
// little-endian, and refusing big-endian hosts beats carrying an untested byte-swapping path.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('syncline all-reduce frames require a little-endian host');
}

const KINDS: ReadonlySet<number> = new Set(Object.values(FrameKind));
const ALGORITHMS: ReadonlySet<number> = new Set(Object.values(AlgorithmId));

/**
 * A fresh frame with `header` written and room for `header.elementCount` elements of its encoding at
 * HEADER_BYTES; the encoder fills the payload (and, for int8, calls setScale).
 */
export function allocateFrame(header: FrameHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + header.elementCount * bytesPerElement(header.encoding));
  const view = new DataView(bytes.buffer);
  view.setUint8(0, MAGIC);
  view.setUint8(1, VERSION);
  view.setUint8(2, header.kind);
  view.setUint8(3, header.wantsReply ? FLAG_WANTS_REPLY : 0);
  view.setUint32(4, header.generation, true);
  view.setUint32(8, header.step, true);
  view.setUint16(12, header.sender, true);
  view.setUint8(14, header.algorithm);
  view.setUint8(15, header.encoding);
  view.setUint32(16, header.chunkIndex, true);
  view.setUint32(20, header.chunkCount, true);
  view.setUint32(24, header.totalLength, true);
  view.setUint32(28, header.elementOffset, true);
  view.setUint32(32, header.elementCount, true);
  view.setFloat32(SCALE_AT, header.scale, true);
  return bytes;
}

export function framePayload(frame: Uint8Array): Uint8Array {
  return frame.subarray(HEADER_BYTES);
}

export function setScale(frame: Uint8Array, scale: number): void {
  new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).setFloat32(SCALE_AT, scale, true);
}

export function frameScale(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).getFloat32(SCALE_AT, true);
}

/** Rewrites the sender of an encoded frame in place (the ring forwards results without re-encoding them). */
export function setSender(frame: Uint8Array, sender: number): void {
  new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).setUint16(12, sender, true);
}

/** A frame of float32 elements (broadcasts, tests): header plus a copy of `elements`. */
export function encodeFrame(header: FrameHeader, elements: Float32Array): Uint8Array {
  if (header.encoding !== Encoding.f32) throw new RangeError('encodeFrame writes float32 frames only');
  if (elements.length !== header.elementCount) {
    throw new RangeError(`frame declares ${header.elementCount} elements but got ${elements.length}`);
  }
  const bytes = allocateFrame(header);
  bytes.set(new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength), HEADER_BYTES);
  return bytes;
}

/** Parses and validates a frame; null for anything malformed. Never throws. The payload is a view into `bytes`. */
export function decodeFrame(bytes: Uint8Array): Frame | null {
  if (bytes.length < HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== MAGIC || view.getUint8(1) !== VERSION) return null;
  const kind = view.getUint8(2);
  const algorithm = view.getUint8(14);
  const encoding = view.getUint8(15);
  if (!isFrameKind(kind) || !isAlgorithmId(algorithm) || !isEncoding(encoding)) return null;
  const flags = view.getUint8(3);
  if ((flags & ~FLAG_WANTS_REPLY) !== 0) return null;
  const header: FrameHeader = {
    kind,
    wantsReply: (flags & FLAG_WANTS_REPLY) !== 0,
    generation: view.getUint32(4, true),
    step: view.getUint32(8, true),
    sender: view.getUint16(12, true),
    algorithm,
    encoding,
    chunkIndex: view.getUint32(16, true),
    chunkCount: view.getUint32(20, true),
    totalLength: view.getUint32(24, true),
    elementOffset: view.getUint32(28, true),
    elementCount: view.getUint32(32, true),
    scale: view.getFloat32(SCALE_AT, true),
  };
  if (bytes.length !== HEADER_BYTES + header.elementCount * bytesPerElement(encoding)) return null;
  if (!isConsistent(header)) return null;
  return { ...header, payload: bytes.subarray(HEADER_BYTES) };
}

/** The header of a frame that carries no buffer data (a hello, a resend request). */
export function controlHeader(kind: FrameKind, generation: number, step: number, sender: number, wantsReply = false, elementCount = 0): FrameHeader {
  return { kind, wantsReply, generation, step, sender, algorithm: AlgorithmId.none, encoding: Encoding.f32, chunkIndex: 0, chunkCount: 0, totalLength: 0, elementOffset: 0, elementCount, scale: 0 };
}

/** A request to `step`'s peer for the frames of `chunks` it sent us (or to all), from `sender`. */
export function encodeResend(kind: typeof FrameKind.resendReduction | typeof FrameKind.resendBroadcast, generation: number, step: number, sender: number, chunks: readonly number[]): Uint8Array {
  const bytes = allocateFrame(controlHeader(kind, generation, step, sender, false, chunks.length));
  const ids = new DataView(bytes.buffer, HEADER_BYTES);
  chunks.forEach((chunk, i) => ids.setUint32(i * 4, chunk, true));
  return bytes;
}

/** The chunk indices a resend request asks for. */
export function resendChunks(frame: Frame): number[] {
  const view = new DataView(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
  return Array.from({ length: frame.elementCount }, (_, i) => view.getUint32(i * 4, true));
}

/** The same frame with a payload of its own, safe to keep after the transport reuses its buffer. */
export function detachFrame(frame: Frame): Frame {
  // Not payload.slice(): on a Node Buffer that is a view, not a copy.
  return { ...frame, payload: new Uint8Array(frame.payload) };
}

function isConsistent(h: FrameHeader): boolean {
  const scaleOk = h.encoding === Encoding.i8 || Object.is(h.scale, 0);
  if (h.kind === FrameKind.hello) {
    return (
      h.chunkIndex === 0 &&
      h.chunkCount === 0 &&
      h.totalLength === 0 &&
      h.elementOffset === 0 &&
      h.elementCount === 0 &&
      h.algorithm === AlgorithmId.none &&
      h.encoding === Encoding.f32 &&
      scaleOk
    );
  }
  if (h.kind === FrameKind.ack) {
    return !h.wantsReply && h.algorithm === AlgorithmId.none && h.encoding === Encoding.f32 && h.chunkCount === 0 && h.totalLength === 0 && h.elementOffset === 0 && h.elementCount === 0 && scaleOk;
  }
  if (h.kind === FrameKind.resendReduction || h.kind === FrameKind.resendBroadcast) {
    return !h.wantsReply && h.algorithm === AlgorithmId.none && h.encoding === Encoding.f32 && h.chunkIndex === 0 && h.chunkCount === 0 && h.totalLength === 0 && h.elementOffset === 0 && scaleOk;
  }
  const algorithmOk = (h.kind === FrameKind.broadcast) === (h.algorithm === AlgorithmId.none);
  return (
    !h.wantsReply &&
    algorithmOk &&
    scaleOk &&
    h.chunkIndex < h.chunkCount &&
    h.elementOffset + h.elementCount <= h.totalLength
  );
}

function isFrameKind(value: number): value is FrameKind {
  return KINDS.has(value);
}

function isAlgorithmId(value: number): value is AlgorithmId {
  return ALGORITHMS.has(value);
}
