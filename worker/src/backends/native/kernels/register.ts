// Every kernel the native backend runs in the addon, in one list. The backend starts with a
// copy of every cpu kernel; these replace the ones a training step spends its time in.
import type { KernelConfig } from '@tensorflow/tfjs';
import { fusedBatchNormConfig } from './batch-norm.js';
import { binaryConfigs } from './binary.js';
import { compareConfigs } from './compare.js';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig, conv2DConfig, fusedConv2DConfig } from './conv2d.js';
import { batchMatMulConfig, fusedMatMulConfig } from './matmul.js';
import { avgPoolConfig, avgPoolGradConfig, maxPoolConfig, maxPoolGradConfig } from './pooling.js';
import { softmaxConfig } from './softmax.js';
import { concatConfig, splitVConfig } from './split-concat.js';
import { meanConfig, sumConfig } from './sum.js';
import { tileConfig } from './tile.js';
import { unaryConfigs } from './unary.js';

export const nativeKernels: readonly KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DConfig,
  fusedConv2DConfig,
  conv2DBackpropInputConfig,
  conv2DBackpropFilterConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  sumConfig,
  meanConfig,
  softmaxConfig,
  fusedBatchNormConfig,
  splitVConfig,
  concatConfig,
  tileConfig,
  ...unaryConfigs,
  ...binaryConfigs,
  ...compareConfigs,
];
