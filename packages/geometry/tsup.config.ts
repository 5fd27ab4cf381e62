import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    backend: 'src/backend/index.ts',
    gpu: 'src/gpu/index.ts',
    testing: 'src/testing/index.ts',
    checks: 'src/checks/index.ts',
    internal: 'src/internal/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
});
