import { defineConfig } from 'vitest/config';

// Some tests start the package's command line through tsx (a new Node process that compiles
// TypeScript): seconds on a busy CI machine, past vitest's 5 s default.
export default defineConfig({ test: { testTimeout: 60_000 } });
