// Transfer learning: a job's model starts with the first layers of a base model (model.base),
// copied with their weights, the first `trainableFrom` of them frozen, then the job's own layers.
// Frozen layers have no trainable weights, so they are neither differentiated nor all-reduced
// (the fusion buffer holds the trainable variables only) and are not replica state either. A
// frozen batch normalization runs in inference mode, as Keras runs one (frozen-batch-norm.ts):
// its moving statistics normalize every pass and never change; one at or after trainableFrom
// trains as any other (batch statistics, moving ones updated, replica state).
import * as tf from '@tensorflow/tfjs';
import type { BaseModel, Layer } from '@syncline/proto';
import { addLayers } from './build.js';
import { FrozenBatchNormalization } from './frozen-batch-norm.js';
import { SampleDraws, SampleDropout } from './sample-dropout.js';

/**
 * A new layer of `layer`'s class and configuration (same name), without weights yet, trainable
 * or frozen. A frozen batch normalization becomes a FrozenBatchNormalization; a frozen layer of
 * another class that keeps non-trainable weights would update them in training passes, which no
 * frozen layer may do, so it is refused (the coordinator refuses such a job at submit time).
 */
function freshCopy(layer: tf.layers.Layer, inputShape: number[] | undefined, trainable: boolean): tf.layers.Layer {
  const className = layer.getClassName();
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!registered) throw new Error(`base model layer ${layer.name}: class ${className} is not known to TF.js layers`);
  // Trainable until the caller freezes it, whatever the base said: what a layer keeps as
  // non-trainable weights then is state (batch-norm statistics), not weights frozen upstream.
  const config: tf.serialization.ConfigDict = { ...layer.getConfig(), trainable: true };
  delete config.batchInputShape;
  delete config.inputShape;
  if (inputShape) config.batchInputShape = [null, ...inputShape];
  const copy = !trainable && className === 'BatchNormalization' ? FrozenBatchNormalization.fromConfig(FrozenBatchNormalization, config) : registered[1](registered[0], config);
  if (!(copy instanceof tf.layers.Layer)) throw new Error(`base model layer ${layer.name}: class ${className} is not a layer`);
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
      const trainable = i >= trainableFrom;
      // Keras' Dropout draws its own masks: ours key them by sample, so N workers equal one process.
      const copy = layer.getClassName() === 'Dropout' ? new SampleDropout({ rate: (layer.getConfig().rate as number) ?? 0, layer: i, draws, ...(first ? { inputShape: first } : {}) }) : freshCopy(layer, first, trainable);
      model.add(copy);
      if (!trainable && copy.nonTrainableWeights.length > 0 && !(copy instanceof FrozenBatchNormalization)) {
        throw new Error(`base model layer ${i} (${layer.name}, ${layer.getClassName()}) keeps non-trainable weights and cannot be frozen: only batch normalization can (model.base.trainableFrom must be at most ${i})`);
      }
      copy.trainable = trainable;
      copies.push([layer, copy]);
    });
    addLayers(model, layers, seed, draws, { offset: kept });
    for (const [from, to] of copies) to.setWeights(from.getWeights());
    return model;
  } finally {
    base.dispose();
  }
}
