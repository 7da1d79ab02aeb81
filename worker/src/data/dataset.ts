// A dataset as workers hold it in memory: dense float features and one-hot targets.

export interface Split {
  /** Row-major features, `count x featureSize`. */
  x: Float32Array;
  /** Row-major one-hot targets, `count x classes`. */
  y: Float32Array;
  count: number;
}

export interface Dataset {
  name: string;
  inputShape: number[];
  featureSize: number;
  classes: number;
  train: Split;
  heldout: Split;
}

/** Copies the rows `indices` of a split into new contiguous arrays. */
export function gatherRows(split: Split, featureSize: number, classes: number, indices: ArrayLike<number>): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(indices.length * featureSize);
  const y = new Float32Array(indices.length * classes);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i]!;
    x.set(split.x.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
    y.set(split.y.subarray(row * classes, (row + 1) * classes), i * classes);
  }
  return { x, y };
}

/** The first `limit` rows of a split (all of them when limit is 0). */
export function limitSplit(split: Split, featureSize: number, classes: number, limit: number): Split {
  if (limit <= 0 || limit >= split.count) return split;
  return { x: split.x.subarray(0, limit * featureSize), y: split.y.subarray(0, limit * classes), count: limit };
}
