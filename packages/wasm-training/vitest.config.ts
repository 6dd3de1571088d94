import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The cpu reference backend is slow; whole-model gradient checks take seconds.
  test: { testTimeout: 60_000 },
});
