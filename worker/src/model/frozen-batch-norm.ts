// A frozen batch-normalization layer, as Keras (≥ 2.1.3, TF2) runs one with trainable = False:
// in inference mode always — it normalizes with its moving mean and variance and never updates
// them, in training passes as in inference. TF.js' own BatchNormalization ignores `trainable`:
// in a training pass it normalizes with the batch's statistics and writes its moving ones, which
// would make a frozen base depend on how a global batch is split and drift from the base.
import * as tf from '@tensorflow/tfjs';

type BatchNormalization = ReturnType<typeof tf.layers.batchNormalization>;

/**
 * TF.js exports the layer's factory, not its class: the class is the one it registered for
 * deserialization, which the registry types as any Serializable's (hence the cast, checked here).
 */
function batchNormalizationClass(): tf.serialization.SerializableConstructor<BatchNormalization> {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'];
  if (!registered || !(tf.layers.batchNormalization() instanceof registered[0])) throw new Error('TF.js layers registered no BatchNormalization class');
  return registered[0] as unknown as tf.serialization.SerializableConstructor<BatchNormalization>;
}

export class FrozenBatchNormalization extends batchNormalizationClass() {
  /** Serialized as Keras' BatchNormalization (with trainable: false), so the published model loads anywhere. */
  static override className = 'BatchNormalization';

  constructor(args?: Parameters<typeof tf.layers.batchNormalization>[0]) {
    super(args);
    this.trainable = false;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    return super.call(inputs, { ...kwargs, training: false });
  }
}
