// The single GPUDevice: high-performance adapter, the optional features we use, limits raised to the
// adapter's maxima (tfjs's own setup leaves maxStorageBuffersPerShaderStage at 8).
import { NoGpuError, noGpuAdvice } from './errors';

export const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
] as const;

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  features: string[];
}

export async function acquireDevice(gpu: GPU | undefined): Promise<AcquiredDevice> {
  if (!gpu) throw new NoGpuError(`WebGPU is not available. ${noGpuAdvice('no-webgpu')}`, 'no-webgpu');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) throw new NoGpuError(`No WebGPU adapter. ${noGpuAdvice('no-adapter')}`, 'no-adapter');
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (value !== undefined) requiredLimits[name] = value;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: features as GPUFeatureName[], requiredLimits });
  } catch (e) {
    throw new NoGpuError(`Could not create a GPU device (${(e as Error).message}). ${noGpuAdvice('device-failed')}`, 'device-failed');
  }
  return { adapter, device, features };
}
