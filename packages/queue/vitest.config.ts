import { defineConfig } from 'vitest/config';

// No tensors: one project, named `cpu` so `vitest run --project cpu` works as in every package.
export default defineConfig({
  test: {
    projects: [{ extends: true, test: { name: 'cpu' } }],
    hookTimeout: 60_000,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
