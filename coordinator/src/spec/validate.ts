// Checks a submitted JobSpec before anything is stored and fills in the defaults proto3 cannot express.
// Hand-written rather than a schema library: most rules relate fields to each other (loss and last layer,
// batch size and worker count), and the error must name the proto3 JSON path of the offending field.

import type { CommunicationSpec, DatasetSpec, DenseLayer, JobSpec, Layer, ModelSpec, Optimizer, TrainingSpec, WorkersSpec } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';

export const ACTIVATIONS = ['sigmoid', 'relu', 'tanh', 'softmax', 'linear'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const LOSSES = ['meanSquaredError', 'binaryCrossentropy', 'categoricalCrossentropy'] as const;
export type Loss = (typeof LOSSES)[number];

export const DATASETS = { mnist: { inputShape: [784], classes: 10, train: 8000, heldout: 2000 } } as const;
export type DatasetName = keyof typeof DATASETS;

const LAYER_TYPES = ['dense'] as const;
const OPTIMIZER_TYPES = ['sgd'] as const;
const DEFAULT_ACTIVATION: Activation = 'linear';

// The name becomes a URL path segment and a NATS subject token, hence no dots, slashes or spaces.
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const MAX_NAME_LENGTH = 64;
const MAX_UNITS = 65536;
const MAX_EPOCHS = 10000;
const MAX_WORKERS = 256;
const UINT32_MAX = 0xffff_ffff;

/** What each loss needs of the last layer: an activation, and one unit per dataset class for classification. */
const LOSS_OUTPUT: Record<Loss, { activation?: Activation; unitPerClass: boolean }> = {
  // Built-in datasets have one-hot targets, so every loss compares one output per class.
  meanSquaredError: { unitPerClass: true },
  binaryCrossentropy: { activation: 'sigmoid', unitPerClass: true },
  categoricalCrossentropy: { activation: 'softmax', unitPerClass: true },
};

/**
 * Returns a normalized copy (defaults filled in: empty activation -> 'linear'; workers.max 0 -> workers.min;
 * dataset.train_limit 0 -> full train set) or throws InvalidSpecError naming the first bad field.
 */
export function validateJobSpec(spec: JobSpec | undefined): JobSpec {
  if (spec === undefined) throw new InvalidSpecError('spec', 'a job spec is required');
  const name = validateName(spec.name);
  const { model, loss } = validateModel(spec.model);
  const { dataset, datasetName } = validateDataset(spec.dataset);
  checkOutputLayer(model, loss, datasetName);
  const training = validateTraining(spec.training);
  const workers = validateWorkers(spec.workers);
  checkGlobalBatch(training.globalBatchSize, workers.max, dataset.trainLimit);
  const communication = validateCommunication(spec.communication);
  return { name, model, dataset, training, workers, communication };
}

export const ALLREDUCE_ALGORITHMS = ['auto', 'direct', 'ring', 'sharded'] as const;
export const COMPRESSIONS = ['none', 'fp16', 'int8'] as const;

function validateCommunication(communication: CommunicationSpec | undefined): CommunicationSpec {
  const algorithm = communication?.algorithm || 'auto';
  const compression = communication?.compression || 'none';
  if (!isOneOf(ALLREDUCE_ALGORITHMS, algorithm)) {
    throw new InvalidSpecError('communication.algorithm', notOneOf('all-reduce algorithm', algorithm, ALLREDUCE_ALGORITHMS));
  }
  if (!isOneOf(COMPRESSIONS, compression)) {
    throw new InvalidSpecError('communication.compression', notOneOf('compression', compression, COMPRESSIONS));
  }
  return { algorithm, compression };
}

function validateName(name: string): string {
  if (name === '') throw new InvalidSpecError('name', 'is required');
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidSpecError('name', `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidSpecError(
      'name',
      `${quote(name)} must start with a letter or digit and contain only letters, digits, '-' and '_'`,
    );
  }
  return name;
}

function validateModel(model: ModelSpec | undefined): { model: ModelSpec; loss: Loss } {
  if (model === undefined) throw new InvalidSpecError('model', 'is required');
  if (model.layers.length === 0) throw new InvalidSpecError('model.layers', 'at least one layer is required');
  const layers = model.layers.map((layer, i) => validateLayer(layer, `model.layers[${i}]`));
  if (!isOneOf(LOSSES, model.loss)) throw new InvalidSpecError('model.loss', notOneOf('loss', model.loss, LOSSES));
  const optimizer = validateOptimizer(model.optimizer);
  return { model: { layers, loss: model.loss, optimizer }, loss: model.loss };
}

function validateLayer(layer: Layer, field: string): Layer {
  const kind = layer.kind;
  switch (kind?.$case) {
    case 'dense':
      return { kind: { $case: 'dense', value: validateDense(kind.value, `${field}.dense`) } };
    default:
      throw new InvalidSpecError(field, `unknown or missing layer type; expected one of: ${LAYER_TYPES.join(', ')}`);
  }
}

function validateDense(dense: DenseLayer, field: string): DenseLayer {
  const units = integerIn(`${field}.units`, dense.units, 1, MAX_UNITS);
  const activation = dense.activation === '' ? DEFAULT_ACTIVATION : dense.activation;
  if (!isOneOf(ACTIVATIONS, activation)) {
    throw new InvalidSpecError(`${field}.activation`, notOneOf('activation', activation, ACTIVATIONS));
  }
  return { units, activation };
}

function validateOptimizer(optimizer: Optimizer | undefined): Optimizer {
  const field = 'model.optimizer';
  const kind = optimizer?.kind;
  switch (kind?.$case) {
    case 'sgd': {
      const { learningRate, momentum } = kind.value;
      if (!Number.isFinite(learningRate) || learningRate <= 0) {
        throw new InvalidSpecError(`${field}.sgd.learningRate`, `must be a positive finite number, got ${show(learningRate)}`);
      }
      if (!Number.isFinite(momentum) || momentum < 0 || momentum >= 1) {
        throw new InvalidSpecError(`${field}.sgd.momentum`, `must be a finite number in [0, 1), got ${show(momentum)}`);
      }
      return { kind: { $case: 'sgd', value: { learningRate, momentum } } };
    }
    default:
      throw new InvalidSpecError(
        field,
        `${optimizer === undefined ? 'is required' : 'unknown or missing optimizer type'}; expected one of: ${OPTIMIZER_TYPES.join(', ')}`,
      );
  }
}

function validateDataset(dataset: DatasetSpec | undefined): { dataset: DatasetSpec; datasetName: DatasetName } {
  if (dataset === undefined) throw new InvalidSpecError('dataset', 'is required');
  const name = dataset.name;
  if (!isDatasetName(name)) {
    throw new InvalidSpecError('dataset.name', notOneOf('dataset', name, Object.keys(DATASETS)));
  }
  const train = DATASETS[name].train;
  if (!Number.isInteger(dataset.trainLimit) || dataset.trainLimit < 0 || dataset.trainLimit > train) {
    throw new InvalidSpecError(
      'dataset.trainLimit',
      `must be an integer from 0 (all) to ${train}, the training examples in ${quote(name)}; got ${show(dataset.trainLimit)}`,
    );
  }
  return { dataset: { name, trainLimit: dataset.trainLimit === 0 ? train : dataset.trainLimit }, datasetName: name };
}

/** The last layer must produce what the loss compares against the dataset's labels. */
function checkOutputLayer(model: ModelSpec, loss: Loss, datasetName: DatasetName): void {
  const index = model.layers.length - 1;
  const last = model.layers[index]?.kind;
  if (last?.$case !== 'dense') return;
  const field = `model.layers[${index}].dense`;
  const needs = LOSS_OUTPUT[loss];
  const classes = DATASETS[datasetName].classes;
  if (needs.unitPerClass && last.value.units !== classes) {
    throw new InvalidSpecError(
      `${field}.units`,
      `loss ${loss} needs the last layer to have one unit per class of dataset ${quote(datasetName)} (${classes}), got ${last.value.units}`,
    );
  }
  if (needs.activation !== undefined && last.value.activation !== needs.activation) {
    throw new InvalidSpecError(
      `${field}.activation`,
      `loss ${loss} needs a ${needs.activation} activation on the last layer, got ${quote(last.value.activation)}`,
    );
  }
}

function validateTraining(training: TrainingSpec | undefined): TrainingSpec {
  if (training === undefined) throw new InvalidSpecError('training', 'is required');
  return {
    epochs: integerIn('training.epochs', training.epochs, 1, MAX_EPOCHS),
    globalBatchSize: integerIn('training.globalBatchSize', training.globalBatchSize, 1, UINT32_MAX),
    seed: integerIn('training.seed', training.seed, 0, UINT32_MAX),
    maxSteps: integerIn('training.maxSteps', training.maxSteps, 0, UINT32_MAX),
  };
}

function validateWorkers(workers: WorkersSpec | undefined): WorkersSpec {
  if (workers === undefined) throw new InvalidSpecError('workers', 'is required');
  const min = integerIn('workers.min', workers.min, 1, MAX_WORKERS);
  const max = workers.max === 0 ? min : integerIn('workers.max', workers.max, 1, MAX_WORKERS);
  if (max < min) {
    throw new InvalidSpecError('workers.max', `must be at least workers.min (${min}), or 0 to mean workers.min; got ${max}`);
  }
  return { min, max };
}

/** Each step splits the global batch across up to `workers` workers, each needing at least one sample. */
function checkGlobalBatch(globalBatchSize: number, workers: number, trainSize: number): void {
  const field = 'training.globalBatchSize';
  if (globalBatchSize < workers) {
    throw new InvalidSpecError(
      field,
      `must be at least the number of workers (${workers}) so each worker gets a sample every step, got ${globalBatchSize}`,
    );
  }
  if (globalBatchSize > trainSize) {
    throw new InvalidSpecError(field, `must be at most the training set size (${trainSize}), got ${globalBatchSize}`);
  }
}

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidSpecError(field, `must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

function isOneOf<T extends string>(allowed: readonly T[], value: string): value is T {
  return (allowed as readonly string[]).includes(value);
}

function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(DATASETS, name);
}

function notOneOf(what: string, value: string, allowed: readonly string[]): string {
  const problem = value === '' ? `missing ${what}` : `unknown ${what} ${quote(value)}`;
  return `${problem}; expected one of: ${allowed.join(', ')}`;
}

/** Strings are quoted so an empty or blank value is visible; numbers print as-is so NaN and Infinity stay legible. */
function show(value: unknown): string {
  return typeof value === 'string' ? quote(value) : String(value);
}

function quote(value: string): string {
  return JSON.stringify(value);
}
