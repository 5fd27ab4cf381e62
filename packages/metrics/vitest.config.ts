import { defineConfig } from 'vitest/config';

// Plain arrays only (no tfjs): one project, named `cpu` so `vitest run --project cpu` works as in every package.
// `GEOLIP_FUZZ_RUNS` raises the property tests' run count (default 25).
export default defineConfig({
  test: {
    projects: [{ extends: true, test: { name: 'cpu' } }],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
