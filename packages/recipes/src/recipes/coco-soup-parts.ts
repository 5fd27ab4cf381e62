// The parts of the coco-soup recipe: the consensus with per-expert PCA folded into the projectors (the small preset),
// the soup trainer and its batched outputs, the linear probe, and the distillation diagnostics. The card preset's
// parts (common-width consensus, the student's loss stack, validation) are in coco-soup-card.ts.
import * as tf from '@tensorflow/tfjs-core';
import { Matrix, linalg, pca } from '@geolip/geometry';
import { BaseTierSoup } from '@geolip/vision';
import { AdamW, applyProjector, bceWithLabelSmoothing, buildConsensus, normalizedMean } from '@geolip/train';
import type { ConsensusModel, ConsensusProjector, TrainableModel } from '@geolip/train';

import type { ExpertRows } from './coco-data.js';
import type { CocoSoupConsensusConfig, CocoSoupProbeConfig, CocoSoupSoupConfig } from './coco-soup.js';

// ---------------------------------------------------------------------------------------------
// Consensus: per-expert PCA, buildConsensus, PCA folded back into the projectors
// ---------------------------------------------------------------------------------------------

/** The consensus of the train rows with projectors from the RAW expert spaces, and the eval split's consensus. */
export interface SoupConsensus {
  model: ConsensusModel;
  /** `[N_eval, K]` normalize(mean_e normalize(p_e(x_e))) on the eval rows. */
  evalTargets: Matrix;
  /** Per expert: the PCA width used (= D_e when no PCA ran) and the share of variance it kept. */
  reduction: { name: string; dim: number; pcaDim: number; explainedVariance: number }[];
}

/**
 * Fits the consensus on the train rows (spec §3.4–3.6). Each expert wider than `pcaDim` is first reduced by its own
 * PCA (fitted on the train rows; [INFER]: with N_train ≪ D_e the whitening of the raw space is singular). The
 * consensus projector p(z) = z·L + b of the PCA coordinates z = (x − μ)·V is then folded back into the raw space,
 * p(x) = x·(V·L) + (b − μ·V·L): an exact affine map, so the soup reads the raw expert features.
 */
export function fitSoupConsensus(
  experts: readonly ExpertRows[],
  nTrain: number,
  nEval: number,
  cfg: Omit<CocoSoupConsensusConfig, 'soupInput'>,
): SoupConsensus {
  const reduction: SoupConsensus['reduction'] = [];
  const maps: { components: Matrix | null; mean: Float64Array | null }[] = [];
  const reduced = experts.map((e) => {
    const x = new Matrix(nTrain, e.dim, Float64Array.from(e.train));
    const width = Math.min(cfg.pcaDim, e.dim, Math.max(nTrain - 1, 1));
    if (width >= e.dim) {
      reduction.push({ name: e.name, dim: e.dim, pcaDim: e.dim, explainedVariance: 1 });
      maps.push({ components: null, mean: null });
      return { name: e.name, features: x };
    }
    const p = pca(x, width);
    reduction.push({
      name: e.name,
      dim: e.dim,
      pcaDim: width,
      explainedVariance: p.explainedVarianceRatio.reduce((a, b) => a + b, 0),
    });
    maps.push({ components: p.components, mean: p.mean });
    return { name: e.name, features: p.projected };
  });
  const minWidth = Math.min(...reduced.map((r) => r.features.cols));
  const targetDim = Math.min(cfg.targetDim, minWidth);
  const fit = buildConsensus(reduced, { targetDim, iterations: cfg.iterations, shrinkage: cfg.shrinkage });
  const projectors: ConsensusProjector[] = fit.projectors.map((p, e) => {
    const { components: v, mean: mu } = maps[e]!;
    if (v === null) return p;
    const linear = linalg.matmul(v, p.linear); // [D_e, K]
    const bias = Float64Array.from(p.bias);
    const k = linear.cols;
    for (let d = 0; d < linear.rows; d++) {
      const m = mu![d]!;
      if (m === 0) continue;
      for (let j = 0; j < k; j++) bias[j]! -= m * linear.data[d * k + j]!;
    }
    return { name: p.name, linear, bias };
  });
  const evalViews = projectors.map((p, e) =>
    applyProjector(p, new Matrix(nEval, experts[e]!.dim, Float64Array.from(experts[e]!.eval))),
  );
  const model: ConsensusModel = {
    targets: fit.targets,
    projectors,
    diagnostics: fit.diagnostics,
    experts: fit.experts,
    config: { ...fit.config, inputDims: experts.map((e) => e.dim) },
  };
  return { model, evalTargets: normalizedMean(evalViews, nEval, targetDim), reduction };
}

// ---------------------------------------------------------------------------------------------
// Models and their trainers
// ---------------------------------------------------------------------------------------------

const rowsOf = (data: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array => {
  const out = new Float32Array(idx.length * dim);
  for (let r = 0; r < idx.length; r++) out.set(data.subarray(idx[r]! * dim, (idx[r]! + 1) * dim), r * dim);
  return out;
};

/** Host-side features of one split: per-expert rows, multi-hot targets. */
export interface SoupSplit {
  n: number;
  experts: Float32Array[];
  dims: number[];
  targets: Uint8Array;
  classes: number;
}

function soupBatch(s: SoupSplit, idx: ArrayLike<number>): { x: tf.Tensor2D[]; y: tf.Tensor2D } {
  return {
    x: s.experts.map((e, i) => tf.tensor2d(rowsOf(e, s.dims[i]!, idx), [idx.length, s.dims[i]!])),
    y: tf.tensor2d(Float32Array.from(rowsOf(Float32Array.from(s.targets), s.classes, idx)), [idx.length, s.classes]),
  };
}

export class SoupTrainer implements TrainableModel<Int32Array> {
  constructor(
    readonly soup: BaseTierSoup,
    private readonly data: SoupSplit,
    private readonly cfg: CocoSoupSoupConfig,
  ) {}
  getWeights(): Record<string, tf.Variable> {
    return this.soup.getWeights();
  }
  loss(batch: Int32Array): tf.Scalar {
    return tf.tidy(() => {
      const { x, y } = soupBatch(this.data, batch);
      const out = this.soup.forward(x, {
        training: true,
        ...(this.cfg.autograd ? { autograd: { tangential: 0.01, separation: 1 } } : {}),
      });
      return bceWithLabelSmoothing(out.logits, y, { smoothing: this.cfg.smoothing });
    });
  }
}

/** Soup outputs on a whole split (in batches): sigmoid scores `[N·C]` and fused embeddings `[N·K]`. */
export async function soupOutputs(
  soup: BaseTierSoup,
  s: SoupSplit,
  batch = 256,
): Promise<{ scores: Float32Array; embedding: Float32Array }> {
  const C = soup.config.classes;
  const K = soup.config.embedDim;
  const scores = new Float32Array(s.n * C);
  const embedding = new Float32Array(s.n * K);
  for (let start = 0; start < s.n; start += batch) {
    const b = Math.min(batch, s.n - start);
    const idx = Int32Array.from({ length: b }, (_, i) => start + i);
    const [p, e] = tf.tidy(() => {
      const out = soup.forward(soupBatch(s, idx).x);
      return [tf.sigmoid(out.logits), out.embedding];
    });
    scores.set((await p!.data()) as Float32Array, start * C);
    embedding.set((await e!.data()) as Float32Array, start * K);
    tf.dispose([p!, e!]);
  }
  return { scores, embedding };
}

/** Mean over rows of cos(a_i, b_i) (rows of `b` are unit; `a` is normalized here). */
export function meanCosine(a: Float32Array, b: Float32Array, dim: number): number {
  const n = a.length / dim;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < dim; j++) {
      dot += a[i * dim + j]! * b[i * dim + j]!;
      na += a[i * dim + j]! ** 2;
      nb += b[i * dim + j]! ** 2;
    }
    total += dot / Math.max(Math.sqrt(na * nb), 1e-12);
  }
  return total / n;
}

/** R@1 of a → b: the share of rows i whose most similar row of b (cosine) is b_i. */
export function recallAt1(a: Float32Array, b: Float32Array, dim: number): number {
  const n = a.length / dim;
  const unit = (x: Float32Array) => {
    const out = new Float64Array(x.length);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += x[i * dim + j]! ** 2;
      const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
      for (let j = 0; j < dim; j++) out[i * dim + j] = x[i * dim + j]! * inv;
    }
    return out;
  };
  const ua = unit(a);
  const ub = unit(b);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestSim = -Infinity;
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += ua[i * dim + j]! * ub[k * dim + j]!;
      if (s > bestSim) {
        bestSim = s;
        best = k;
      }
    }
    if (best === i) hits++;
  }
  return hits / n;
}

/**
 * A linear probe: logistic regression (C sigmoid outputs) on L2-normalized rows, from zeros, `steps` full-batch AdamW
 * steps on mean BCE + l2·‖W‖². Returns the eval rows' sigmoid scores `[N_eval·C]`.
 */
export async function linearProbe(
  xTrain: Float32Array,
  yTrain: Uint8Array,
  xEval: Float32Array,
  dim: number,
  classes: number,
  cfg: CocoSoupProbeConfig,
): Promise<Float32Array> {
  const nTrain = xTrain.length / dim;
  const nEval = xEval.length / dim;
  const unitRows = (x: Float32Array, n: number) =>
    tf.tidy(() => {
      const t = tf.tensor2d(x, [n, dim]);
      return tf.div(t, tf.maximum(tf.norm(t, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
    });
  const w = tf.variable(tf.zeros([dim, classes]), true);
  const b = tf.variable(tf.zeros([classes]), true);
  const x = unitRows(xTrain, nTrain);
  const y = tf.tensor2d(Float32Array.from(yTrain), [nTrain, classes]);
  const optimizer = new AdamW({ w, b }, { lr: cfg.lr, weightDecay: 0 });
  try {
    for (let s = 0; s < cfg.steps; s++) {
      const { grads } = tf.variableGrads(
        () =>
          tf.tidy(() => {
            const logits = tf.add(tf.matMul(x, w), b) as tf.Tensor2D;
            return tf.add(
              bceWithLabelSmoothing(logits, y, { smoothing: 0 }),
              tf.mul(cfg.l2, tf.sum(tf.square(w))),
            ) as tf.Scalar;
          }),
        [w, b],
      );
      optimizer.step({ w: grads[w.name]!, b: grads[b.name]! });
      tf.dispose(Object.values(grads));
    }
    const p = tf.tidy(() => tf.sigmoid(tf.add(tf.matMul(unitRows(xEval, nEval), w), b)));
    const out = (await p.data()) as Float32Array;
    p.dispose();
    return out;
  } finally {
    optimizer.dispose();
    tf.dispose([w, b, x, y]);
  }
}
