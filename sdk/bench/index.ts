// The SDK's benchmarks, registered together in bench/registry.ts.
import { sdkBundle } from './bundle.js';
import { sdkQuantization } from './quantization.js';

export const sdkBenches = [sdkBundle, sdkQuantization];
