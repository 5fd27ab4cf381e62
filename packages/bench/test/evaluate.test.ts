import { describe, expect, it } from 'vitest';

import type { PairDataset } from '@geolip/text/data';
import type { Embedder } from '../src/embedder.js';
import { evaluatePairTask } from '../src/evaluate.js';
import { markdownTable, jsonReport } from '../src/report.js';
import { svgScatter, niceTicks } from '../src/plot.js';

/** Embedder over a lookup table; records every sentence it is asked to embed. */
function tableEmbedder(table: Record<string, number[]>, dim: number): Embedder & { seen: string[] } {
  const seen: string[] = [];
  return {
    name: 'table',
    dim,
    params: 0,
    seen,
    async embed(inputs) {
      const out = new Float32Array(inputs.length * dim);
      inputs.forEach((s, r) => {
        seen.push(s);
        const v = table[s];
        if (!v) throw new Error(`no vector for ${s}`);
        out.set(v, r * dim);
      });
      return out;
    },
  };
}

/** Bag of characters hashed into 16 buckets (deterministic, no tfjs). */
const charEmbedder: Embedder & { calls: number } = {
  name: 'chars',
  dim: 16,
  calls: 0,
  async embed(inputs) {
    this.calls += inputs.length;
    const out = new Float32Array(inputs.length * 16);
    inputs.forEach((s, r) => {
      for (const ch of s) out[r * 16 + (ch.charCodeAt(0) % 15)]! += 1;
      out[r * 16 + 15] = 1;
    });
    return out;
  },
};

const pairsOf = (
  task: PairDataset['task'],
  rows: { a: string; b: string; score?: number; label?: 0 | 1 }[],
  split = 'dev',
): PairDataset => ({
  task,
  split,
  file: `${task}-${split}.txt`,
  pairs: rows.map((r, i) => ({ ...r, line: i + 1 })),
  dropped: 0,
  droppedLines: [],
});

describe('evaluatePairTask: regression (STS-B / SICK)', () => {
  // cos(a,a)=1, cos(a,b)=0, cos(a,c)=1/√2, cos(a,d)=1/√5
  const table = { a: [1, 0], b: [0, 1], c: [1, 1], d: [1, 2] };
  const gold = [5, 0, 2, 3];
  const dataset = pairsOf('stsb', [
    { a: 'a', b: 'a', score: 5 },
    { a: 'a', b: 'b', score: 0 },
    { a: 'a', b: 'c', score: 2 },
    { a: 'a', b: 'd', score: 3 },
  ]);

  it('matches hand-computed Spearman and Pearson', async () => {
    const emb = tableEmbedder(table, 2);
    const r = await evaluatePairTask(emb, dataset, { batchSize: 2 });
    if (r.kind !== 'regression') throw new Error('expected regression');
    // predicted ranks 4,1,3,2 vs gold ranks 4,1,2,3: Σd² = 2, ρ = 1 − 6·2/(4·15) = 0.8
    expect(r.spearman).toBeCloseTo(0.8, 12);
    const pred = [1, 0, Math.SQRT1_2, 1 / Math.sqrt(5)];
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const mp = mean(pred);
    const mg = mean(gold);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    pred.forEach((p, i) => {
      sxy += (p - mp) * (gold[i]! - mg);
      sxx += (p - mp) ** 2;
      syy += (gold[i]! - mg) ** 2;
    });
    expect(r.pearson).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 6);
    expect(r.predicted).toHaveLength(4);
    r.predicted.forEach((p, i) => expect(p).toBeCloseTo(pred[i]!, 6));
    expect(r.gold).toEqual(gold);
    expect(r.n).toBe(4);
    expect(r.task).toBe('stsb');
    expect(r.model).toBe('table');
    expect(r.seconds).toBeGreaterThanOrEqual(0);
    expect(r.itemsPerSecond).toBeGreaterThan(0);
  });

  it('embeds each unique sentence once', async () => {
    const emb = tableEmbedder(table, 2);
    const r = await evaluatePairTask(emb, dataset);
    expect([...emb.seen].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(r.uniqueSentences).toBe(4);
  });

  it('reports progress over unique sentences', async () => {
    const calls: [number, number][] = [];
    await evaluatePairTask(tableEmbedder(table, 2), dataset, {
      batchSize: 1,
      onProgress: (d, t) => calls.push([d, t]),
    });
    expect(calls.at(-1)).toEqual([4, 4]);
  });

  it('works with a bag-of-characters embedder on SICK-style data', async () => {
    charEmbedder.calls = 0;
    const ds = pairsOf(
      'sick',
      [
        { a: 'a dog runs', b: 'a dog runs', score: 5 },
        { a: 'a dog runs', b: 'a dog is running', score: 4.5 },
        { a: 'a cat sleeps', b: 'xyz qqq', score: 1 },
      ],
      'trial',
    );
    const r = await evaluatePairTask(charEmbedder, ds);
    expect(charEmbedder.calls).toBe(4);
    if (r.kind !== 'regression') throw new Error('expected regression');
    expect(r.predicted[0]).toBeCloseTo(1, 6);
    expect(r.spearman).toBeCloseTo(1, 12);
    expect(r.split).toBe('trial');
  });

  it('rejects a pair without a score and an empty dataset', async () => {
    await expect(evaluatePairTask(charEmbedder, pairsOf('stsb', [{ a: 'x', b: 'y' }]))).rejects.toThrow(
      /no numeric score/,
    );
    await expect(evaluatePairTask(charEmbedder, pairsOf('stsb', []))).rejects.toThrow(/no pairs/);
  });
});

describe('evaluatePairTask: MRPC', () => {
  // "x:c" has cosine exactly c with "base".
  const cosines = [0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.95, 0.78, 0.72, 0.4];
  const table: Record<string, number[]> = { base: [1, 0] };
  for (const c of cosines) table[`x:${c}`] = [c, Math.sqrt(1 - c * c)];
  const row = (c: number, label: 0 | 1) => ({ a: 'base', b: `x:${c}`, label });
  const evalSet = pairsOf(
    'mrpc',
    [row(0.9, 1), row(0.8, 1), row(0.7, 0), row(0.6, 1), row(0.5, 0), row(0.3, 0)],
    'train:dev',
  );
  const fitSet = pairsOf('mrpc', [row(0.95, 1), row(0.78, 1), row(0.72, 0), row(0.4, 0)], 'train:train');

  it('fits the threshold on the fit split and reports hand-computed metrics', async () => {
    const emb = tableEmbedder(table, 2);
    const r = await evaluatePairTask(emb, evalSet, { fit: fitSet });
    if (r.kind !== 'classification') throw new Error('expected classification');
    expect(r.threshold).toBeGreaterThan(0.72);
    expect(r.threshold).toBeLessThanOrEqual(0.78);
    expect(r.thresholdFittedOn).toEqual({ split: 'train:train', n: 4, f1: 1 });
    // at t ∈ (0.72, 0.78]: TP = 2 (0.9, 0.8), FN = 1 (0.6), FP = 0
    expect(r.precision).toBeCloseTo(1, 12);
    expect(r.recall).toBeCloseTo(2 / 3, 12);
    expect(r.f1).toBeCloseTo(0.8, 12);
    expect(r.accuracy).toBeCloseTo(5 / 6, 12);
    // 8 of the 9 positive/negative pairs are ordered correctly
    expect(r.auc).toBeCloseTo(8 / 9, 12);
    // oracle: cut below 0.6 → TP 3, FP 1 → F1 6/7
    expect(r.oracle.f1).toBeCloseTo(6 / 7, 12);
    expect(r.oracle.accuracy).toBeCloseTo(5 / 6, 12);
    expect(r.oracle.threshold).toBeGreaterThan(0.5);
    expect(r.oracle.threshold).toBeLessThanOrEqual(0.6);
    // all-paraphrase: P = 3 of 6 → F1 = 2·3/(3+6)
    expect(r.trivialF1).toBeCloseTo(2 / 3, 12);
    expect(r.trivialAccuracy).toBeCloseTo(0.5, 12);
    expect(r.gold).toEqual([1, 1, 0, 1, 0, 0]);
    // unique sentences over both splits: base + 10
    expect(r.uniqueSentences).toBe(11);
    expect(new Set(emb.seen).size).toBe(emb.seen.length);
  });

  it('without a fit split fits on the evaluated split (the oracle)', async () => {
    const r = await evaluatePairTask(tableEmbedder(table, 2), evalSet);
    if (r.kind !== 'classification') throw new Error('expected classification');
    expect(r.f1).toBeCloseTo(6 / 7, 12);
    expect(r.thresholdFittedOn.split).toBe('train:dev');
  });

  it('markdownTable prints the metrics and the all-paraphrase baseline row; jsonReport keeps every number', async () => {
    const r = await evaluatePairTask(tableEmbedder(table, 2), evalSet, { fit: fitSet });
    if (r.kind !== 'classification') throw new Error('expected classification');
    const md = markdownTable([r]);
    const lines = md.trim().split('\n');
    expect(lines[0]).toBe(
      '| model | params | task | split | n | Spearman | Pearson | F1 | accuracy | AUC | threshold |',
    );
    expect(lines[2]).toContain('| table | 0 | MRPC | train:dev | 6 | – | – | 80.00 | 83.33 | 88.89 |');
    expect(lines[3]).toContain(
      '| all-paraphrase baseline | – | MRPC | train:dev | 6 | – | – | 66.67 | 50.00 | 50.00 | – |',
    );
    const report = jsonReport([r], { split: 'dev' });
    expect(report.results[0]).toMatchObject({ f1: r.f1, auc: r.auc, trivialF1: r.trivialF1, oracle: r.oracle });
    expect(report.results[0]).not.toHaveProperty('gold');
    expect(report.environment.node).toBe(process.version);
    expect(report.environment.packages['@geolip/bench']).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.environment.packages['@tensorflow/tfjs-core']).toMatch(/^\d+\.\d+\.\d+/);
    expect(jsonReport([r], {}, { includeRaw: true }).results[0]!.gold).toEqual(r.gold);
  });
});

describe('svgScatter', () => {
  it('is a self-contained SVG with axes, ticks and one circle per finite point', () => {
    const svg = svgScatter([0, 1, 2, 5, Number.NaN], [0.1, 0.3, 0.2, 0.9, 0.5], { title: 'A <b> & c' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toContain('A &lt;b&gt; &amp; c');
    expect(svg).toContain('class="axes"');
    expect(svg).not.toMatch(/<script|href=/);
    expect(svg).not.toContain('NaN');
    expect(() => svgScatter([1], [1, 2])).toThrow(/gold has 1/);
    expect(svgScatter([], [])).toContain('</svg>');
  });

  it('niceTicks picks 1/2/5 steps', () => {
    expect(niceTicks(0, 5)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(niceTicks(-0.04, 1.04)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});
