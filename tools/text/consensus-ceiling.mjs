// Usage: node tools/text/consensus-ceiling.mjs <consensus.safetensors> [data dir]   (after npm run build; needs the
// experts' optional peers). Prints, per dev task, each expert's Spearman raw and through its consensus projector, and
// the Spearman of the consensus itself (normalized mean of the projected experts): the ceiling a student distilled
// from these targets can reach.
// How well do the consensus targets themselves score? Project the experts' embeddings of the dev pairs with the
// consensus projectors (normalized mean), then score like geolip-bench.
import { readFileSync } from 'node:fs';
import { Matrix } from '@geolip/geometry';
import { loadConsensus, applyProjector } from '@geolip/train';
import { loadModel, embedAll, loadStsb, loadSick } from '@geolip/bench';
import { spearman } from '@geolip/metrics';
const cons = loadConsensus(readFileSync(process.argv[2]));
const D = process.argv[3] ?? '../shared/data';
const sets = { stsb: await loadStsb(D, 'dev'), sick: await loadSick(D, 'trial') };
const models = {};
for (const name of cons.experts) models[name] = await loadModel(name);
for (const [task, ds] of Object.entries(sets)) {
  const texts = ds.pairs.flatMap((p) => [p.a, p.b]);
  const views = [];
  const res = {};
  for (const [e, name] of cons.experts.entries()) {
    const m = models[name];
    const x = new Matrix(texts.length, m.dim, Float64Array.from(await embedAll(m, texts)));
    const v = applyProjector(cons.projectors[e], x, { normalize: true });
    views.push(v);
    const cosRaw = [],
      cosProj = [];
    for (let i = 0; i < ds.pairs.length; i++) {
      const c = (M, d) => {
        let s = 0,
          na = 0,
          nb = 0;
        for (let j = 0; j < d; j++) {
          const a = M.data[2 * i * d + j],
            b = M.data[(2 * i + 1) * d + j];
          s += a * b;
          na += a * a;
          nb += b * b;
        }
        return s / Math.sqrt(na * nb);
      };
      cosRaw.push(c(x, m.dim));
      cosProj.push(c(v, v.cols));
    }
    res[name] = {
      raw: spearman(
        cosRaw,
        ds.pairs.map((p) => p.score),
      ),
      projected: spearman(
        cosProj,
        ds.pairs.map((p) => p.score),
      ),
    };
  }
  const k = views[0].cols;
  const cos = [];
  for (let i = 0; i < ds.pairs.length; i++) {
    const row = (r) => {
      const o = new Float64Array(k);
      for (const v of views) for (let j = 0; j < k; j++) o[j] += v.data[r * k + j];
      return o;
    };
    const a = row(2 * i),
      b = row(2 * i + 1);
    let s = 0,
      na = 0,
      nb = 0;
    for (let j = 0; j < k; j++) {
      s += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
    }
    cos.push(s / Math.sqrt(na * nb));
  }
  console.log(
    task,
    JSON.stringify(res),
    'consensus',
    spearman(
      cos,
      ds.pairs.map((p) => p.score),
    ),
  );
}
for (const m of Object.values(models)) m.dispose?.();
