// Transfer learning: a job's model starts with the first layers of a base model (model.base),
// copied with their weights, the first `trainableFrom` of them frozen, then the job's own layers.
// Frozen layers have no trainable weights, so they are neither differentiated nor all-reduced
// (the fusion buffer holds the trainable variables only) and are not replica state either.
import * as tf from '@tensorflow/tfjs';
import type { BaseModel, Layer } from '@syncline/proto';
import { addLayers } from './build.js';
import { SampleDraws, SampleDropout } from './sample-dropout.js';

/** A new layer of `layer`'s class and configuration (same name), without weights yet. */
function freshCopy(layer: tf.layers.Layer, inputShape: number[] | undefined): tf.layers.Layer {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  if (!registered) throw new Error(`base model layer ${layer.name}: class ${layer.getClassName()} is not known to TF.js layers`);
  const config: tf.serialization.ConfigDict = { ...layer.getConfig() };
  delete config.batchInputShape;
  delete config.inputShape;
  if (inputShape) config.batchInputShape = [null, ...inputShape];
  const copy = registered[1](registered[0], config);
  if (!(copy instanceof tf.layers.Layer)) throw new Error(`base model layer ${layer.name}: class ${layer.getClassName()} is not a layer`);
  return copy;
}

/** The index of the last kept layer: a validated spec holds it as a number (a name was resolved at submit). */
export function keptLayers(base: Pick<BaseModel, 'upTo'>, layerCount: number): number {
  const upTo = base.upTo === '' ? layerCount - 1 : Number(base.upTo);
  if (!Number.isInteger(upTo) || upTo < 0 || upTo >= layerCount) throw new Error(`model.base.upTo ${JSON.stringify(base.upTo)} is not a layer index of a base model with ${layerCount} layers`);
  return upTo + 1;
}

export function buildTransferModel(base: tf.LayersModel, spec: BaseModel, layers: Layer[], seed: number, draws: SampleDraws): tf.Sequential {
  try {
    const kept = keptLayers(spec, base.layers.length);
    const trainableFrom = spec.trainableFrom ?? kept;
    const inputShape = base.inputs[0]!.shape.slice(1) as number[];
    const model = tf.sequential();
    const copies: [tf.layers.Layer, tf.layers.Layer][] = [];
    base.layers.slice(0, kept).forEach((layer, i) => {
      const first = i === 0 ? inputShape : undefined;
      // Keras' Dropout draws its own masks: ours key them by sample, so N workers equal one process.
      const copy = layer.getClassName() === 'Dropout' ? new SampleDropout({ rate: (layer.getConfig().rate as number) ?? 0, layer: i, draws, ...(first ? { inputShape: first } : {}) }) : freshCopy(layer, first);
      model.add(copy);
      copy.trainable = i >= trainableFrom;
      copies.push([layer, copy]);
    });
    addLayers(model, layers, seed, draws, { offset: kept });
    for (const [from, to] of copies) to.setWeights(from.getWeights());
    return model;
  } finally {
    base.dispose();
  }
}
