// A frozen batch-normalization layer, as Keras (≥ 2.1.3, TF2) runs one with trainable = False:
// in inference mode always — it normalizes with its moving mean and variance and never updates
// them, in training passes as in inference. TF.js' own BatchNormalization ignores `trainable`:
// in a training pass it normalizes with the batch's statistics and writes its moving ones, which
// would make a frozen base depend on how a global batch is split and drift from the base.
import * as tf from '@tensorflow/tfjs';

type BatchNormalization = ReturnType<typeof tf.layers.batchNormalization>;
type BatchNormalizationArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;

/** TF.js exports the layer's factory, not its class: the class is the one it registered for deserialization. */
function batchNormalizationClass(): new (args?: BatchNormalizationArgs) => BatchNormalization {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'];
  if (!registered) throw new Error('TF.js layers registered no BatchNormalization class');
  return registered[0] as unknown as new (args?: BatchNormalizationArgs) => BatchNormalization;
}

export class FrozenBatchNormalization extends batchNormalizationClass() {
  /** Serialized as Keras' BatchNormalization (with trainable: false), so the published model loads anywhere. */
  static className = 'BatchNormalization';

  constructor(args?: BatchNormalizationArgs) {
    super(args);
    this.trainable = false;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    return super.call(inputs, { ...kwargs, training: false });
  }
}
