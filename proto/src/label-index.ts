// The label index of an uploaded classification dataset: each sample's class, so that a job
// selecting classes (dataset.classes) knows which samples it keeps from the index alone, the
// same on every rank, without reading the shards. Written by the coordinator beside each shard.
//
//   uint32 little-endian per sample, in sample order.

export function encodeLabels(labels: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(labels.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < labels.length; i++) view.setUint32(i * 4, labels[i]!, true);
  return bytes;
}

export function decodeLabels(bytes: Uint8Array): Uint32Array {
  if (bytes.length % 4 !== 0) throw new Error(`a label index of ${bytes.length} bytes is not whole uint32 labels`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

/** The class of a one-hot target. */
export function labelOf(target: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < target.length; k++) if (target[k]! > target[best]!) best = k;
  return best;
}
