import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  base: '/',
  worker: { format: 'es' },
  server: {
    headers: isolation,
    proxy: { '/socket.io': { target: 'http://127.0.0.1:8080', ws: true }, '/api': 'http://127.0.0.1:8080' },
  },
  build: { outDir: 'dist', chunkSizeWarningLimit: 4000 },
});
