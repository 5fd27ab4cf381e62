// The one classification of a model spec (`--model`, `--image-model`, loadModel's argument).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { classifyModelSpec } from '../src/model-spec.js';

describe('classifyModelSpec', () => {
  const builtins = ['glove-avg', 'use-lite'];
  it('a builtin name first, then paths by shape, then unknown', () => {
    expect(classifyModelSpec('glove-avg', builtins)).toEqual({ kind: 'builtin', name: 'glove-avg' });
    expect(classifyModelSpec('nope', builtins)).toEqual({ kind: 'unknown', spec: 'nope' });
    expect(classifyModelSpec('student.safetensors', builtins)).toEqual({
      kind: 'safetensors',
      path: resolve('student.safetensors'),
    });
    expect(classifyModelSpec('./m/S.SAFETENSORS', builtins)).toEqual({
      kind: 'safetensors',
      path: resolve('m/S.SAFETENSORS'),
    });
    for (const m of ['model.mjs', 'model.js', 'model.cjs', 'model.ts', 'dir/model', '.\\model', '/abs/model.mjs']) {
      expect(classifyModelSpec(m, builtins).kind, m).toBe('module');
    }
    const url = pathToFileURL(resolve('x.mjs')).href;
    expect(classifyModelSpec(url, builtins)).toEqual({ kind: 'module', path: resolve('x.mjs'), url });
  });
});
