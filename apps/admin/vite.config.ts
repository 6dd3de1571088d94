import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // The server hosts this app under /admin/.
  base: '/admin/',
  // The Audit view's worker imports TF.js and its wasm backend as ES modules (code-split), as the
  // hospital app's workers do. tfjs-backend-wasm starts its pthreads from `factory.toString()` in a
  // Blob, so that code must stay as written (see apps/hospital/vite.config.ts): no mangling.
  worker: {
    format: 'es',
    rolldownOptions: { output: { minify: { mangle: false, compress: false, codegen: { removeWhitespace: true } } } },
  },
  server: { proxy: { '/socket.io': { target: 'http://127.0.0.1:8080', ws: true }, '/api': 'http://127.0.0.1:8080' } },
  build: { outDir: 'dist', chunkSizeWarningLimit: 4000 },
});
