// A model loaded through a registry before any backend is active chooses one itself (issue 25): a fresh Node
// process on the built package (dist) loads an MlpStudent file with nnModels.fromPretrained and no initBackend().
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { expect, it } from 'vitest';

import { MlpStudent } from '../src/layers/mlp-student.js';

// The child does not depend on the vitest project's backend: once, in the wasm project.
it.skipIf(process.env.GEOLIP_BACKEND === 'cpu')(
  'fromPretrained before initBackend() loads on wasm and names its choice in one stderr line',
  () => {
    const config = { inDim: 3, hidden: 4, outDim: 2, activation: 'gelu' as const };
    const model = new MlpStudent(config);
    const dict = model.stateDict();
    const dir = mkdtempSync(join(tmpdir(), 'geolip-first-run-'));
    try {
      const file = join(dir, 'student.safetensors');
      writeFileSync(file, writeSafetensors(dict, writeModelMetadata({ type: 'nn/mlp-student', config })));
      const script =
        "import { nnModels } from '@geolip/nn'; import * as tf from '@tensorflow/tfjs-core';" +
        `const m = await nnModels.fromPretrained(${JSON.stringify(file)});` +
        'console.log(JSON.stringify({ backend: tf.getBackend(), params: m.paramCount() }));';
      const env: Record<string, string | undefined> = { ...process.env, GEOLIP_WASM_THREADS: '1' };
      delete env.GEOLIP_BACKEND;
      delete env.GEOLIP_LOG;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        encoding: 'utf8',
        env,
      });
      expect(JSON.parse(r.stdout.trim())).toEqual({ backend: 'wasm', params: model.paramCount() });
      expect(r.stderr.split('\n').filter((l) => l.startsWith('[geolip]'))).toEqual([
        expect.stringMatching(/^\[geolip\] fromPretrained: no backend chosen, using wasm \(SIMD, 1 thread\)/),
      ]);
    } finally {
      tf.dispose(Object.values(dict));
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
