import { defineConfig } from 'tsup';

export default defineConfig({
  // `.` never imports the Node-only subpaths `@geolip/text/data`, `/experts`, `/corpus` and `/ort`.
  entry: {
    index: 'src/index.ts',
    data: 'src/data/index.ts',
    experts: 'src/experts/index.ts',
    corpus: 'src/corpus/index.ts',
    ort: 'src/ort/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
});
