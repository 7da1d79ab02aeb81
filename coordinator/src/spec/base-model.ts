// model.base (transfer learning): what the coordinator knows of a registered model to check a
// job against it at submit time — its input shape and each layer's name, class and output
// shape (registry/model-topology.ts reads them) — and the checks: the kept layers, which are
// frozen (batch normalization included: frozen, it normalizes with its moving statistics), the
// dataset's shape.
import { closestName, type BaseModel, type DatasetInfo } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';
import { integerIn, quote, shapeText } from './checks.js';

export interface BaseLayerInfo {
  name: string;
  className: string;
  outputShape: number[];
  /** The layer's activation, when it has one (the last kept layer may end a classifier). */
  activation?: string;
  /**
   * Whether it holds non-trainable weights when trained (batch-norm moving statistics). Frozen,
   * a BatchNormalization runs in inference mode (as Keras runs one) and keeps them unchanged; a
   * layer of another class could not, so it cannot be frozen.
   */
  hasState: boolean;
}

export interface BaseModelInfo {
  name: string;
  /** The registry version that `latest` (or the number asked for) resolved to. */
  version: number;
  inputShape: number[];
  layers: BaseLayerInfo[];
}

/** The one class of layer with non-trainable weights that the worker knows how to freeze (worker/src/model/frozen-batch-norm.ts). */
const FREEZABLE_WITH_STATE = 'BatchNormalization';

/** Parses model.base.version: "latest" (or empty) or a version number. */
export function requestedVersion(base: BaseModel): number | 'latest' {
  if (base.version === '' || base.version === 'latest') return 'latest';
  const v = Number(base.version);
  if (!/^[0-9]+$/.test(base.version) || !Number.isSafeInteger(v) || v < 1) throw new InvalidSpecError('model.base.version', `must be a version number (1, 2, …) or "latest", got ${quote(base.version)}`);
  return v;
}

export interface CheckedBase {
  base: BaseModel;
  /** The output shape of the last kept layer: the input of the job's own layers. */
  outputShape: number[];
}

/** Checks model.base against the registered model it names and the dataset; fills in version, upTo (as an index) and trainableFrom. */
export function validateBase(base: BaseModel, info: BaseModelInfo | undefined, dataset: DatasetInfo, datasetName: string): CheckedBase {
  if (base.name === '') throw new InvalidSpecError('model.base.name', 'is required: the name of a published or uploaded model');
  requestedVersion(base);
  if (!info || info.name !== base.name) throw new InvalidSpecError('model.base', `model ${quote(base.name)} must be looked up in the registry by the coordinator`);
  const names = info.layers.map((l) => l.name);
  let upTo = info.layers.length - 1;
  if (base.upTo !== '') {
    if (/^[0-9]+$/.test(base.upTo)) upTo = integerIn('model.base.upTo', Number(base.upTo), 0, info.layers.length - 1);
    else {
      upTo = names.indexOf(base.upTo);
      if (upTo < 0) {
        const close = closestName(base.upTo, names);
        throw new InvalidSpecError('model.base.upTo', `${info.name} v${info.version} has no layer ${quote(base.upTo)}${close ? ` (did you mean ${close}?)` : ''}; its layers: ${names.join(', ')} (or an index from 0 to ${names.length - 1})`);
      }
    }
  }
  const kept = upTo + 1;
  const trainableFrom = base.trainableFrom === undefined ? kept : integerIn('model.base.trainableFrom', base.trainableFrom, 0, kept);
  info.layers.slice(0, trainableFrom).forEach((l, i) => {
    if (l.hasState && l.className !== FREEZABLE_WITH_STATE) {
      throw new InvalidSpecError('model.base.trainableFrom', `base layer ${i} (${l.name}, ${l.className}) keeps non-trainable weights and cannot be frozen (only ${FREEZABLE_WITH_STATE} can); set trainableFrom to at most ${i}`);
    }
  });
  if (dataset.input !== 'float') throw new InvalidSpecError('model.base', 'a base model needs a dataset of real-valued samples');
  if (shapeText(info.inputShape) !== shapeText(dataset.inputShape)) {
    throw new InvalidSpecError('model.base.name', `${info.name} v${info.version} takes input of shape ${shapeText(info.inputShape)}, but samples of dataset ${quote(datasetName)} have shape ${shapeText(dataset.inputShape)}`);
  }
  return {
    base: { name: info.name, version: String(info.version), upTo: String(upTo), trainableFrom },
    outputShape: info.layers[upTo]!.outputShape,
  };
}
