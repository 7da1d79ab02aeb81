// Wire frame of one collective message: a fixed little-endian header, then float32 elements.

export const FrameKind = {
  data: 1,
  hello: 2,
  broadcast: 3,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const MAGIC = 0x53; // 'S'
const VERSION = 1;
/** Set on a hello whose sender still waits for peers. Replies never set it, so hellos cannot ping-pong. */
const FLAG_WANTS_REPLY = 1;

export const HEADER_BYTES = 36;
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
  chunkIndex: number;
  chunkCount: number;
  /** Length of the whole buffer the chunk belongs to, so disagreeing peers are detected. */
  totalLength: number;
  elementOffset: number;
  elementCount: number;
}

export interface Frame extends FrameHeader {
  /** A copy, safe to keep after the transport reuses its buffer. */
  payload: Float32Array;
}

// Payloads are copied with memcpy in host byte order; all supported hosts (x86-64, arm64) are
// little-endian, and refusing big-endian hosts beats carrying an untested byte-swapping path.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('syncline all-reduce frames require a little-endian host');
}

const KINDS: ReadonlySet<number> = new Set(Object.values(FrameKind));

/** `elements` are the `header.elementCount` floats to send; the frame is a fresh buffer. */
export function encodeFrame(header: FrameHeader, elements: Float32Array): Uint8Array {
  if (elements.length !== header.elementCount) {
    throw new RangeError(`frame declares ${header.elementCount} elements but got ${elements.length}`);
  }
  const bytes = new Uint8Array(HEADER_BYTES + elements.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, MAGIC);
  view.setUint8(1, VERSION);
  view.setUint8(2, header.kind);
  view.setUint8(3, header.wantsReply ? FLAG_WANTS_REPLY : 0);
  view.setUint32(4, header.generation, true);
  view.setUint32(8, header.step, true);
  view.setUint16(12, header.sender, true);
  view.setUint16(14, 0, true);
  view.setUint32(16, header.chunkIndex, true);
  view.setUint32(20, header.chunkCount, true);
  view.setUint32(24, header.totalLength, true);
  view.setUint32(28, header.elementOffset, true);
  view.setUint32(32, header.elementCount, true);
  bytes.set(new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength), HEADER_BYTES);
  return bytes;
}

/** Parses and validates a frame; null for anything malformed. Never throws. */
export function decodeFrame(bytes: Uint8Array): Frame | null {
  if (bytes.length < HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== MAGIC || view.getUint8(1) !== VERSION) return null;
  const kind = view.getUint8(2);
  if (!isFrameKind(kind)) return null;
  const flags = view.getUint8(3);
  const header: FrameHeader = {
    kind,
    wantsReply: (flags & FLAG_WANTS_REPLY) !== 0,
    generation: view.getUint32(4, true),
    step: view.getUint32(8, true),
    sender: view.getUint16(12, true),
    chunkIndex: view.getUint32(16, true),
    chunkCount: view.getUint32(20, true),
    totalLength: view.getUint32(24, true),
    elementOffset: view.getUint32(28, true),
    elementCount: view.getUint32(32, true),
  };
  if ((flags & ~FLAG_WANTS_REPLY) !== 0 || view.getUint16(14, true) !== 0) return null;
  if (bytes.length !== HEADER_BYTES + header.elementCount * 4) return null;
  if (!isConsistent(header)) return null;
  // Copied into a fresh, aligned buffer: the input may be an unaligned view into a reused read buffer
  // (a Node Buffer, whose slice() would not copy).
  const payload = new Float32Array(header.elementCount);
  new Uint8Array(payload.buffer).set(bytes.subarray(HEADER_BYTES));
  return { ...header, payload };
}

function isConsistent(h: FrameHeader): boolean {
  if (h.kind === FrameKind.hello) {
    return h.chunkIndex === 0 && h.chunkCount === 0 && h.totalLength === 0 && h.elementOffset === 0 && h.elementCount === 0;
  }
  return !h.wantsReply && h.chunkIndex < h.chunkCount && h.elementOffset + h.elementCount <= h.totalLength;
}

function isFrameKind(value: number): value is FrameKind {
  return KINDS.has(value);
}
