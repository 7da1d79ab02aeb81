// Finds a WebGPU adapter through Dawn (the `webgpu` package, `dawn.node`) and describes it.
// Finding never throws: a machine without a GPU, without the Vulkan loader or without the
// package gets the reason, which backend selection reports when it passes webgpu over.
import { existsSync } from 'node:fs';

/** What a worker reports about its GPU: in its log line and when it joins. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation of the GPU API (SwiftShader, llvmpipe): correct, slower than native. */
  software: boolean;
  /** Largest storage buffer one kernel may bind, in bytes: bounds the largest tensor. */
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
}

export interface FoundAdapter {
  gpu: GPU;
  adapter: GPUAdapter;
  report: AdapterReport;
  /** The Dawn module's globals (GPUBufferUsage, GPUMapMode…), which TF.js reads from globalThis. */
  globals: object;
}

/** Debian's chromium ships SwiftShader's Vulkan driver: the GPU of machines without one. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const MiB = 1024 * 1024;

/** One line: vendor, architecture, device and the memory limits that bound a tensor. */
export function describeAdapter(r: AdapterReport): string {
  const name = [r.vendor, r.architecture, r.device].filter(Boolean).join(' ');
  const kind = r.software ? 'software adapter' : 'GPU';
  return `${kind} ${name || 'unknown'}${r.description ? ` (${r.description})` : ''}, buffers up to ${Math.round(r.maxBufferSize / MiB)} MiB, bindings up to ${Math.round(r.maxStorageBufferBindingSize / MiB)} MiB`;
}

function report(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|software/.test(text),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
  };
}

async function request(create: (options: string[]) => GPU): Promise<{ gpu: GPU; adapter: GPUAdapter } | undefined> {
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? { gpu, adapter } : undefined;
}

/**
 * The best adapter Dawn finds. With `allowSoftware`, a machine with no GPU falls back to
 * SwiftShader when its driver is installed and no Vulkan driver was named (VK_ICD_FILENAMES).
 */
export async function findAdapter(allowSoftware: boolean): Promise<FoundAdapter | { reason: string }> {
  let dawn: { create: (options: string[]) => GPU; globals: object };
  try {
    dawn = (await import('webgpu')) as typeof dawn;
  } catch (err) {
    return { reason: `the webgpu package (Dawn) does not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
  let found = await request(dawn.create);
  if (!found && allowSoftware && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    // The Vulkan loader reads this when Dawn creates its next instance.
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    found = await request(dawn.create);
  }
  if (!found) {
    return {
      reason:
        'Dawn found no GPU adapter (it needs the Vulkan loader, Debian libvulkan1, and a Vulkan driver: ' +
        `NVIDIA's, or SwiftShader with VK_ICD_FILENAMES=${SWIFTSHADER_ICD})`,
    };
  }
  const described = report(found.adapter);
  if (described.software && !allowSoftware) {
    return { reason: `the only adapter is a software one (${describeAdapter(described)}); ask for it with --backend webgpu` };
  }
  return { ...found, report: described, globals: dawn.globals };
}
