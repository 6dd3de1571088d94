import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  base: '/',
  worker: {
    format: 'es',
    // tfjs-backend-wasm starts its pthreads from `factory.toString()` in a Blob, so that function's
    // code must stay as written: mangling or compressing it broke the threaded backend in the
    // federation worker ("e is not defined", "_scriptDir is not defined"). Whitespace is still removed.
    rolldownOptions: { output: { minify: { mangle: false, compress: false, codegen: { removeWhitespace: true } } } },
  },
  server: {
    headers: isolation,
    proxy: { '/socket.io': { target: 'http://127.0.0.1:8080', ws: true }, '/api': 'http://127.0.0.1:8080' },
  },
  build: { outDir: 'dist', chunkSizeWarningLimit: 4000 },
});
