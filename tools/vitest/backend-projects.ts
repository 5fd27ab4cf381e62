import { defineConfig } from 'vitest/config';
import type { ViteUserConfig } from 'vitest/config';

// Shared by every package: `export { default } from '../../tools/vitest/backend-projects.js';` in its
// vitest.config.ts (or `export default backendProjects({ wasmThreads: 'auto' })`). Paths (test/setup.ts,
// test/**) are relative to the package that runs vitest.

/** Options of {@link backendProjects}. */
export interface BackendProjectsOptions {
  /**
   * `GEOLIP_WASM_THREADS` of the wasm project when the caller's environment does not set it. Default `1`: XNNPACK's
   * thread pool spin-waits, so threaded wasm slows down sharply when other processes share the cores (`npm test`
   * runs several packages at once; measured on 2 busy cores: the fmnist-vit recipe tests took 81 s threaded and
   * 37 s on one thread). `'auto'` (threads on) for the packages that test the wasm backend's threading and kernels.
   */
  wasmThreads?: 1 | 'auto';
}

/**
 * The vitest config of a package: every test file runs twice, once on the deterministic `cpu` backend and once on
 * `wasm` (the default backend in Node). `GEOLIP_FUZZ_RUNS` scales the fuzz tests.
 */
export function backendProjects(options: BackendProjectsOptions = {}): ViteUserConfig {
  const wasmThreads = process.env.GEOLIP_WASM_THREADS ?? (options.wasmThreads === 'auto' ? undefined : '1');
  const config: ViteUserConfig = {
    test: {
      projects: [
        {
          extends: true,
          test: { name: 'cpu', env: { GEOLIP_BACKEND: 'cpu' } },
        },
        {
          extends: true,
          test: {
            name: 'wasm',
            env: { GEOLIP_BACKEND: 'wasm', ...(wasmThreads === undefined ? {} : { GEOLIP_WASM_THREADS: wasmThreads }) },
          },
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
      // One worker process runs many test files in turn instead of a fresh process (and a fresh tfjs, backend and
      // module graph) per file: on 2 cores that start-up was most of `npm test`'s CPU time (anchors: 18 s of CPU
      // isolated, 7 s not). Test files therefore must not leave global state behind: the setup file checks the
      // backend before every file, and tests dispose what they create (the memory tests count tensors per test).
      isolate: false,
    },
  };
  return defineConfig(config) as ViteUserConfig;
}

export default backendProjects();
