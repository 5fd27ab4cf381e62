import { defineConfig } from 'vite';

// The demo loads the weights and the vocabulary that @geolip/text ships (imported with `?url`, copied as assets).
export default defineConfig({
  // No single-page fallback: a missing file is a 404, not index.html (a bad ?weights= URL must fail as such).
  appType: 'mpa',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, assetsInlineLimit: 0 },
});
