// The parts of the coco-soup recipe that its card preset (issue 20) adds: the validation split, the consensus at a
// common width (each expert brought to W by PCA where it is wider, zero-padded where it is narrower; the soup reads
// these W-wide inputs, so three experts give the card's 799,952 parameters), the ViT student with the card's loss stack
// (InfoNCE + MSE toward the targets, BCE through the FROZEN soup's constellation + patchwork + classifier, CV toward
// the measured target CV, a detached whitened-Procrustes alignment loss, geometric autograd against the soup's
// anchors), and the per-epoch metrics (nce_acc, cos, R@1, mAP, F1, active anchors).
import * as tf from '@tensorflow/tfjs-core';
import {
  InvalidArgumentError,
  Matrix,
  createRng,
  pca,
  pentachoronCV,
  procrustes,
  whitenedProcrustes,
} from '@geolip/geometry';
import { anchorUtilisationAsync, geometricAutograd } from '@geolip/anchors';
import type { BaseTierSoup, ViTClassifier, ViTEncoder } from '@geolip/vision';
import { meanAveragePrecision, multiLabelF1 } from '@geolip/metrics';
import {
  applyProjector,
  bceWithLabelSmoothing,
  buildConsensus,
  cvLossTerm,
  infoNCE,
  mseLoss,
  normalizedMean,
} from '@geolip/train';
import type { ConsensusModel, ConsensusProjector, StepContext, TrainableModel } from '@geolip/train';

import type { CocoSplit } from './coco-data.js';
import { meanCosine, recallAt1 } from './coco-soup-parts.js';

// ---------------------------------------------------------------------------------------------
// Splits
// ---------------------------------------------------------------------------------------------

/**
 * The validation rows of a train split of `n` images: `size` indices drawn by a generator seeded with `seed` (no look
 * at any other split), both lists ascending. `size` 0 gives no validation rows.
 * @throws {InvalidArgumentError} naming `chooseValidation` and `size` when it is not an integer in [0, n − 2].
 */
export function chooseValidation(n: number, size: number, seed: number): { fit: Int32Array; val: Int32Array } {
  if (!Number.isInteger(size) || size < 0 || size > Math.max(n - 2, 0))
    throw new InvalidArgumentError(
      'chooseValidation',
      'size',
      `must be an integer in [0, ${Math.max(n - 2, 0)}] (at least 2 train images stay), got ${String(size)}`,
    );
  const val = Int32Array.from(createRng(seed).choose(n, size)).sort();
  const inVal = new Set(val);
  const fit = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !inVal.has(i));
  return { fit, val };
}

/** The rows `idx` of a split (images, targets, counts; `sets` and `duplicates` are the parent's). */
export function subsetSplit(split: CocoSplit, idx: ArrayLike<number>, classes: number): CocoSplit {
  const targets = new Uint8Array(idx.length * classes);
  const counts = new Uint32Array(idx.length * classes);
  const images = Array.from(idx, (i, r) => {
    targets.set(split.targets.subarray(i * classes, (i + 1) * classes), r * classes);
    counts.set(split.counts.subarray(i * classes, (i + 1) * classes), r * classes);
    return split.images[i]!;
  });
  return { images, targets, counts, sets: split.sets, duplicates: split.duplicates };
}

/** Rows `idx` of a row-major `[N, dim]` array. */
export function pickRows(data: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let r = 0; r < idx.length; r++) out.set(data.subarray(idx[r]! * dim, (idx[r]! + 1) * dim), r * dim);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Consensus at a common width
// ---------------------------------------------------------------------------------------------

/** How one expert is brought to the common width W. */
export interface CommonWidthInput {
  name: string;
  /** D_e, the raw width. */
  dim: number;
  /** W. */
  width: number;
  /** `pca`: D_e > W, reduced by its own PCA (fitted on the fit rows); `pad`: D_e < W, zero columns appended; `none`. */
  kind: 'pca' | 'pad' | 'none';
  /** The share of the fit rows' variance the PCA kept (1 for `pad` / `none`). */
  explainedVariance: number;
  /** Maps raw rows `[n, D_e]` to `[n, W]`. */
  apply(x: Float32Array, n: number): Float32Array;
}

/** {@link fitCommonConsensus}'s result. */
export interface CommonConsensus {
  /** The consensus fitted on the W-wide inputs: projectors `[W, K]`, targets `[N_fit, K]`. */
  model: ConsensusModel;
  inputs: CommonWidthInput[];
}

/**
 * Brings every expert to the common width `width` (PCA where D_e > W, zero padding where D_e < W) and fits the
 * consensus there (`buildConsensus`: GPA at W → PCA to `targetDim` → per-expert whitened Procrustes → targets).
 * The card's experts are all 768-d; with W = 768 a 2048-d expert is reduced and a 512-d one padded, so the soup's
 * projectors are Linear(768 → K) each. The padded columns are constant zero: their projector weights see no input.
 * @param experts - per expert its name, raw width and fit rows `[nFit, D_e]`.
 * @throws {InvalidArgumentError} naming `fitCommonConsensus` and the argument for a bad width or target width.
 */
export function fitCommonConsensus(
  experts: readonly { name: string; dim: number; fit: Float32Array }[],
  nFit: number,
  cfg: { width: number; targetDim: number; iterations: number; shrinkage: number },
): CommonConsensus {
  const op = 'fitCommonConsensus';
  if (!Number.isInteger(cfg.width) || cfg.width < 1)
    throw new InvalidArgumentError(op, 'cfg.width', `must be a positive integer, got ${String(cfg.width)}`);
  if (!Number.isInteger(cfg.targetDim) || cfg.targetDim < 1 || cfg.targetDim > cfg.width)
    throw new InvalidArgumentError(
      op,
      'cfg.targetDim',
      `must be an integer in [1, ${cfg.width}], got ${cfg.targetDim}`,
    );
  const W = cfg.width;
  const inputs = experts.map((e): CommonWidthInput => {
    if (e.dim > W) {
      const p = pca(new Matrix(nFit, e.dim, Float64Array.from(e.fit)), W);
      const v = p.components;
      const mu = p.mean;
      return {
        name: e.name,
        dim: e.dim,
        width: W,
        kind: 'pca',
        explainedVariance: p.explainedVarianceRatio.reduce((a, b) => a + b, 0),
        apply: (x, n) => {
          const out = new Float32Array(n * W);
          const row = new Float64Array(e.dim);
          const acc = new Float64Array(W);
          for (let r = 0; r < n; r++) {
            for (let d = 0; d < e.dim; d++) row[d] = x[r * e.dim + d]! - mu[d]!;
            acc.fill(0);
            for (let d = 0; d < e.dim; d++) {
              const xd = row[d]!;
              if (xd === 0) continue;
              const off = d * W;
              for (let j = 0; j < W; j++) acc[j]! += xd * v.data[off + j]!;
            }
            for (let j = 0; j < W; j++) out[r * W + j] = acc[j]!;
          }
          return out;
        },
      };
    }
    const kind = e.dim < W ? 'pad' : 'none';
    return {
      name: e.name,
      dim: e.dim,
      width: W,
      kind,
      explainedVariance: 1,
      apply: (x, n) => {
        if (kind === 'none') return Float32Array.from(x.subarray(0, n * W));
        const out = new Float32Array(n * W);
        for (let r = 0; r < n; r++) out.set(x.subarray(r * e.dim, (r + 1) * e.dim), r * W);
        return out;
      },
    };
  });
  const views = inputs.map((inp, e) => ({
    name: inp.name,
    features: new Matrix(nFit, W, Float64Array.from(inp.apply(experts[e]!.fit, nFit))),
  }));
  const fit = buildConsensus(views, {
    width: W,
    targetDim: cfg.targetDim,
    iterations: cfg.iterations,
    shrinkage: cfg.shrinkage,
  });
  const model: ConsensusModel = {
    targets: fit.targets,
    projectors: fit.projectors,
    diagnostics: fit.diagnostics,
    experts: fit.experts,
    config: fit.config,
  };
  return { model, inputs };
}

/** normalize(mean_e normalize(p_e(x_e))) of `n` rows, each expert's rows `[n, D_e]` in its projector's input space. */
export function consensusTargets(
  projectors: readonly ConsensusProjector[],
  rows: readonly Float32Array[],
  n: number,
): Float32Array {
  const views = projectors.map((p, e) => applyProjector(p, new Matrix(n, p.linear.rows, Float64Array.from(rows[e]!))));
  return Float32Array.from(normalizedMean(views, n, projectors[0]!.linear.cols).data);
}

/** The pentachoron CV of unit rows `[n, dim]` (the "measured consensus CV" a student's CV loss pulls toward). */
export function measuredCV(rows: Float32Array, dim: number): number {
  return pentachoronCV(new Matrix(rows.length / dim, dim, Float64Array.from(rows))).cv;
}

// ---------------------------------------------------------------------------------------------
// The student and its loss stack
// ---------------------------------------------------------------------------------------------

/** Host-side student data of one split: preprocessed images `[N, S, S, 3]`, targets `[N, K]`, labels `[N·C]`. */
export interface StudentData {
  n: number;
  size: number;
  images: Float32Array;
  targets: Float32Array;
  dim: number;
  labels: Uint8Array;
  classes: number;
}

/** The loss weights and settings of {@link StudentStackTrainer} (0 turns a term off). */
export interface StudentStack {
  /** InfoNCE(student, target), symmetric, τ. */
  nceWeight: number;
  temperature: number;
  /** MSE(student, target). */
  mseWeight: number;
  /** BCE of the student's own linear head (only when the student has one). */
  bceWeight: number;
  /** BCE of the frozen soup's classifier on the student embedding (constellation → patchwork → classifier). */
  soupBceWeight: number;
  smoothing: number;
  /** (CV(student batch) − cvTarget)². */
  cvWeight: number;
  cvTarget: number;
  /** 1 − mean cos(normalize(s·L + b), target), L, b a detached whitened-Procrustes map (see the trainer). */
  procrustesWeight: number;
  procrustesWindow: number;
  procrustesShrinkage: number;
  /** Geometric autograd against the frozen soup's anchors (spec §7), or null. */
  autograd: { tangential: number; separation: number } | null;
  flip: boolean;
}

/** A batch of images; with `rng`, each row is mirrored left–right with probability ½. */
export function imageBatch(s: StudentData, idx: ArrayLike<number>, rng?: { uniform(): number }): tf.Tensor4D {
  const S = s.size;
  const per = S * S * 3;
  const out = new Float32Array(idx.length * per);
  for (let r = 0; r < idx.length; r++) {
    const src = s.images.subarray(idx[r]! * per, (idx[r]! + 1) * per);
    if (rng !== undefined && rng.uniform() < 0.5) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const a = r * per + (y * S + x) * 3;
          const b = (y * S + (S - 1 - x)) * 3;
          out[a] = src[b]!;
          out[a + 1] = src[b + 1]!;
          out[a + 2] = src[b + 2]!;
        }
      }
    } else out.set(src, r * per);
  }
  return tf.tensor4d(out, [idx.length, S, S, 3]);
}

type Student = ViTEncoder | ViTClassifier;

/** The student's unit embedding and, for a `ViTClassifier`, its head's logits. */
function studentForward(student: Student, images: tf.Tensor4D): { embedding: tf.Tensor2D; logits: tf.Tensor2D | null } {
  const out = student.forward(images) as tf.Tensor2D | { embedding: tf.Tensor2D; logits: tf.Tensor2D };
  return out instanceof tf.Tensor ? { embedding: out, logits: null } : out;
}

/**
 * The student's training loss, all terms of {@link StudentStack}. The Procrustes map cannot be fitted inside `loss`
 * (it is synchronous and the backend may read only asynchronously), so `afterStep` reads the step's detached student
 * embeddings and targets, keeps the last `procrustesWindow` batches, and fits the whitened-Procrustes map student →
 * target on them (float64; shrinkage `procrustesShrinkage`) for the next step [INFER: the spec fits it per batch; a
 * batch of 32 rows cannot whiten 128 dimensions]. The first step has no map yet and no alignment term.
 */
export class StudentStackTrainer implements TrainableModel<Int32Array> {
  private map: { linear: tf.Tensor2D; bias: tf.Tensor1D } | null = null;
  private pending: { embedding: tf.Tensor2D; accuracy: tf.Scalar; batch: Int32Array }[] = [];
  private window: { s: Float32Array; t: Float32Array }[] = [];
  private accuracies: number[] = [];
  /** Procrustes refits skipped because the window gave a non-finite map (the last map was kept); reported per epoch. */
  private skippedFits = 0;

  constructor(
    readonly student: Student,
    private readonly soup: BaseTierSoup | null,
    private readonly data: StudentData,
    private readonly cfg: StudentStack,
  ) {
    if ((cfg.soupBceWeight > 0 || cfg.autograd !== null) && soup === null)
      throw new InvalidArgumentError('StudentStackTrainer', 'soup', 'is required for soupBceWeight > 0 or autograd');
  }

  getWeights(): Record<string, tf.Variable> {
    return this.student.getWeights();
  }

  loss(batch: Int32Array, ctx: StepContext): tf.Scalar {
    const { cfg, data } = this;
    return tf.tidy(() => {
      const images = imageBatch(data, batch, cfg.flip ? ctx.rng : undefined);
      const target = tf.tensor2d(pickRows(data.targets, data.dim, batch), [batch.length, data.dim]);
      const y = tf.tensor2d(Float32Array.from(pickRows(Float32Array.from(data.labels), data.classes, batch)), [
        batch.length,
        data.classes,
      ]);
      const out = studentForward(this.student, images);
      let e = out.embedding;
      if (cfg.autograd !== null) e = geometricAutograd(e, this.soup!.constellation, cfg.autograd);
      const terms: tf.Tensor[] = [];
      const nce = infoNCE(e, target, { temperature: cfg.temperature });
      if (cfg.nceWeight > 0) terms.push(tf.mul(cfg.nceWeight, nce.loss));
      if (cfg.mseWeight > 0) terms.push(tf.mul(cfg.mseWeight, mseLoss(e, target)));
      if (cfg.bceWeight > 0 && out.logits !== null)
        terms.push(tf.mul(cfg.bceWeight, bceWithLabelSmoothing(out.logits, y, { smoothing: cfg.smoothing })));
      if (cfg.soupBceWeight > 0) {
        const { logits } = this.soup!.classify(e);
        terms.push(tf.mul(cfg.soupBceWeight, bceWithLabelSmoothing(logits, y, { smoothing: cfg.smoothing })));
      }
      if (cfg.cvWeight > 0 && batch.length >= 5)
        terms.push(tf.mul(cfg.cvWeight, cvLossTerm(e, cfg.cvTarget, { rng: ctx.rng })));
      if (cfg.procrustesWeight > 0 && this.map !== null) {
        let aligned = tf.add(tf.matMul(e, this.map.linear), this.map.bias) as tf.Tensor2D;
        aligned = tf.div(aligned, tf.maximum(tf.norm(aligned, 'euclidean', 1, true), 1e-12));
        terms.push(tf.mul(cfg.procrustesWeight, tf.sub(1, tf.mean(tf.sum(tf.mul(aligned, target), 1)))));
      }
      this.pending.push({ embedding: tf.keep(tf.clone(e)), accuracy: tf.keep(nce.accuracy), batch });
      return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
    });
  }

  /**
   * Reads the step's accuracies and embeddings (every micro-batch; asynchronously) and refits the Procrustes map on the
   * last `procrustesWindow` (micro-)batches for the next step.
   */
  async afterStep(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 0) return;
    const { cfg, data } = this;
    for (const p of pending) {
      const [emb, acc] = await Promise.all([p.embedding.data(), p.accuracy.data()]);
      tf.dispose([p.embedding, p.accuracy]);
      this.accuracies.push(acc[0]!);
      if (cfg.procrustesWeight > 0)
        this.window.push({ s: emb as Float32Array, t: pickRows(data.targets, data.dim, p.batch) });
    }
    if (cfg.procrustesWeight <= 0) return;
    while (this.window.length > cfg.procrustesWindow) this.window.shift();
    const n = this.window.reduce((a, w) => a + w.s.length / data.dim, 0);
    const stack = (k: 's' | 't') => {
      const m = new Matrix(n, data.dim);
      let o = 0;
      for (const w of this.window) {
        m.data.set(w[k], o);
        o += w[k].length;
      }
      return m;
    };
    const fit =
      n > data.dim
        ? whitenedProcrustes(stack('s'), stack('t'), { rowNormalize: false, shrinkage: cfg.procrustesShrinkage })
        : { linear: procrustes(stack('s'), stack('t')).rotation, bias: new Float64Array(data.dim) };
    // A degenerate window (e.g. collapsed embeddings early on) can give a non-finite map: keep the last one.
    if (![...fit.linear.data, ...fit.bias].every(Number.isFinite)) {
      this.skippedFits++;
      return;
    }
    tf.dispose([this.map?.linear, this.map?.bias].filter((t) => t !== undefined));
    this.map = {
      linear: tf.tensor2d(Float32Array.from(fit.linear.data), [data.dim, data.dim]),
      bias: tf.tensor1d(Float32Array.from(fit.bias)),
    };
  }

  /** The Procrustes refits skipped (non-finite map, last map kept) since the last call, and resets the count. */
  takeSkippedFits(): number {
    const k = this.skippedFits;
    this.skippedFits = 0;
    return k;
  }

  /** The mean training InfoNCE row accuracy since the last call (NaN when no step ran), and resets it. */
  takeAccuracy(): number {
    const a = this.accuracies;
    this.accuracies = [];
    return a.length === 0 ? Number.NaN : a.reduce((x, y) => x + y, 0) / a.length;
  }

  dispose(): void {
    tf.dispose([this.map?.linear, this.map?.bias].filter((t) => t !== undefined));
    tf.dispose(this.pending.flatMap((p) => [p.embedding, p.accuracy]));
    this.map = null;
    this.pending = [];
  }
}

/**
 * The student on a whole split: unit embeddings `[N·K]` and sigmoid scores `[N·C]`, from its own head when it has one,
 * else through the frozen soup (`soup.classify`).
 */
export async function studentStackOutputs(
  student: Student,
  soup: BaseTierSoup | null,
  s: StudentData,
  batch = 32,
): Promise<{ scores: Float32Array; embedding: Float32Array }> {
  const C = s.classes;
  const K = s.dim;
  const scores = new Float32Array(s.n * C);
  const embedding = new Float32Array(s.n * K);
  for (let start = 0; start < s.n; start += batch) {
    const b = Math.min(batch, s.n - start);
    const idx = Int32Array.from({ length: b }, (_, i) => start + i);
    const [p, e] = tf.tidy(() => {
      const out = studentForward(student, imageBatch(s, idx));
      const logits = out.logits ?? soup!.classify(out.embedding).logits;
      return [tf.sigmoid(logits), out.embedding];
    });
    scores.set((await p!.data()) as Float32Array, start * C);
    embedding.set((await e!.data()) as Float32Array, start * K);
    tf.dispose([p!, e!]);
  }
  return { scores, embedding };
}

/** The card's per-epoch columns on one split (besides nce_acc, which is a training number). */
export interface StudentSplitMetrics {
  cos: number;
  r1: number;
  map: number;
  f1Micro: number;
  f1Macro: number;
  activeAnchors: number | null;
}

/** cos to the targets, R@1 against them, macro mAP, F1 at 0.5 (micro, macro) and the soup anchors the rows use. */
export async function studentSplitMetrics(
  out: { scores: Float32Array; embedding: Float32Array },
  s: StudentData,
  soup: BaseTierSoup | null,
): Promise<StudentSplitMetrics> {
  const f1 = multiLabelF1(out.scores, s.labels, s.classes);
  return {
    cos: meanCosine(out.embedding, s.targets, s.dim),
    r1: recallAt1(out.embedding, s.targets, s.dim),
    map: meanAveragePrecision(out.scores, s.labels, s.classes).map,
    f1Micro: f1.micro,
    f1Macro: f1.macro,
    activeAnchors: soup === null ? null : await activeAnchors(out.embedding, s.dim, soup),
  };
}

/** How many of the soup's anchors are the nearest anchor of at least one row of `embedding` `[N·K]`. */
export async function activeAnchors(embedding: Float32Array, dim: number, soup: BaseTierSoup): Promise<number> {
  const e = tf.tensor2d(embedding, [embedding.length / dim, dim]);
  try {
    return (await anchorUtilisationAsync(e, soup.constellation)).active;
  } finally {
    e.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Model selection
// ---------------------------------------------------------------------------------------------

/** A host copy of a model's weights (for keeping the best-on-validation state). */
export async function snapshotWeights(weights: Record<string, tf.Variable>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of Object.entries(weights)) out.set(k, Float32Array.from((await v.data()) as Float32Array));
  return out;
}

/** Writes a {@link snapshotWeights} copy back. */
export function restoreWeights(weights: Record<string, tf.Variable>, snapshot: Map<string, Float32Array>): void {
  for (const [k, v] of Object.entries(weights)) {
    const data = snapshot.get(k);
    if (data === undefined) throw new InvalidArgumentError('restoreWeights', 'snapshot', `has no entry '${k}'`);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  }
}
