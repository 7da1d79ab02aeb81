// Dropout whose masks are a function of the samples, not of a generator's state: the mask of a
// sample comes from (job seed, epoch, sample index, layer) through random/sample-random.ts, so it
// is the same whichever rank trains the sample, and N workers compute what one process does.
import * as tf from '@tensorflow/tfjs';
import { Streams, dropoutMask } from '../random/sample-random.js';

/** Which samples a training pass sees, so that the model's random layers can key their draws. */
export interface PassKeys {
  seed: number;
  epoch: number;
  /** Global training-set index of each row of the batch, in row order. */
  samples: ArrayLike<number>;
  /** Tells apart passes of one step over the same samples (a GAN's discriminator on reals and on fakes). */
  pass: number;
}

/** The keys of the training pass under way, shared by a model's random layers. */
export class SampleDraws {
  private current: PassKeys | undefined;

  /** `model` tells apart the models of one job (a GAN's generator 0 and discriminator 1). */
  constructor(readonly model = 0) {}

  /** Runs `fn` (a synchronous forward or gradient pass) with `keys` in effect. */
  during<T>(keys: PassKeys, fn: () => T): T {
    const previous = this.current;
    this.current = keys;
    try {
      return fn();
    } finally {
      this.current = previous;
    }
  }

  get keys(): PassKeys | undefined {
    return this.current;
  }
}

export interface SampleDropoutArgs {
  rate: number;
  /** Position of the layer in its stack: part of the key. */
  layer: number;
  draws: SampleDraws;
  inputShape?: number[];
}

/** Dropout keyed by sample. In training passes it needs keys (SampleDraws.during); elsewhere it is the identity. */
export class SampleDropout extends tf.layers.Layer {
  /** Serialized as Keras' Dropout, so the published model loads anywhere (and is the identity at inference). */
  static className = 'Dropout';
  private readonly rate: number;
  private readonly layer: number;
  private readonly draws: SampleDraws;

  constructor(args: SampleDropoutArgs) {
    super(args.inputShape ? { inputShape: args.inputShape } : {});
    if (!(args.rate >= 0 && args.rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.layer = args.layer;
    this.draws = args.draws;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const input = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (kwargs['training'] !== true || this.rate === 0) return input;
      const keys = this.draws.keys;
      if (keys === undefined) throw new Error('a dropout layer was trained without sample keys (SampleDraws.during)');
      const [rows, ...rest] = input.shape;
      if (rows !== keys.samples.length) throw new Error(`dropout: a batch of ${rows} rows with keys for ${keys.samples.length} samples`);
      const perSample = rest.reduce((a, b) => a * b, 1);
      // Inverted dropout, as Keras: kept units scaled by 1 / (1 − rate).
      const mask = dropoutMask(keys.seed, keys.epoch, keys.samples, Streams.dropout(this.draws.model, keys.pass, this.layer), perSample, this.rate);
      return tf.mul(input, tf.tensor(mask, input.shape));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { rate: this.rate, noiseShape: null, seed: null, ...super.getConfig() };
  }
}
