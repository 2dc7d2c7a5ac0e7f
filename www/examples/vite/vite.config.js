import { defineConfig } from 'vite';

export default defineConfig({
  // Pre-bundling would move the JS away from its .wasm; `vite build` needs nothing special.
  optimizeDeps: { exclude: ['emr-imaging'] },
});
