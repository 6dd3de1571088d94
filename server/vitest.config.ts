import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each file runs whole federations; on a 2-core machine they are faster one after another.
    fileParallelism: false,
    env: { FEDWARD_QUIET: '1' },
    testTimeout: 300_000,
  },
});
