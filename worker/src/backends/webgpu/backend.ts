// The `webgpu` TF.js backend in Node: TF.js's WebGPU backend on a device we request from the
// adapter Dawn found (adapter.ts), with the limits a training step needs raised to the
// adapter's. TF.js registers its backend only in browsers (it looks for navigator.gpu when
// it loads); here we register it ourselves, once, after Dawn's globals are in place.
import * as tf from '@tensorflow/tfjs';
import type { DataId } from '@tensorflow/tfjs';
import type { FoundAdapter } from './adapter.js';

export const WEBGPU = 'webgpu';

let found: FoundAdapter | undefined;
let device: GPUDevice | undefined;

function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const l = adapter.limits;
  return {
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
  };
}

/**
 * Registers the backend on `adapter` (the first call wins: one process trains on one GPU).
 * TF.js's backend module is loaded here, after Dawn's globals exist, because it reads them.
 */
export async function registerWebGPUBackend(adapter: FoundAdapter): Promise<void> {
  if (found) return;
  found = adapter;
  Object.assign(globalThis, adapter.globals);
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Where navigator.gpu existed when TF.js's module loaded, it registered its own factory.
  if (tf.findBackendFactory(WEBGPU)) tf.removeBackend(WEBGPU);
  // TF.js's backend checks navigator.gpu when it is constructed (Node 20 has no navigator).
  const nav = ((globalThis as { navigator?: object }).navigator ??= {});
  Object.defineProperty(nav, 'gpu', { value: adapter.gpu, configurable: true, writable: true });

  /** Reads are asynchronous on a GPU; TF.js's synchronous path draws through a browser canvas. */
  class NodeWebGPUBackend extends WebGPUBackend {
    override readSync(dataId: DataId): never {
      void dataId;
      throw new Error('synchronous reads (dataSync, arraySync) are not possible on webgpu in Node: use data() or array()');
    }
  }

  tf.registerBackend(WEBGPU, async () => {
    device ??= await adapter.adapter.requestDevice({
      requiredFeatures: adapter.adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
      requiredLimits: requiredLimits(adapter.adapter),
    });
    return new NodeWebGPUBackend(device, adapter.adapter.info);
  });
}

/** The adapter the backend runs on, once registered. */
export function webgpuAdapter(): FoundAdapter | undefined {
  return found;
}

/**
 * Frees the device and Dawn's instance, so the process can exit on its own (Dawn keeps the
 * event loop alive while an instance is referenced). The backend cannot be used afterwards.
 */
export function releaseWebGPU(): void {
  if (tf.findBackend(WEBGPU)) tf.removeBackend(WEBGPU);
  device?.destroy();
  device = undefined;
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav) delete nav.gpu;
  found = undefined;
}
