// sdk-quantization: an MNIST MLP (784 → 256 relu → 10, the reference "MLP") trained on the
// 8,000 training digits, published to a real coordinator, loaded by the SDK as float32, float16
// and uint8; one line per variant with its weight bytes, ratio to float32 and held-out accuracy
// (2,000 digits). Goal: uint8 ≤ 0.27x the bytes, accuracy within 0.5 points of float32.
import type { Bench } from '../../bench/registry.js';
import { loadModel, QUANTIZATIONS } from '../src/index.js';
import { heldoutAccuracy, trainMnistMlp } from '../test/helpers/mnist-model.js';
import { startRegistry } from '../test/helpers/registry.js';

export const sdkQuantization: Bench = {
  name: 'sdk-quantization',
  description: 'MNIST MLP 784-256-10 served as float32, float16 and uint8: bytes, ratio, held-out accuracy',
  async run(emit) {
    const registry = await startRegistry();
    try {
      const trained = await trainMnistMlp({ hidden: 256, epochs: 5 });
      await registry.publish(trained, 'bench-mnist-mlp');
      trained.dispose();
      let float32: { bytes: number; accuracy: number } | undefined;
      for (const variant of QUANTIZATIONS) {
        const sizes = { bytes: 0, modelJsonBytes: 0 };
        const model = await loadModel(
          { baseUrl: registry.baseUrl, name: 'bench-mnist-mlp', version: 1 },
          {
            quantization: variant,
            cache: false,
            fetch: async (input, init) => {
              const response = await fetch(input, init);
              const length = (await response.clone().arrayBuffer()).byteLength;
              if (String(input).endsWith('/model.json')) sizes.modelJsonBytes += length;
              else sizes.bytes += length;
              return response;
            },
          },
        );
        try {
          const accuracy = heldoutAccuracy((x) => model.predictClass(x));
          float32 ??= { bytes: sizes.bytes, accuracy };
          emit({
            variant,
            ...sizes,
            ratio: Number((sizes.bytes / float32.bytes).toFixed(4)),
            accuracy,
            accuracyDeltaPoints: Number(((accuracy - float32.accuracy) * 100).toFixed(2)),
          });
        } finally {
          model.dispose();
        }
      }
    } finally {
      await registry.stop();
    }
  },
};
