import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // tfjs backends are process-global; forks keep each test file in its own process.
    pool: 'forks',
  },
});
