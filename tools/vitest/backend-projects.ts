import { defineConfig } from 'vitest/config';

// Shared by every package: `export { default } from '../../tools/vitest/backend-projects.js';` in its
// vitest.config.ts. Paths (test/setup.ts, test/**) are relative to the package that runs vitest.

// Every test file runs twice: once on the deterministic `cpu` backend and once on `wasm`
// (the default backend in Node). `GEOLIP_FUZZ_RUNS` scales the fuzz tests.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'cpu', env: { GEOLIP_BACKEND: 'cpu' } },
      },
      {
        extends: true,
        test: { name: 'wasm', env: { GEOLIP_BACKEND: 'wasm' } },
      },
    ],
    setupFiles: ['./test/setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
