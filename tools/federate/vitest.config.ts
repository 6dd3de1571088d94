import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // A test here runs a whole federation in child processes: on a 2-core machine, one at a time.
    fileParallelism: false,
    testTimeout: 300_000,
  },
});
