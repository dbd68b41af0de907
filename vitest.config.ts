import { defineConfig } from 'vitest/config';

// One file at a time: each GPU test file owns one Dawn device, and lavapipe uses every core.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.json' },
  },
});
