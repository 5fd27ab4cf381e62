// The Run 12 part of `fmnist-vit` (issue 21, docs/gal.md): the geometric arbitration tower on the Dual-Stream ViT's two
// streams (geo and std embeddings) as experts, GAL over a FIFO queue of their past embeddings, the queue-refitted
// whitened-Procrustes alignment, anchors "from 0", and the guidance phase. The config block `tower` (null: off).
import * as tf from '@tensorflow/tfjs-core';
import { ArbitrationTower, TOWER_ANCHOR_INITS } from '@geolip/anchors';
import type { ArbitrationTowerOutput, TowerAnchorInit } from '@geolip/anchors';
import { sampleSimplexIndices } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { stopGradient } from '@geolip/geometry/internal';
import { EmbeddingQueue, galLoss, infoNCE } from '@geolip/train';
import type { ConfigReader, EmbeddingQueueState } from '@geolip/train';

/** GAL's options in the `tower.gal` block. */
interface TowerGalConfig {
  /** Weight of GAL in the loss; 0 = GAL off (the ablation). */
  weight: number;
  /** Rows the queue must hold before GAL (and the first refit) starts: the warm-up. */
  warmup: number;
  /** Simplices (pentachora) sampled from queue ∪ batch per step. */
  simplices: number;
  volume: number;
  cv: number;
  cm: number;
  /** The CV target, or null for the experts' own CV over the same simplices. */
  cvTarget: number | null;
}

/** The guidance phase in the `tower.guidance` block. */
interface TowerGuidanceConfig {
  /** Weight of the guidance loss (1 − cos of each aligned stream to the tower's embedding). */
  weight: number;
  /**
   * `'epoch'`: on from `epoch` (a schedule); `'mastery'`: on at the first evaluation where the tower's validation
   * accuracy is ≥ the best stream's − `margin`; `'off'`: never (the ablation).
   */
  start: 'epoch' | 'mastery' | 'off';
  epoch: number;
  margin: number;
}

/** The validated `tower` block of an `fmnist-vit` config. */
export interface FmnistTowerConfig {
  /** Hidden width of the tower's residual MLP. */
  hidden: number;
  /** `'zero'` ("from 0", filled once from queue class means), `'zero-running'`, or `'random'` (the ablation). */
  anchorInit: TowerAnchorInit;
  temperature: number;
  /** Weight of the tower's CE on its anchor logits. */
  ce: number;
  /** Weight of the tower's InfoNCE between the two views' tower embeddings. */
  infoNCE: number;
  /** The tower's own losses (CE, InfoNCE, GAL) do not reach the streams. */
  detach: boolean;
  /** Capacity of the FIFO queue (rows). */
  queue: number;
  /** Refit the alignment and fill anchors every N steps (once the queue holds `gal.warmup` rows). */
  refitEvery: number;
  /** Rows of a class in the queue before its anchor is filled. */
  minClassRows: number;
  /** The frame the streams are aligned into: expert 0 (the geo stream), or the tower's own embedding. */
  alignTo: 'expert0' | 'tower';
  gal: TowerGalConfig;
  guidance: TowerGuidanceConfig;
}

/** The defaults of the `tower` block (every [INFER]: docs/gal.md). */
export const TOWER_DEFAULTS: FmnistTowerConfig = Object.freeze({
  hidden: 256,
  anchorInit: 'zero',
  temperature: 0.1,
  ce: 1,
  infoNCE: 0.1,
  detach: true,
  queue: 4096,
  refitEvery: 100,
  minClassRows: 32,
  alignTo: 'expert0',
  gal: Object.freeze({ weight: 1, warmup: 1024, simplices: 256, volume: 1, cv: 1, cm: 0.1, cvTarget: null }),
  guidance: Object.freeze({ weight: 0.1, start: 'epoch', epoch: 10, margin: 0 }),
}) as FmnistTowerConfig;

const GAL_KEYS = Object.keys(TOWER_DEFAULTS.gal);
const GUIDANCE_KEYS = Object.keys(TOWER_DEFAULTS.guidance);

/** Reads the `tower` field: absent or null → null (no tower); an object merges over {@link TOWER_DEFAULTS}. */
export function readTowerConfig(R: ConfigReader, o: Record<string, unknown>): FmnistTowerConfig | null {
  if (o.tower === undefined || o.tower === null || o.tower === false) return null;
  const t = R.object(o, 'tower') ?? {};
  R.keys(t, Object.keys(TOWER_DEFAULTS), 'tower');
  const d = TOWER_DEFAULTS;
  const g = R.object(t, 'gal', 'tower') ?? {};
  R.keys(g, GAL_KEYS, 'tower.gal');
  const u = R.object(t, 'guidance', 'tower') ?? {};
  R.keys(u, GUIDANCE_KEYS, 'tower.guidance');
  const cvTarget = g.cvTarget === undefined || g.cvTarget === null ? null : R.num(g, 'cvTarget', '>0', 0, 'tower.gal');
  return {
    hidden: R.num(t, 'hidden', 'int>0', d.hidden, 'tower'),
    anchorInit: R.choice(t, 'anchorInit', TOWER_ANCHOR_INITS, d.anchorInit, 'tower'),
    temperature: R.num(t, 'temperature', '>0', d.temperature, 'tower'),
    ce: R.num(t, 'ce', '>=0', d.ce, 'tower'),
    infoNCE: R.num(t, 'infoNCE', '>=0', d.infoNCE, 'tower'),
    detach: R.bool(t, 'detach', d.detach, 'tower'),
    queue: R.num(t, 'queue', 'int>0', d.queue, 'tower'),
    refitEvery: R.num(t, 'refitEvery', 'int>0', d.refitEvery, 'tower'),
    minClassRows: R.num(t, 'minClassRows', 'int>0', d.minClassRows, 'tower'),
    alignTo: R.choice(t, 'alignTo', ['expert0', 'tower'] as const, d.alignTo, 'tower'),
    gal: {
      weight: R.num(g, 'weight', '>=0', d.gal.weight, 'tower.gal'),
      warmup: R.num(g, 'warmup', 'int>0', d.gal.warmup, 'tower.gal'),
      simplices: R.num(g, 'simplices', 'int>0', d.gal.simplices, 'tower.gal'),
      volume: R.num(g, 'volume', '>=0', d.gal.volume, 'tower.gal'),
      cv: R.num(g, 'cv', '>=0', d.gal.cv, 'tower.gal'),
      cm: R.num(g, 'cm', '>=0', d.gal.cm, 'tower.gal'),
      cvTarget,
    },
    guidance: {
      weight: R.num(u, 'weight', '>=0', d.guidance.weight, 'tower.guidance'),
      start: R.choice(u, 'start', ['epoch', 'mastery', 'off'] as const, d.guidance.start, 'tower.guidance'),
      epoch: R.num(u, 'epoch', '>=0', d.guidance.epoch, 'tower.guidance'),
      margin: R.num(u, 'margin', '>=0', d.guidance.margin, 'tower.guidance'),
    },
  };
}

/** The tower's per-step values read after the step: [train hits (mean), GAL, GAL's CM validity, GAL's CV]. */
export interface TowerPending {
  stats: tf.Tensor1D;
  gal: boolean;
  /** `[E]` the step's detached expert embeddings (view 1), for the queue. */
  experts: tf.Tensor2D[];
  labels: Int32Array;
}

/** Sums since the last evaluation. */
interface TowerSums {
  hits: number;
  seen: number;
  gal: number;
  galValidity: number;
  galCv: number;
  galSteps: number;
}

const zeroSums = (): TowerSums => ({ hits: 0, seen: 0, gal: 0, galValidity: 0, galCv: 0, galSteps: 0 });

/** The checkpointed state of a {@link TowerRun} (the tower's parameters travel with the model's weights). */
export interface TowerRunState {
  queue: EmbeddingQueueState;
  steps: number;
  guidanceStep: number | null;
  cosines: (number | null)[] | null;
  refits: number;
  sums: TowerSums;
  align: { linear: number[]; bias: number[] }[];
  /** The anchors at the last refit when they are not parameters (`'zero-running'`), else null. */
  anchors: number[] | null;
  /** `[K]` 1 for an active anchor. */
  active: number[];
}

/** Validation-pass values of the tower (see {@link TowerRun.evalBatch}). */
export interface TowerEvalSums {
  hits: number;
  combinedHits: number;
  /** `[E]` Σ over images of cos(aligned expert, tower embedding). */
  cos: number[];
}

/**
 * The tower, its queue and its schedule during one `fmnist-vit` run: the loss terms of a step, the queue update and
 * refits after it, the guidance switch, the per-evaluation metrics and the checkpointed state.
 */
export class TowerRun {
  readonly tower: ArbitrationTower;
  queue: EmbeddingQueue;
  steps = 0;
  guidanceStep: number | null = null;
  /** Each stream's cosine to the target frame at the last refit (null: not refitted, e.g. expert 0). */
  cosines: (number | null)[] | null = null;
  refits = 0;
  sums: TowerSums = zeroSums();
  /** The alignment maps (and `'zero-running'` anchors) as of the last refit, for {@link TowerRun.state}. */
  private saved: { align: { linear: number[]; bias: number[] }[]; anchors: number[] | null };

  constructor(
    readonly cfg: FmnistTowerConfig,
    dims: number[],
    classes: number,
    seed: number,
    private readonly stepsPerEpoch: number,
  ) {
    this.tower = new ArbitrationTower(
      {
        experts: dims,
        dim: Math.min(...dims),
        hidden: cfg.hidden,
        classes,
        anchorInit: cfg.anchorInit,
        temperature: cfg.temperature,
      },
      { seed: seed + 12 },
    );
    this.queue = new EmbeddingQueue({ capacity: cfg.queue, dims });
    const d = this.tower.config.dim;
    this.saved = {
      align: dims.map((de) => ({
        linear: Array.from({ length: de * d }, (_, i) => (Math.floor(i / d) === i % d ? 1 : 0)),
        bias: new Array<number>(d).fill(0),
      })),
      anchors: this.tower.anchorsTrainable ? null : new Array<number>(classes * d).fill(0),
    };
    if (cfg.guidance.start === 'epoch' && cfg.guidance.epoch === 0 && cfg.guidance.weight > 0) this.guidanceStep = 0;
  }

  get guidanceOn(): boolean {
    return this.guidanceStep !== null;
  }

  /** The tower's trainable parameters, named `tower.*` (the anchors only when they are trained by gradient). */
  weights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const [k, v] of Object.entries(this.tower.getWeights()))
      if (this.tower.anchorsTrainable || !k.startsWith('constellation.')) out[`tower.${k}`] = v;
    return out;
  }

  /**
   * The tower's loss terms for one step (inside the trainer's tidy) and what afterStep needs.
   * @param experts - `[E]` the streams' embeddings of view 1 (live). @param experts2 - of view 2, or undefined.
   */
  terms(
    experts: tf.Tensor2D[],
    experts2: tf.Tensor2D[] | undefined,
    labels: Int32Array,
    rng: Rng,
  ): { terms: tf.Tensor[]; pending: TowerPending; out: ArbitrationTowerOutput } {
    const { cfg, tower } = this;
    const terms: tf.Tensor[] = [];
    const out = tower.forward(experts, { detach: cfg.detach });
    // CE over the rows whose class anchor is active (an inactive anchor has a constant logit).
    const active = tower.activeMask();
    const w = Float32Array.from(labels, (y) => active[y]!);
    const counted = w.reduce((a, b) => a + b, 0);
    if (cfg.ce > 0 && counted > 0) {
      const logp = tf.logSoftmax(out.logits, 1);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(labels, 'int32'), out.logits.shape[1])), 1);
      terms.push(tf.mul(cfg.ce, tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(w)))), counted)));
    }
    if (cfg.infoNCE > 0 && experts2) {
      const z2 = tower.forward(experts2, { detach: cfg.detach }).emb;
      terms.push(tf.mul(cfg.infoNCE, infoNCE(out.emb, z2, { temperature: 0.07 }).loss));
    }
    let gal: ReturnType<typeof galLoss> | undefined;
    if (cfg.gal.weight > 0 && this.queue.size >= cfg.gal.warmup) {
      gal = this.gal(experts, rng);
      terms.push(tf.mul(cfg.gal.weight, gal.loss));
    }
    if (this.guidanceOn && cfg.guidance.weight > 0)
      terms.push(tf.mul(cfg.guidance.weight, tower.guidanceLoss(experts, out.emb)));
    const hits = tf.mean(tf.cast(tf.equal(tf.argMax(out.logits, 1), tf.tensor1d(labels, 'int32')), 'float32'));
    const zero = tf.scalar(0);
    const pending: TowerPending = {
      stats: tf.keep(
        tf.stack([hits, gal ? gal.loss : zero, gal ? gal.validity : zero, gal ? gal.cv : zero]),
      ) as tf.Tensor1D,
      gal: gal !== undefined,
      experts: experts.map((e) => tf.keep(tf.clone(stopGradient(e)))),
      labels,
    };
    return { terms, pending, out };
  }

  /**
   * GAL over the queue ∪ the batch: M pentachora sampled from the pool's rows; only the rows they use go through the
   * tower (queue rows are constants from the CPU; batch rows are the live experts read through a stop-gradient).
   */
  private gal(experts: tf.Tensor2D[], rng: Rng): ReturnType<typeof galLoss> {
    const q = this.queue.size;
    const b = experts[0]!.shape[0];
    const idx = sampleSimplexIndices(q + b, this.cfg.gal.simplices, 5, rng);
    const used = [...new Set(idx)].sort((x, y) => x - y);
    const where = new Map(used.map((r, i) => [r, i]));
    const fromQueue = used.filter((r) => r < q);
    const fromBatch = Int32Array.from(
      used.filter((r) => r >= q),
      (r) => r - q,
    );
    const pool = experts.map((e, k) => {
      const parts: tf.Tensor2D[] = [];
      if (fromQueue.length > 0)
        parts.push(tf.tensor2d(this.queue.gather(k, fromQueue), [fromQueue.length, this.queue.dims[k]!]));
      if (fromBatch.length > 0) parts.push(tf.gather(stopGradient(e), tf.tensor1d(fromBatch, 'int32')));
      return (parts.length === 1 ? parts[0]! : tf.concat(parts, 0)) as tf.Tensor2D;
    });
    const z = this.tower.forward(pool, { detach: true }).emb;
    const remapped = Int32Array.from(idx, (r) => where.get(r)!);
    const { volume, cv, cm, cvTarget } = this.cfg.gal;
    return galLoss(z, pool, remapped, 5, { volume, cv, cm, cvTarget });
  }

  /** After a step: the queue takes the step's expert embeddings; schedules; refits. */
  async afterStep(p: TowerPending): Promise<void> {
    const [stats, ...parts] = await Promise.all([p.stats.data(), ...p.experts.map((e) => e.data())]);
    tf.dispose([p.stats, ...p.experts]);
    this.queue.push(parts as Float32Array[], p.labels);
    this.steps++;
    const s = this.sums;
    s.hits += stats[0]! * p.labels.length;
    s.seen += p.labels.length;
    if (p.gal) {
      s.gal += stats[1]!;
      s.galValidity += stats[2]!;
      s.galCv += stats[3]!;
      s.galSteps++;
    }
    const g = this.cfg.guidance;
    if (!this.guidanceOn && g.start === 'epoch' && g.weight > 0 && this.steps >= g.epoch * this.stepsPerEpoch)
      this.guidanceStep = this.steps;
    if (this.steps % this.cfg.refitEvery === 0 && this.queue.size >= Math.max(this.cfg.gal.warmup, 2))
      await this.refit();
  }

  /** Refits every stream's alignment on the queue, then fills anchors from the queue's class means. */
  async refit(): Promise<void> {
    const parts = this.queue.dims.map((_, e) => this.queue.parts(e));
    const target = this.cfg.alignTo === 'expert0' ? parts[0]! : await this.embed(parts);
    // Aligned into expert 0's own frame, expert 0 keeps the identity (its fit onto itself).
    const only = this.cfg.alignTo === 'expert0' ? parts.map((_, e) => e).filter((e) => e > 0) : undefined;
    const fit = this.tower.refit(parts, target, only ? { only } : {});
    this.cosines = fit.cosines.map((c) => (Number.isFinite(c) ? c : null));
    this.tower.fillAnchors(await this.embed(parts), this.queue.labels(), this.cfg.minClassRows);
    this.refits++;
    const align = await this.tower.alignment();
    this.saved = {
      align: align.map((a) => ({ linear: Array.from(a.linear), bias: Array.from(a.bias) })),
      anchors: this.tower.anchorsTrainable ? null : Array.from(await this.tower.constellation.anchors.data()),
    };
  }

  /** The tower's embeddings of N rows given as E parts (in chunks of 1024). */
  private async embed(parts: Float32Array[]): Promise<Float32Array> {
    const dims = this.queue.dims;
    const n = parts[0]!.length / dims[0]!;
    const d = this.tower.config.dim;
    const out = new Float32Array(n * d);
    for (let s = 0; s < n; s += 1024) {
      const m = Math.min(1024, n - s);
      const z = tf.tidy(
        () =>
          this.tower.forward(
            parts.map((p, e) => tf.tensor2d(p.subarray(s * dims[e]!, (s + m) * dims[e]!), [m, dims[e]!])),
          ).emb,
      );
      out.set(await z.data(), s * d);
      z.dispose();
    }
    return out;
  }

  /** Validation pass, one batch: tower accuracy, the combined prediction's, each stream's cosine to the tower. */
  evalBatch(
    experts: tf.Tensor2D[],
    streamLogits: tf.Tensor2D[],
  ): { pred: tf.Tensor; combined: tf.Tensor; cos: tf.Tensor; emb: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.tower.forward(experts);
      const probs = [...streamLogits, out.logits].map((l) => tf.softmax(l));
      const combined = tf.argMax(tf.addN(probs), 1);
      // [E, B] → sums per expert
      const cos = tf.stack(out.aligned.map((a) => tf.sum(tf.mul(a, out.emb))));
      return { pred: tf.argMax(out.logits, 1), combined, cos, emb: out.emb };
    });
  }

  /** The tower's metrics of one evaluation (and the guidance switch of `'mastery'`); resets the step sums. */
  epochMetrics(
    ev: TowerEvalSums,
    n: number,
    streamAcc: number[],
    cvs: { cv: number; classMean: number },
    step: number,
  ): Record<string, number> {
    const s = this.sums;
    this.sums = zeroSums();
    const towerAcc = ev.hits / n;
    const g = this.cfg.guidance;
    if (!this.guidanceOn && g.start === 'mastery' && g.weight > 0 && towerAcc >= Math.max(...streamAcc) - g.margin)
      this.guidanceStep = step;
    const m: Record<string, number> = {
      val_tower_acc: towerAcc,
      val_combined_acc: ev.combinedHits / n,
      tower_train_acc: s.seen > 0 ? s.hits / s.seen : NaN,
      queue_fill: this.queue.fill,
      tower_active_anchors: this.tower.activeAnchors,
      guidance_on: this.guidanceOn ? 1 : 0,
      tower_refits: this.refits,
      tower_val_cv: cvs.cv,
      tower_class_cv_mean: cvs.classMean,
    };
    ev.cos.forEach((c, e) => (m[`stream${e}_cos_to_tower`] = c / n));
    this.cosines?.forEach((c, e) => {
      if (c !== null) m[`stream${e}_refit_cos`] = c;
    });
    if (s.galSteps > 0) {
      m.gal = s.gal / s.galSteps;
      m.gal_cm_valid = s.galValidity / s.galSteps;
      m.gal_cv = s.galCv / s.galSteps;
    }
    for (const k of Object.keys(m)) if (!Number.isFinite(m[k])) delete m[k];
    return m;
  }

  /** The checkpointed state (synchronous: the maps and anchors are the copies taken at the last refit). */
  state(): TowerRunState {
    return {
      queue: this.queue.state(),
      steps: this.steps,
      guidanceStep: this.guidanceStep,
      cosines: this.cosines,
      refits: this.refits,
      sums: { ...this.sums },
      align: this.saved.align,
      anchors: this.saved.anchors,
      active: Array.from(this.tower.activeMask()),
    };
  }

  /**
   * Restores {@link TowerRun.state} after the model's weights (the tower's parameters included) are loaded; the
   * anchors are taken from the state only when they are not parameters (`'zero-running'`).
   */
  load(s: TowerRunState): void {
    this.queue = EmbeddingQueue.fromState(s.queue);
    this.steps = s.steps;
    this.guidanceStep = s.guidanceStep;
    this.cosines = s.cosines;
    this.refits = s.refits;
    this.sums = { ...zeroSums(), ...s.sums };
    s.align.forEach((a, e) => this.tower.setAlignment(e, a.linear, a.bias));
    if (!this.tower.anchorsTrainable && s.anchors !== null) {
      const a = this.tower.constellation.anchors;
      a.assign(tf.tensor2d(Float32Array.from(s.anchors), a.shape as [number, number]));
    }
    this.tower.setActiveMask(s.active);
    this.saved = { align: s.align, anchors: s.anchors };
  }

  dispose(): void {
    this.tower.dispose();
  }
}
