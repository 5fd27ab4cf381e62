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
    // Time limits catch hangs; they are not speed checks (speed is measured in tools/perf). Every test's work is
    // bounded (tiny models, few steps), and the slowest take a few seconds on a quiet 2-core machine, but `npm test`
    // runs several packages at once and may share the cores with other jobs: with two CPU-bound processes beside
    // it a test takes 3–5× longer. The hook limit (vitest's default is 10 s) covers beforeAll fixtures that load
    // a model or write a synthetic dataset. A test that needs more sets its own limit with a comment saying why.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
