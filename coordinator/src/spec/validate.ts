// Checks a submitted JobSpec before anything is stored and fills in the defaults proto3 cannot express.
// Hand-written rather than a schema library: most rules relate fields to each other (loss and last layer,
// batch size and worker count, each layer's input and the previous layer's output), and the error must
// name the proto3 JSON path of the offending field.

import { datasetInfo, discriminatorOutputSize, ganClasses, generatorInputSize, stepsPerEpoch, BUILTIN_DATASETS, type CommunicationSpec, type DatasetInfo, type DatasetSpec, type EarlyStopping, type GanSpec, type JobSpec, type ModelSpec, type TrainingSpec, type WorkersSpec } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';
import { validateAugmentation, validateClasses } from './augment.js';
import { requestedVersion, validateBase, type BaseModelInfo } from './base-model.js';
import { ACCELERATORS } from '../scheduling/accelerators.js';
import { integerIn, notOneOf, numberIn, oneOf, quote, shapeText, show } from './checks.js';
import { checkLayerFields, checkStack, type CheckedStack } from './layers.js';
import { validateOptimizer, validateSchedule } from './optimizer.js';

export { ACTIVATIONS, type Activation } from './layers.js';
export const LOSSES = ['meanSquaredError', 'binaryCrossentropy', 'categoricalCrossentropy', 'sparseCategoricalCrossentropy'] as const;
export type Loss = (typeof LOSSES)[number];
export const METRICS = ['accuracy', 'mae'] as const;
/** What training.earlyStopping may watch: held-out loss (lower is better) or accuracy (higher). */
export const EARLY_STOPPING_MONITORS = ['loss', 'accuracy'] as const;
export const ALLREDUCE_ALGORITHMS = ['auto', 'direct', 'ring', 'sharded'] as const;
export const COMPRESSIONS = ['none', 'fp16', 'int8'] as const;
/** Who may download the published model: anyone, or a request with a token. */
export const VISIBILITIES = ['public', 'private'] as const;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const MAX_NAME_LENGTH = 64;
const MAX_EPOCHS = 10000;
const MAX_WORKERS = 256;
const UINT32_MAX = 0xffff_ffff;

/** What the last layer must produce for each loss. */
const LOSS_OUTPUT: Record<Loss, { activation?: string; classification: boolean }> = {
  meanSquaredError: { classification: false },
  binaryCrossentropy: { activation: 'sigmoid', classification: true },
  categoricalCrossentropy: { activation: 'softmax', classification: true },
  sparseCategoricalCrossentropy: { activation: 'softmax', classification: true },
};

/**
 * Returns a normalized copy (defaults filled in) or throws InvalidSpecError naming the first bad field.
 */
/**
 * `baseModel`: the registered model that model.base names, or UNKNOWN_BASE to check everything
 * but the base and the shapes on it (offline, without the registry); that result is for
 * reporting problems only, never to run.
 */
export function validateJobSpec(spec: JobSpec | undefined, userDatasets: Readonly<Record<string, DatasetInfo>> = {}, baseModel?: BaseModelInfo | typeof UNKNOWN_BASE): JobSpec {
  if (spec === undefined) throw new InvalidSpecError('spec', 'a job spec is required');
  const name = validateName(spec.name);
  const { dataset, info, heldout: heldoutCount } = validateDataset(spec.dataset, userDatasets);
  let model: ModelSpec | undefined;
  let gan: GanSpec | undefined;
  if (spec.model && spec.gan) throw new InvalidSpecError('gan', 'set either model or gan, not both');
  if (spec.gan) gan = validateGan(spec.gan, info);
  else model = validateModel(spec.model, info, dataset.name, baseModel);
  const training = validateTraining(spec.training);
  training.earlyStopping = validateEarlyStopping(spec.training?.earlyStopping, { gan: gan !== undefined, heldout: heldoutCount, metrics: model?.metrics ?? [] });
  if (training.earlyStopping) checkEvaluationsScheduled(training, dataset.trainLimit);
  const workers = validateWorkers(spec.workers);
  checkGlobalBatch(training.globalBatchSize, workers.max, dataset.trainLimit);
  const communication = validateCommunication(spec.communication);
  const visibility = spec.visibility === '' ? '' : oneOf('visibility', 'visibility', spec.visibility, VISIBILITIES);
  return { name, model, dataset, training, workers, communication, gan, visibility };
}

function validateCommunication(communication: CommunicationSpec | undefined): CommunicationSpec {
  return {
    algorithm: oneOf('communication.algorithm', 'all-reduce algorithm', communication?.algorithm || 'auto', ALLREDUCE_ALGORITHMS),
    compression: oneOf('communication.compression', 'compression', communication?.compression || 'none', COMPRESSIONS),
  };
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

export const UNKNOWN_BASE = 'unknown base';

function validateModel(model: ModelSpec | undefined, info: DatasetInfo, datasetName: string, baseModel: BaseModelInfo | typeof UNKNOWN_BASE | undefined): ModelSpec {
  if (model === undefined) throw new InvalidSpecError('model', 'is required (or gan)');
  if (model.base && baseModel === UNKNOWN_BASE) {
    if (model.base.name === '') throw new InvalidSpecError('model.base.name', 'is required: the name of a published or uploaded model');
    requestedVersion(model.base);
    checkLayerFields(model.layers, 'model.layers');
    const loss = oneOf('model.loss', 'loss', model.loss, LOSSES);
    model.metrics.forEach((m, i) => oneOf(`model.metrics[${i}]`, 'metric', m, METRICS));
    return { ...model, loss, optimizer: validateOptimizer(model.optimizer, 'model.optimizer') };
  }
  if (baseModel === UNKNOWN_BASE) baseModel = undefined;
  const base = model.base ? validateBase(model.base, baseModel, info, datasetName) : undefined;
  const input = base ? { shape: base.outputShape, kind: 'float' as const } : { shape: info.inputShape, kind: info.input, ...(info.vocabulary ? { vocabulary: info.vocabulary } : {}) };
  const stack = checkStack(model.layers, 'model.layers', input);
  const loss = oneOf('model.loss', 'loss', model.loss, LOSSES);
  checkOutput(stack, loss, info, datasetName);
  const classification = info.target.kind === 'classes';
  const metrics = model.metrics.length ? model.metrics.map((m, i) => oneOf(`model.metrics[${i}]`, 'metric', m, METRICS)) : [classification ? 'accuracy' : 'mae'];
  metrics.forEach((m, i) => {
    if (m === 'accuracy' && !classification) throw new InvalidSpecError(`model.metrics[${i}]`, `accuracy needs a classification dataset; ${quote(datasetName)} is a regression task (use mae)`);
  });
  return { layers: stack.layers, loss, optimizer: validateOptimizer(model.optimizer, 'model.optimizer'), metrics, base: base?.base };
}

/** The last layer must produce what the loss compares against the dataset's targets. */
function checkOutput(stack: CheckedStack, loss: Loss, info: DatasetInfo, datasetName: string): void {
  const field = stack.outputField;
  const needs = LOSS_OUTPUT[loss];
  const target = info.target;
  if (needs.classification && target.kind !== 'classes') {
    throw new InvalidSpecError('model.loss', `${loss} needs a classification dataset; ${quote(datasetName)} has real-valued targets (use meanSquaredError)`);
  }
  const expected = target.kind === 'classes' ? (loss === 'binaryCrossentropy' && target.classes === 2 ? [1, 2] : [target.classes]) : [target.size];
  const out = stack.outputShape;
  if (out.length !== 1 || !expected.includes(out[0]!)) {
    const what = target.kind === 'classes' ? `one unit per class of dataset ${quote(datasetName)} (${target.classes})` : `${target.size} output(s), the target size of ${quote(datasetName)}`;
    throw new InvalidSpecError(field, `the model must output ${what}; its output shape is ${shapeText(out)}`);
  }
  if (needs.activation !== undefined && stack.lastActivation?.value !== needs.activation) {
    throw new InvalidSpecError(
      stack.lastActivation?.field ?? field,
      `loss ${loss} needs a ${needs.activation} activation on the last layer, got ${quote(stack.lastActivation?.value ?? 'none')}`,
    );
  }
}

function validateGan(gan: GanSpec, info: DatasetInfo): GanSpec {
  if (info.input !== 'float') throw new InvalidSpecError('dataset.name', 'a GAN needs a dataset of real-valued samples');
  if (gan.conditional && info.target.kind !== 'classes') {
    throw new InvalidSpecError('gan.conditional', 'a conditional GAN draws samples of a class it is given; the dataset has no classes (its targets are real values)');
  }
  const latentDim = integerIn('gan.latentDim', gan.latentDim, 1, 65536);
  const classes = ganClasses(gan, info.target);
  const generator = checkStack(gan.generator, 'gan.generator', { shape: [generatorInputSize({ ...gan, latentDim }, info.target)], kind: 'float' });
  if (shapeText(generator.outputShape) !== shapeText(info.inputShape)) {
    throw new InvalidSpecError(
      `gan.generator[${gan.generator.length - 1}]`,
      `the generator must output samples of the dataset's shape ${shapeText(info.inputShape)}; it outputs ${shapeText(generator.outputShape)}`,
    );
  }
  const discriminator = checkStack(gan.discriminator, 'gan.discriminator', { shape: info.inputShape, kind: 'float' });
  const last = `gan.discriminator[${gan.discriminator.length - 1}]`;
  const activation = discriminator.lastActivation?.value ?? 'none';
  if (classes > 0) {
    const units = discriminatorOutputSize(gan, info.target);
    if (shapeText(discriminator.outputShape) !== `[${units}]` || !['linear', 'none', ''].includes(activation)) {
      throw new InvalidSpecError(
        last,
        `a conditional GAN's discriminator must end in ${units} linear units (a logit for "real", then one per class of the ${classes}); it outputs ${shapeText(discriminator.outputShape)} with activation ${quote(activation)}`,
      );
    }
  } else if (shapeText(discriminator.outputShape) !== '[1]' || activation !== 'sigmoid') {
    throw new InvalidSpecError(
      last,
      `the discriminator must end in one sigmoid unit (the probability that its input is real); it outputs ${shapeText(discriminator.outputShape)} with activation ${quote(activation)}`,
    );
  }
  return {
    latentDim,
    generator: generator.layers,
    discriminator: discriminator.layers,
    generatorOptimizer: validateOptimizer(gan.generatorOptimizer, 'gan.generatorOptimizer'),
    discriminatorOptimizer: validateOptimizer(gan.discriminatorOptimizer, 'gan.discriminatorOptimizer'),
    realLabel: realLabel(gan.realLabel),
    conditional: gan.conditional,
  };
}

/** The discriminator's target for real samples: 0 means 1; at or below one half it would not tell real from fake. */
function realLabel(value: number): number {
  if (value === 0) return 1;
  if (!Number.isFinite(value) || value <= 0.5 || value > 1) {
    throw new InvalidSpecError('gan.realLabel', `must be a number in (0.5, 1] (0.9 is usual one-sided label smoothing; 0 or absent means 1), got ${show(value)}`);
  }
  return value;
}

function validateDataset(dataset: DatasetSpec | undefined, userDatasets: Readonly<Record<string, DatasetInfo>>): { dataset: DatasetSpec; info: DatasetInfo; heldout: number } {
  if (dataset === undefined) throw new InvalidSpecError('dataset', 'is required');
  const info = datasetInfo(dataset.name) ?? (Object.hasOwn(userDatasets, dataset.name) ? userDatasets[dataset.name] : undefined);
  if (!info) {
    throw new InvalidSpecError('dataset.name', `${notOneOf('dataset', dataset.name, Object.keys(BUILTIN_DATASETS))} (built in), or the name of an uploaded dataset`);
  }
  const selected = validateClasses(dataset.classes, info);
  if (!Number.isInteger(dataset.trainLimit) || dataset.trainLimit < 0 || dataset.trainLimit > selected.train) {
    const which = selected.classes.length > 0 ? `the training examples of classes ${selected.classes.join(', ')} in ${quote(dataset.name)}` : `the training examples in ${quote(dataset.name)}`;
    throw new InvalidSpecError('dataset.trainLimit', `must be an integer from 0 (all) to ${selected.train}, ${which}; got ${dataset.trainLimit}`);
  }
  return {
    dataset: {
      name: dataset.name,
      trainLimit: dataset.trainLimit === 0 ? selected.train : dataset.trainLimit,
      classes: selected.classes,
      augment: validateAugmentation(dataset.augment, info),
    },
    info,
    heldout: selected.heldout,
  };
}

function validateTraining(training: TrainingSpec | undefined): TrainingSpec {
  if (training === undefined) throw new InvalidSpecError('training', 'is required');
  return {
    epochs: integerIn('training.epochs', training.epochs, 1, MAX_EPOCHS),
    globalBatchSize: integerIn('training.globalBatchSize', training.globalBatchSize, 1, UINT32_MAX),
    seed: integerIn('training.seed', training.seed, 0, UINT32_MAX),
    maxSteps: integerIn('training.maxSteps', training.maxSteps, 0, UINT32_MAX),
    learningRateSchedule: validateSchedule(training.learningRateSchedule, 'training.learningRateSchedule'),
    clipGlobalNorm: training.clipGlobalNorm === 0 ? 0 : numberIn('training.clipGlobalNorm', training.clipGlobalNorm, Number.MIN_VALUE, Number.MAX_VALUE),
    fixedShares: training.fixedShares,
    timeline: training.timeline,
    checkpointEverySteps: training.checkpointEverySteps === 0 ? 100 : integerIn('training.checkpointEverySteps', training.checkpointEverySteps, 1, UINT32_MAX),
    heldoutEverySteps: integerIn('training.heldoutEverySteps', training.heldoutEverySteps, 0, UINT32_MAX),
    publishBest: training.publishBest,
    earlyStopping: undefined,
  };
}

/**
 * Early stopping can only act on evaluations during training: after each epoch but the last, and
 * every training.heldoutEverySteps steps (before the last step). Fewer of them than the patience
 * means it could never stop anything.
 */
function checkEvaluationsScheduled(training: TrainingSpec, trainSize: number): void {
  const perEpoch = stepsPerEpoch(trainSize, training.globalBatchSize);
  const steps = training.maxSteps > 0 ? Math.min(training.epochs * perEpoch, training.maxSteps) : training.epochs * perEpoch;
  const every = training.heldoutEverySteps;
  const before = steps - 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const evaluations = Math.floor(before / perEpoch) + (every > 0 ? Math.floor(before / every) - Math.floor(before / ((perEpoch / gcd(perEpoch, every)) * every)) : 0);
  const patience = training.earlyStopping!.patience;
  if (evaluations >= patience) return;
  const when = every > 0 ? `after each epoch but the last and every ${every} steps` : 'only after each epoch but the last (training.heldoutEverySteps is 0)';
  throw new InvalidSpecError(
    'training.earlyStopping.patience',
    `is ${patience}, but the job evaluates the held-out split ${evaluations} time${evaluations === 1 ? '' : 's'} during its ${steps} steps (${when}), so early stopping could never stop it; lower the patience or set training.heldoutEverySteps`,
  );
}

/** `heldout`: held-out samples of the (selected) dataset; `metrics`: the model's, validated. */
function validateEarlyStopping(spec: EarlyStopping | undefined, job: { gan: boolean; heldout: number; metrics: string[] }): EarlyStopping | undefined {
  if (spec === undefined) return undefined;
  const field = 'training.earlyStopping';
  if (job.gan) throw new InvalidSpecError(field, 'is not available for GAN jobs: a discriminator\'s held-out loss says little about the generator, and a GAN step cannot be undone halfway');
  if (job.heldout === 0) throw new InvalidSpecError(field, 'needs a held-out split to evaluate, and the dataset (with its class selection) has no held-out samples');
  const monitor = oneOf(`${field}.monitor`, 'early-stopping metric', spec.monitor || 'loss', EARLY_STOPPING_MONITORS);
  if (monitor === 'accuracy' && job.metrics.length > 0 && !job.metrics.includes('accuracy')) throw new InvalidSpecError(`${field}.monitor`, `accuracy needs a model that reports accuracy (model.metrics: ${job.metrics.join(', ') || 'none'}); monitor loss instead`);
  if (spec.patience === 0) throw new InvalidSpecError(`${field}.patience`, 'is required: the number of held-out evaluations without improvement before stopping, at least 1 (evaluations happen after each epoch and every training.heldoutEverySteps steps)');
  return {
    monitor,
    patience: integerIn(`${field}.patience`, spec.patience, 1, UINT32_MAX),
    minDelta: numberIn(`${field}.minDelta`, spec.minDelta, 0, Number.MAX_VALUE),
  };
}

function validateWorkers(workers: WorkersSpec | undefined): WorkersSpec {
  if (workers === undefined) throw new InvalidSpecError('workers', 'is required');
  const min = integerIn('workers.min', workers.min, 1, MAX_WORKERS);
  const max = workers.max === 0 ? min : integerIn('workers.max', workers.max, 1, MAX_WORKERS);
  if (max < min) {
    throw new InvalidSpecError('workers.max', `must be at least workers.min (${min}), or 0 to mean workers.min; got ${max}`);
  }
  const accelerator = oneOf('workers.accelerator', 'accelerator', workers.accelerator === '' ? 'any' : workers.accelerator, ACCELERATORS);
  return { min, max, accelerator };
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
