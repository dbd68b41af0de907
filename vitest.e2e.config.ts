import { defineConfig } from 'vitest/config';

// Browser specs: the built app served by `vite preview`, driven in Debian's headless Chromium
// (SwiftShader WebGPU, f32 path). One browser at a time.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    fileParallelism: false,
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
