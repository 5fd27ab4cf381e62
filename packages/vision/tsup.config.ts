import { defineConfig } from 'tsup';

export default defineConfig({
  // `.` never imports the Node-only subpath `@geolip/vision/experts`.
  entry: {
    index: 'src/index.ts',
    io: 'src/io/index.ts',
    experts: 'src/experts/index.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
});
