import { defineConfig } from 'vitest/config';

// The end-to-end inversion runs a few hundred attack iterations on TF.js's cpu backend.
export default defineConfig({ test: { testTimeout: 60_000 } });
