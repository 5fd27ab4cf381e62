#!/usr/bin/env node
// Correctness check of the exported ONNX encoder: runs it in onnxruntime-node on small seeded batches
// (with padding) and compares the output against onnx/numpy_reference.py (float64 NumPy, same weights read
// from the safetensors file written next to the ONNX model). Passes when max |ort - numpy| <= 1e-4.
//
// Usage: node tools/perf/peers/onnx/check-parity.mjs [--reexport] [--tol 1e-4] [--python python3]
// Writes results/perf/peers/ort-parity.json (tmp + rename); exit status 1 on failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrt } from '../ort/install.mjs';
import { CACHE, exportEncoder, writeAtomic } from './export-encoder.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = resolve(HERE, '../../../../results/perf/peers');
const ROOT = resolve(HERE, '..', '..', '..', '..');

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded ids in [1, 30522) and a mask with the given real lengths per row (padding id 0 after them). */
export function makeBatch(lengths, L, seed, vocab = 30522) {
  const rand = mulberry32(seed);
  const ids = [];
  const mask = [];
  for (const n of lengths) {
    ids.push(Array.from({ length: L }, (_, j) => (j < n ? 1 + Math.floor(rand() * (vocab - 1)) : 0)));
    mask.push(Array.from({ length: L }, (_, j) => (j < n ? 1 : 0)));
  }
  return { input_ids: ids, attention_mask: mask };
}

const toTensor = (ort, rows) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0].length]);

async function main() {
  const argv = process.argv.slice(2);
  const tol = argv.includes('--tol') ? Number(argv[argv.indexOf('--tol') + 1]) : 1e-4;
  const python = argv.includes('--python') ? argv[argv.indexOf('--python') + 1] : 'python3';
  const model = join(CACHE, 'encoder.onnx');
  const weights = join(CACHE, 'encoder.safetensors');
  if (argv.includes('--reexport') || !existsSync(model) || !existsSync(weights)) {
    console.log('exporting the encoder (seed 0) ...');
    exportEncoder({ seed: 0, out: model, weightsOut: weights });
  }
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const cases = [
    { name: 'b4_l16_padded', L: 16, lengths: [16, 11, 5, 1], seed: 1 },
    { name: 'b2_l128_padded', L: 128, lengths: [128, 77], seed: 2 },
    { name: 'b3_l7_unpadded', L: 7, lengths: [7, 7, 7], seed: 3 },
  ];
  const dir = join(CACHE, 'parity');
  mkdirSync(dir, { recursive: true });
  const results = [];
  let ok = true;
  for (const c of cases) {
    const batch = makeBatch(c.lengths, c.L, c.seed);
    const out = await session.run({
      input_ids: toTensor(ort, batch.input_ids),
      attention_mask: toTensor(ort, batch.attention_mask),
    });
    const e = out.embedding;
    const rows = [];
    for (let i = 0; i < e.dims[0]; i++) rows.push(Array.from(e.data.subarray(i * e.dims[1], (i + 1) * e.dims[1])));
    const casePath = join(dir, `${c.name}.json`);
    writeAtomic(casePath, Buffer.from(JSON.stringify({ ...batch, embedding: rows })));
    const r = spawnSync(
      python,
      [join(HERE, 'numpy_reference.py'), '--weights', weights, '--case', casePath, '--tol', String(tol)],
      { encoding: 'utf8' },
    );
    if (r.error) throw r.error;
    let res;
    try {
      res = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      throw new Error(`numpy_reference.py failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    ok &&= r.status === 0 && res.ok;
    results.push({ case: c.name, batch: c.lengths.length, seq: c.L, lengths: c.lengths, ...res });
    console.log(
      `${c.name.padEnd(16)} max|ort-numpy| = ${res.max_abs_diff?.toExponential(2)}  mean = ${res.mean_abs_diff?.toExponential(2)}  min cos = ${res.min_cosine?.toFixed(9)}  ${res.ok ? 'ok' : 'FAIL'}`,
    );
  }
  const report = {
    what: 'onnxruntime-node (float32) vs numpy float64 reference of the CaptionBERT-shaped encoder, same weights',
    date: new Date().toISOString(),
    onnxruntime_node: ort.env.versions?.node ?? null,
    model: relative(ROOT, model),
    weights: relative(ROOT, weights),
    command: `node tools/perf/peers/onnx/check-parity.mjs ${argv.join(' ')}`.trim(),
    tol,
    ok,
    cases: results,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeAtomic(join(RESULTS, 'ort-parity.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
  console.log(`${ok ? 'PASS' : 'FAIL'} (tol ${tol}); wrote ${join(RESULTS, 'ort-parity.json')}`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
