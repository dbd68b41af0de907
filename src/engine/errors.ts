// Errors the engine raises. Each says what happened and, where the user can act, what to do.

/** No WebGPU, no adapter, or the device could not be created (CLI exit code 3). */
export class NoGpuError extends Error {
  constructor(
    message: string,
    readonly reason: 'no-webgpu' | 'no-adapter' | 'device-failed',
  ) {
    super(message);
    this.name = 'NoGpuError';
  }
}

/** A kernel failed to compile, was dispatched wrongly, or binds more than the device allows. */
export class KernelError extends Error {
  constructor(readonly kernel: string, message: string) {
    super(`kernel '${kernel}': ${message}`);
    this.name = 'KernelError';
  }
}

/** The GPU (or the user's memory budget) ran out of memory. */
export class GpuOutOfMemoryError extends Error {
  constructor(message: string, readonly requestedBytes: number) {
    super(message);
    this.name = 'GpuOutOfMemoryError';
  }
}

/** The GPU device was lost (driver reset, tab in background too long, GPU process crash). */
export class DeviceLostError extends Error {
  constructor(readonly reason: string, message: string) {
    super(`GPU device lost (${reason}): ${message.replace(/\.$/, '')}. The engine must be restarted.`);
    this.name = 'DeviceLostError';
  }
}

/** What to tell a person whose browser or machine gives us no WebGPU. */
export function noGpuAdvice(reason: NoGpuError['reason']): string {
  switch (reason) {
    case 'no-webgpu':
      return 'This browser has no WebGPU. Use Chrome or Edge 121 or newer (desktop). On Linux, start Chrome with ' +
        '--enable-unsafe-webgpu --enable-features=Vulkan, or enable chrome://flags/#enable-unsafe-webgpu.';
    case 'no-adapter':
      return 'WebGPU is present but no GPU adapter was offered. Turn on "Use graphics acceleration when available" ' +
        'in the browser settings, update the GPU driver, and check chrome://gpu. On Linux enable ' +
        'chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan.';
    case 'device-failed':
      return 'The GPU adapter refused to create a device. Close other GPU-heavy tabs or apps, update the driver, ' +
        'and reload.';
  }
}
