// `--model hf:<dir>` / `onnx:<file> --tokenizer`: the shipped text model written as a transformers.js folder (ONNX graph
// + tokenizer.json, built here from @geolip/text's own export functions) gives the tfjs row on the STS-B fixture, and
// the MTEB per-task file is written beside the report.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bertTokenizerToJson, captionEncoderOnnxFromFile, loadBertUncasedTokenizer } from '@geolip/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../src/cli.js';
import { classifyModelSpec } from '../src/model-spec.js';
import { MTEB_SCHEMA_VERSION, mtebResultFiles } from '../src/mteb.js';
import type { RegressionResult } from '../src/evaluate.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = join(here, 'fixtures', 'cli', 'data');
const tmp = mkdtempSync(join(tmpdir(), 'geolip-bench-onnx-'));
const hfDir = join(tmp, 'geolip-text-onnx');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  const weights = createRequire(import.meta.url).resolve('@geolip/text/weights/geolip-text.safetensors');
  const m = await captionEncoderOnnxFromFile(weights);
  mkdirSync(join(hfDir, 'onnx'), { recursive: true });
  writeFileSync(join(hfDir, 'onnx', 'model.onnx'), m.onnx);
  writeFileSync(join(hfDir, 'tokenizer.json'), JSON.stringify(bertTokenizerToJson(await loadBertUncasedTokenizer())));
  writeFileSync(join(hfDir, 'config.json'), JSON.stringify({ geolip: { max_length: m.maxLength, params: m.params } }));
});

const report = (
  path: string,
): { results: { spearman: number; pearson: number; model: string }[]; settings: Record<string, unknown> } =>
  JSON.parse(readFileSync(path, 'utf8'));

describe('geolip-bench run --model hf:<dir> / onnx:<file>', () => {
  // wasm only: the tfjs row on the pure-JS cpu backend adds minutes and tests nothing the wasm row does not (the
  // onnxruntime rows do not use tfjs at all).
  it.skipIf(process.env.GEOLIP_BACKEND === 'cpu')(
    'reproduces the tfjs row of the shipped model (Spearman and Pearson to 1e-4) and writes STSBenchmark.json (wasm only)',
    async () => {
      const base = ['run', '--tasks', 'stsb', '--data', dataDir, '--batch-size', '8'];
      const tf = await cli([...base, '--model', 'geolip-text', '--out', join(tmp, 'tfjs.json')]);
      expect(tf.code).toBe(0);
      const hf = await cli([...base, '--model', `hf:${hfDir}`, '--out', join(tmp, 'hf.json')]);
      expect(hf.stderr).not.toContain('error');
      expect(hf.code).toBe(0);
      const onnx = await cli([
        ...base,
        '--model',
        `onnx:${join(hfDir, 'onnx', 'model.onnx')}`,
        '--tokenizer',
        join(hfDir, 'tokenizer.json'),
        '--out',
        join(tmp, 'onnx.json'),
      ]);
      expect(onnx.code).toBe(0);
      // the shipped model by name on onnxruntime-node
      const ort = await cli([...base, '--model', 'geolip-text', '--runtime', 'ort', '--out', join(tmp, 'ort.json')]);
      expect(ort.code).toBe(0);
      expect(report(join(tmp, 'ort.json')).settings.runtime).toBe('ort');
      const [a, b, c, d] = ['tfjs', 'hf', 'onnx', 'ort'].map((n) => report(join(tmp, `${n}.json`)).results[0]!);
      expect(b!.model).toBe('hf:geolip-text-onnx');
      for (const r of [b!, c!, d!]) {
        expect(Math.abs(r.spearman - a!.spearman)).toBeLessThan(1e-4);
        expect(Math.abs(r.pearson - a!.pearson)).toBeLessThan(1e-4);
      }
      // MTEB's file beside the report: the same numbers as fractions, under the split MTEB calls validation
      const mteb = JSON.parse(readFileSync(join(tmp, 'hf.mteb', 'STSBenchmark.json'), 'utf8'));
      expect(mteb.task_name).toBe('STSBenchmark');
      expect(mteb.mteb_version).toBe(MTEB_SCHEMA_VERSION);
      expect(mteb.scores.validation[0]).toEqual({
        cosine_pearson: b!.pearson,
        cosine_spearman: b!.spearman,
        hf_subset: 'default',
        languages: ['eng-Latn'],
        main_score: b!.spearman,
      });
    },
    300_000,
  );

  it('usage errors: onnx:<file> without --tokenizer, a missing folder, a bad --runtime, ort for a non-GeoLIP model', async () => {
    const r = await cli(['run', '--data', dataDir, '--model', `onnx:${join(hfDir, 'onnx', 'model.onnx')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--model onnx:<file> needs --tokenizer');
    const m = await cli(['run', '--data', dataDir, '--model', `hf:${join(tmp, 'nope')}`]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`model folder not found: ${join(tmp, 'nope')}`);
    expect(existsSync(join(tmp, 'nope'))).toBe(false);
    const rt = await cli(['run', '--data', dataDir, '--model', 'geolip-text', '--runtime', 'onnx']);
    expect(rt.stderr).toContain("unknown runtime 'onnx'; valid runtimes: tfjs, ort");
    const mod = join(here, 'fixtures', 'cli', 'model.mjs');
    const g = await cli(['run', '--data', dataDir, '--model', mod, '--runtime', 'ort']);
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('--runtime ort runs GeoLIP text models (geolip-text');
  });
});

describe('classifyModelSpec hf: / onnx:', () => {
  it('takes the prefix before any path rule, resolving relative paths', () => {
    expect(classifyModelSpec('hf:/models/minilm', [])).toEqual({ kind: 'hf', path: '/models/minilm' });
    expect(classifyModelSpec('onnx:m.onnx', [])).toEqual({ kind: 'onnx', path: join(process.cwd(), 'm.onnx') });
    expect(classifyModelSpec('hf:', [])).toEqual({ kind: 'unknown', spec: 'hf:' });
  });
});

describe('mtebResultFiles', () => {
  it('writes STS-B and SICK-R regression results in MTEB 1.12 shape and skips the rest', () => {
    const base = { model: 'm', n: 3, seconds: 1.5, gold: [1, 2, 3], predicted: [0.1, 0.2, 0.3] };
    const r = [
      { ...base, kind: 'regression', task: 'stsb', split: 'test', spearman: 0.5, pearson: 0.25 },
      { ...base, kind: 'regression', task: 'sick', split: 'dev (trial)', spearman: 0.75, pearson: 0.5 },
    ] as unknown as RegressionResult[];
    const files = mtebResultFiles([...r, { ...base, kind: 'classification', task: 'mrpc' } as never]);
    expect(files.map((f) => f.file)).toEqual(['STSBenchmark.json', 'SICK-R.json']);
    expect(files[0]!.json.scores).toEqual({
      test: [
        { cosine_pearson: 0.25, cosine_spearman: 0.5, hf_subset: 'default', languages: ['eng-Latn'], main_score: 0.5 },
      ],
    });
    expect(Object.keys(files[1]!.json.scores as object)).toEqual(['validation']);
    expect(files[1]!.json.evaluation_time).toBe(1.5);
    expect(String(files[0]!.json.dataset_revision)).toMatch(/^geolip:[0-9a-f]{16}$/);
  });
});
