// Checks of dataset.augment and dataset.classes: each parameter in its range, an image shape
// that the dataset's samples fit, classes the dataset has.
import type { Augmentation, DatasetInfo } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';
import { integerIn, numberIn, shapeText } from './checks.js';

const FIELD = 'dataset.augment';

export function validateAugmentation(a: Augmentation | undefined, info: DatasetInfo): Augmentation | undefined {
  if (a === undefined) return undefined;
  if (info.input !== 'float') throw new InvalidSpecError(FIELD, 'augmentation needs a dataset of images (real-valued samples); this one gives integer tokens');
  const imageShape = a.imageShape.length > 0 ? a.imageShape : info.inputShape;
  const field = a.imageShape.length > 0 ? `${FIELD}.imageShape` : FIELD;
  if (imageShape.length !== 3) {
    throw new InvalidSpecError(
      field,
      a.imageShape.length > 0
        ? `must be three values (height, width, channels), got ${shapeText(a.imageShape)}`
        : `the dataset's samples have shape ${shapeText(info.inputShape)}, not (height, width, channels): give imageShape${info.inputShape.length === 1 && Number.isInteger(Math.sqrt(info.inputShape[0]!)) ? ` (for example [${Math.sqrt(info.inputShape[0]!)}, ${Math.sqrt(info.inputShape[0]!)}, 1])` : ''}`,
    );
  }
  imageShape.forEach((d, i) => integerIn(`${FIELD}.imageShape[${i}]`, d, 1, 1 << 16));
  const elements = imageShape.reduce((x, y) => x * y, 1);
  const sample = info.inputShape.reduce((x, y) => x * y, 1);
  if (elements !== sample) throw new InvalidSpecError(field, `${shapeText(imageShape)} has ${elements} values but the dataset's samples ${shapeText(info.inputShape)} have ${sample}`);
  const [height, width] = imageShape as [number, number, number];
  return {
    imageShape: [...imageShape],
    horizontalFlip: a.horizontalFlip,
    verticalFlip: a.verticalFlip,
    rotation: numberIn(`${FIELD}.rotation`, a.rotation, 0, 180, true),
    zoom: numberIn(`${FIELD}.zoom`, a.zoom, 0, 1),
    widthShift: numberIn(`${FIELD}.widthShift`, a.widthShift, 0, 1),
    heightShift: numberIn(`${FIELD}.heightShift`, a.heightShift, 0, 1),
    brightness: numberIn(`${FIELD}.brightness`, a.brightness, 0, Number.MAX_VALUE),
    contrast: numberIn(`${FIELD}.contrast`, a.contrast, 0, 1, true),
    noiseStddev: numberIn(`${FIELD}.noiseStddev`, a.noiseStddev, 0, Number.MAX_VALUE),
    cutoutSize: integerIn(`${FIELD}.cutoutSize`, a.cutoutSize, 0, Math.max(height, width)),
  };
}

/** The classes kept (sorted, checked) and how many training samples they have, when the dataset says. */
export function validateClasses(classes: number[], info: DatasetInfo): { classes: number[]; train: number; heldout: number } {
  if (classes.length === 0) return { classes: [], train: info.train, heldout: info.heldout };
  if (info.target.kind !== 'classes') throw new InvalidSpecError('dataset.classes', 'needs a classification dataset; this one has real-valued targets');
  const count = info.target.classes;
  classes.forEach((c, i) => integerIn(`dataset.classes[${i}]`, c, 0, count - 1));
  const sorted = [...new Set(classes)].sort((x, y) => x - y);
  if (sorted.length !== classes.length) throw new InvalidSpecError('dataset.classes', `names a class twice: ${classes.join(', ')}`);
  if (!info.classCounts) throw new InvalidSpecError('dataset.classes', 'needs a dataset whose samples per class are known: built-in mnist, or an uploaded classification dataset with a label index; this one has none (uploaded before uploads kept one): re-upload it to select classes');
  const sum = (counts: number[]) => sorted.reduce((a, c) => a + counts[c]!, 0);
  return { classes: sorted, train: sum(info.classCounts.train), heldout: sum(info.classCounts.heldout) };
}
