import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Cross-origin isolation: SharedArrayBuffer and fine-grained timers in the page and its worker.
const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  server: { port: 5173, headers: crossOriginIsolation, fs: { allow: ['.'] } },
  preview: { port: 4173, strictPort: true, headers: crossOriginIsolation },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
