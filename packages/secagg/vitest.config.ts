import { defineConfig } from 'vitest/config';

// The dropout matrix runs a dozen full rounds with real X25519 and AES; on a busy two-core CI machine
// single tests can pass vitest's 5 s default.
export default defineConfig({ test: { testTimeout: 60_000 } });
