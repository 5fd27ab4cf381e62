/**
 * `BaseTierSoup`: the base-tier soup of the ViT x3 card (spec §3.6, §10.3): per-expert projectors into a
 * 128-d consensus space, a constellation of anchors, a patchwork over the triangulation and a multi-label
 * classifier. At {@link BASE_TIER_SOUP_CONFIG} (three 768-d experts) it has 799,952 parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ANCHOR_INITS, Constellation, Patchwork, geometricAutograd } from '@geolip/anchors';
import type { AnchorInit, GeometricAutogradOptions } from '@geolip/anchors';
import { InvalidArgumentError, ShapeError, toMatrix } from '@geolip/geometry';
import type { MatrixLike } from '@geolip/geometry';
import { Container, LayerNorm, Linear, Module, ModuleList, gelu } from '@geolip/nn';

import { checkPositiveIntegers, describeValue, l2Normalize } from './internal.js';

/** Sizes of a {@link BaseTierSoup}. */
export interface BaseTierSoupConfig {
  /** D_e, the feature width of each expert (one projector per entry; at least one). */
  expertDims: readonly number[];
  /** K, the consensus width (projector output, anchor dimension). */
  embedDim: number;
  /** A, the number of anchors; a multiple of `compartments`. */
  anchors: number;
  /** n_comp, patchwork compartments. */
  compartments: number;
  /** d_comp, the output width of each compartment. */
  compartmentDim: number;
  /** Classifier hidden width. */
  hiddenDim: number;
  /** Number of labels (multi-label: one logit each, for BCE). */
  classes: number;
  /** Classifier dropout probability, applied only with `forward(…, { training: true })`. Default 0 [INFER]. */
  dropout?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  eps?: number;
}

/**
 * The card's soup: three 768-d experts (CLIP-L/14, DINOv2-B/14, SigLIP-B/16-384), 128-d consensus,
 * 256 anchors, patchwork 8 × 64, classifier 640 → 512 → 80 (COCO): 799,952 parameters.
 */
export const BASE_TIER_SOUP_CONFIG: Readonly<BaseTierSoupConfig> = Object.freeze({
  expertDims: Object.freeze([768, 768, 768]),
  embedDim: 128,
  anchors: 256,
  compartments: 8,
  compartmentDim: 64,
  hiddenDim: 512,
  classes: 80,
});

/** Options of the {@link BaseTierSoup} constructor. */
export interface BaseTierSoupOptions {
  /** Seeds every initialization. Default 0. */
  seed?: number;
  /** Anchor initialization (spec §4.1). Default `'repulsion'`, the library default. */
  anchorInit?: AnchorInit;
}

/**
 * One expert's affine map into the consensus space, as `@geolip/train`'s consensus produces it: either
 * `weight` `[K, D_e]` (PyTorch `nn.Linear` layout, as in the consensus safetensors file) or `linear`
 * `[D_e, K]` (`ConsensusProjector.linear`), and `bias` `[K]`. Plain arrays, a float64 `Matrix` or a tensor.
 */
export interface ProjectorInit {
  weight?: MatrixLike;
  linear?: MatrixLike;
  bias: ArrayLike<number> | tf.Tensor1D;
}

/** Options of {@link BaseTierSoup.forward}. */
export interface BaseTierSoupForwardOptions {
  /** Training mode: classifier dropout (and the constellation's anchor dropout, 0 by default). Default false. */
  training?: boolean;
  /**
   * Geometric autograd on the fused embedding (spec §7): identity forward, tangent-projected and
   * anchor-separated backward against the soup's anchors. The card: `{ tangential: 0.01, separation: 1 }`.
   * Default: none.
   */
  autograd?: GeometricAutogradOptions;
}

/** What {@link BaseTierSoup.forward} returns: new tensors the caller disposes. */
export interface BaseTierSoupOutput {
  /** `[B, K]` the fused consensus embedding e = normalize(mean_e z_e), unit rows. */
  embedding: tf.Tensor2D;
  /** `[B, classes]` classifier logits (apply a sigmoid / BCE-with-logits). */
  logits: tf.Tensor2D;
  /** E × `[B, K]` the per-expert embeddings z_e = normalize(LN(Linear(x_e))), unit rows. */
  expertEmbeddings: tf.Tensor2D[];
  /** `[B, A]` the triangulation 1 − cos(e, anchors). */
  triangulation: tf.Tensor2D;
  /** `[B, n_comp·d_comp]` the patchwork output. */
  patchwork: tf.Tensor2D;
}

/**
 * The base-tier soup (spec §3.6, §10.3).
 *
 *     z_e  = normalize(LN_e(x_e W_e + b_e))                        per expert, [B, K]
 *     e    = normalize(mean_e z_e)                                  [B, K]          [INFER: the card's consensus]
 *     tri  = 1 − e Âᵀ                                                [B, A]          Â = rownorm(anchors)
 *     pw   = Patchwork(tri)                                          [B, n_comp·d_comp]
 *     logits = L2(drop(LN(GELU(L1(concat(pw, e))))))                [B, classes]
 *
 * Parameters at {@link BASE_TIER_SOUP_CONFIG} (spec §10.3 PARAM-FIT):
 *
 * | Part | Parameters |
 * |---|---|
 * | 3 projectors: Linear(768 → 128) + LayerNorm(128) | 3 × (98,432 + 256) = 296,064 |
 * | anchors 256 × 128 | 32,768 |
 * | patchwork 8 × (Linear(32 → 128) 4,224 + Linear(128 → 64) 8,256 + LN(64) 128) | 100,864 |
 * | classifier Linear(640 → 512) + LN(512) + Linear(512 → 80) | 328,192 + 1,024 + 41,040 = 370,256 |
 * | **total** | **799,952** |
 *
 * The anchors and the patchwork are `@geolip/anchors`' `Constellation` and `Patchwork` (squared ReLU).
 * The classifier reads concat(patchwork, embedding) = 640, the only input width in this family that fits
 * the count (spec §10.3). Whether the projector output is L2-normalized after its LN is [INFER] (it is here).
 *
 * Parameter names (`stateDict()`, PyTorch layout; the author's keys are unknown): `projectors.{e}.0.*`
 * (Linear), `projectors.{e}.1.*` (LayerNorm), `constellation.anchors` `[A, K]`,
 * `patchwork.compartments.{k}.{0,2,3}.*` (see `Patchwork.stateDict`), `classifier.0.*` (Linear),
 * `classifier.2.*` (LayerNorm), `classifier.4.*` (Linear): `nn.Sequential(Linear, GELU, LayerNorm, Dropout,
 * Linear)`. `getWeights()` (what an optimizer sees) holds the patchwork's stacked variables instead, as
 * `patchwork.stacked.{0.weight, 0.bias, 2.weight, 2.bias, 3.weight, 3.bias}` (`[n_comp, …]`). The constellation
 * and the patchwork are child modules (both `nn` `Module`s); the patchwork maps its stacked storage to the
 * per-compartment names itself.
 *
 * @example
 * const soup = new BaseTierSoup(BASE_TIER_SOUP_CONFIG, { seed: 0 });
 * soup.paramCount();                                  // 799,952
 * soup.initProjectors(consensus.projectors);          // from @geolip/train's buildConsensus (plain arrays)
 * const { embedding, logits } = soup.forward([clip, dino, siglip]); // [B, 128], [B, 80]
 */
export class BaseTierSoup extends Module {
  readonly config: Readonly<BaseTierSoupConfig & { dropout: number; eps: number }>;
  /** The anchors (owned by the soup: do not dispose it separately). */
  readonly constellation: Constellation;
  /** The compartments (owned by the soup). */
  readonly patchworkLayer: Patchwork;
  private readonly projectorLinears: Linear[] = [];
  private readonly projectorNorms: LayerNorm[] = [];
  private readonly cls0: Linear;
  private readonly cls2: LayerNorm;
  private readonly cls4: Linear;

  /**
   * @throws {InvalidArgumentError} for a size that is not a positive integer (naming `config.<key>`), no
   *   experts, anchors not a multiple of compartments, or a dropout outside [0, 1).
   */
  constructor(config: BaseTierSoupConfig = BASE_TIER_SOUP_CONFIG, options: BaseTierSoupOptions = {}) {
    super();
    const op = 'BaseTierSoup';
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError(op, 'config', `must be an object, got ${describeValue(config)}`);
    checkPositiveIntegers(op, config, [
      'embedDim',
      'anchors',
      'compartments',
      'compartmentDim',
      'hiddenDim',
      'classes',
    ]);
    if (!Array.isArray(config.expertDims) || config.expertDims.length < 1) {
      throw new InvalidArgumentError(
        op,
        'config.expertDims',
        `must be a non-empty array of widths, got ${describeValue(config.expertDims)}`,
      );
    }
    config.expertDims.forEach((w, i) => {
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 1)
        throw new InvalidArgumentError(op, `config.expertDims[${i}]`, `must be a positive integer, got ${String(w)}`);
    });
    if (config.anchors % config.compartments !== 0) {
      throw new InvalidArgumentError(
        op,
        'config.anchors',
        `must be a multiple of config.compartments=${config.compartments}, got ${config.anchors}`,
      );
    }
    const dropout = config.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
      throw new InvalidArgumentError(op, 'config.dropout', `must be in [0, 1), got ${String(dropout)}`);
    const eps = config.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0))
      throw new InvalidArgumentError(op, 'config.eps', `must be a positive number, got ${String(eps)}`);
    const anchorInit = options.anchorInit ?? 'repulsion';
    if (!ANCHOR_INITS.includes(anchorInit))
      throw new InvalidArgumentError(
        op,
        'options.anchorInit',
        `must be one of ${ANCHOR_INITS.join(', ')}, got ${String(anchorInit)}`,
      );
    this.config = Object.freeze({ ...config, expertDims: Object.freeze([...config.expertDims]), dropout, eps });
    const seed = options.seed ?? 0;
    const K = config.embedDim;

    const projectors = this.addModule('projectors', new ModuleList<Container>());
    config.expertDims.forEach((width, e) => {
      const p = projectors.append(new Container());
      this.projectorLinears.push(p.add('0', new Linear(width, K, { seed: seed + 10 + e })));
      this.projectorNorms.push(p.add('1', new LayerNorm(K, { eps })));
    });
    this.constellation = this.addModule(
      'constellation',
      new Constellation({ anchors: config.anchors, dim: K, init: anchorInit, seed: seed + 1 }),
    );
    this.patchworkLayer = this.addModule(
      'patchwork',
      new Patchwork({
        anchors: config.anchors,
        compartments: config.compartments,
        compartmentDim: config.compartmentDim,
        seed: seed + 2,
      }),
    );
    const classifier = this.addModule('classifier', new Container());
    const inWidth = this.patchworkLayer.outputDim + K;
    this.cls0 = classifier.add('0', new Linear(inWidth, config.hiddenDim, { seed: seed + 3 }));
    this.cls2 = classifier.add('2', new LayerNorm(config.hiddenDim, { eps }));
    this.cls4 = classifier.add('4', new Linear(config.hiddenDim, config.classes, { seed: seed + 4 }));
  }

  /** E, the number of experts. */
  get numExperts(): number {
    return this.config.expertDims.length;
  }

  /**
   * Runs the soup on one batch of pooled expert features.
   * @param expertFeatures - E tensors, expert e `[B, D_e]` float32 (same B for all, in config order).
   * @returns see {@link BaseTierSoupOutput}: new tensors, the caller disposes them.
   * @throws {InvalidArgumentError} if `expertFeatures` is not an array of E float32 tensors.
   * @throws {ShapeError} naming `expertFeatures[e]` if it is not `[B, D_e]` with the first tensor's B.
   */
  forward(expertFeatures: readonly tf.Tensor2D[], options: BaseTierSoupForwardOptions = {}): BaseTierSoupOutput {
    const op = 'BaseTierSoup.forward';
    this.assertLive('forward');
    this.checkFeatures(op, expertFeatures);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
    const training = options.training ?? false;
    const out = tf.tidy(() => {
      const expertEmbeddings = expertFeatures.map((x, e) =>
        l2Normalize(this.projectorNorms[e]!.forward(this.projectorLinears[e]!.forward(x))),
      );
      let embedding = l2Normalize(tf.div(tf.addN(expertEmbeddings), expertEmbeddings.length) as tf.Tensor2D);
      if (options.autograd !== undefined)
        embedding = geometricAutograd(embedding, this.constellation, options.autograd);
      return { embedding, ...this.head(embedding, training), expertEmbeddings };
    });
    return out;
  }

  /**
   * The soup after its projectors: constellation → patchwork → classifier on a given embedding (spec §8.3,
   * "BCE through the frozen soup": a student's unit embedding goes through the soup's anchors, patchwork and
   * classifier). `forward` is `classify(normalize(mean_e z_e))` plus the projectors.
   *
   *     tri = 1 − e Âᵀ,   pw = Patchwork(tri),   logits = L2(drop(LN(GELU(L1(concat(pw, e))))))
   *
   * Gradients flow to `embedding` (and to the soup's weights, which a caller that keeps the soup frozen simply
   * leaves out of its optimizer's variable list).
   * @param embedding - `[B, K]` float32 embeddings (unit rows, as the fused embedding; not renormalized here).
   * @param options - `training` (dropout; default false) and `autograd` (geometric autograd on `embedding`
   *   against the soup's anchors before it is used; default none).
   * @returns `{ triangulation [B, A], patchwork [B, n_comp·d_comp], logits [B, classes] }`, new tensors.
   * @throws {InvalidArgumentError} if `embedding` is not a float32 tensor or `options` is not an object.
   * @throws {ShapeError} naming `embedding` if it is not `[B, K]`.
   */
  classify(
    embedding: tf.Tensor2D,
    options: BaseTierSoupForwardOptions = {},
  ): { triangulation: tf.Tensor2D; patchwork: tf.Tensor2D; logits: tf.Tensor2D } {
    const op = 'BaseTierSoup.classify';
    this.assertLive('classify');
    if (!(embedding instanceof tf.Tensor))
      throw new InvalidArgumentError(op, 'embedding', `must be a tf.Tensor, got ${describeValue(embedding)}`);
    const K = this.config.embedDim;
    if (embedding.rank !== 2 || embedding.shape[1] !== K)
      throw new ShapeError(op, 'embedding', `[B, K=${K}]`, embedding.shape);
    if (embedding.dtype !== 'float32')
      throw new InvalidArgumentError(op, 'embedding', `must have dtype float32, got ${embedding.dtype}`);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
    return tf.tidy(() => {
      const e =
        options.autograd !== undefined ? geometricAutograd(embedding, this.constellation, options.autograd) : embedding;
      return this.head(e, options.training ?? false);
    });
  }

  private head(
    embedding: tf.Tensor2D,
    training: boolean,
  ): { triangulation: tf.Tensor2D; patchwork: tf.Tensor2D; logits: tf.Tensor2D } {
    const triangulation = this.constellation.triangulate(embedding, { training });
    const patchwork = this.patchworkLayer.apply(triangulation);
    let h = this.cls2.forward(gelu(this.cls0.forward(tf.concat([patchwork, embedding], 1) as tf.Tensor2D)));
    if (training && this.config.dropout > 0) h = tf.dropout(h, this.config.dropout) as tf.Tensor2D;
    const logits = this.cls4.forward(h);
    return { triangulation, patchwork, logits };
  }

  /**
   * Sets the projectors' Linear layers from consensus projectors (spec §3.6 step 5: weight ← L_eᵀ,
   * bias ← b_e), e.g. `buildConsensus(…).projectors` of `@geolip/train` or the tensors of its consensus
   * file. Every entry is checked before anything changes. The LayerNorms keep their values.
   * @param projectors - E entries, in config order; see {@link ProjectorInit}.
   * @throws {InvalidArgumentError} for a wrong count, neither or both of `weight` / `linear`, or a bias
   *   that is not numbers.
   * @throws {ShapeError} naming `projectors[e].weight` (`[K, D_e]`), `projectors[e].linear` (`[D_e, K]`)
   *   or `projectors[e].bias` (`[K]`).
   * @throws {NonFiniteError} for NaN or ±Inf entries.
   */
  initProjectors(projectors: readonly ProjectorInit[]): void {
    const op = 'BaseTierSoup.initProjectors';
    this.assertLive('initProjectors');
    const E = this.numExperts;
    const K = this.config.embedDim;
    if (!Array.isArray(projectors) || projectors.length !== E) {
      throw new InvalidArgumentError(
        op,
        'projectors',
        `must be an array of ${E} projectors (one per expert), ` +
          `got ${Array.isArray(projectors) ? `${projectors.length}` : describeValue(projectors)}`,
      );
    }
    const values: { w: Float32Array; b: Float32Array }[] = projectors.map((p, e) => {
      const D = this.config.expertDims[e]!;
      const arg = `projectors[${e}]`;
      if (p === null || typeof p !== 'object')
        throw new InvalidArgumentError(op, arg, `must be an object, got ${describeValue(p)}`);
      if ((p.weight === undefined) === (p.linear === undefined))
        throw new InvalidArgumentError(op, arg, 'must have exactly one of weight [K, D_e] and linear [D_e, K]');
      const w = new Float32Array(D * K); // [D_e, K], this module's Linear layout
      if (p.weight !== undefined) {
        const m = toMatrix(op, `${arg}.weight`, p.weight);
        if (m.rows !== K || m.cols !== D)
          throw new ShapeError(op, `${arg}.weight`, `[K=${K}, D_e=${D}]`, [m.rows, m.cols]);
        for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) w[d * K + k] = m.data[k * D + d]!;
      } else {
        const m = toMatrix(op, `${arg}.linear`, p.linear!);
        if (m.rows !== D || m.cols !== K)
          throw new ShapeError(op, `${arg}.linear`, `[D_e=${D}, K=${K}]`, [m.rows, m.cols]);
        w.set(m.data);
      }
      let bias: ArrayLike<number>;
      if (p.bias instanceof tf.Tensor) {
        if (p.bias.rank !== 1) throw new ShapeError(op, `${arg}.bias`, `[K=${K}]`, p.bias.shape);
        bias = p.bias.dataSync();
      } else bias = p.bias;
      if (bias === null || typeof bias !== 'object' || typeof bias.length !== 'number')
        throw new InvalidArgumentError(
          op,
          `${arg}.bias`,
          `must be an array of ${K} numbers, got ${describeValue(bias)}`,
        );
      if (bias.length !== K) throw new ShapeError(op, `${arg}.bias`, `[K=${K}]`, [bias.length]);
      const b = Float32Array.from(bias);
      for (let i = 0; i < K; i++) {
        if (!Number.isFinite(bias[i]))
          throw new InvalidArgumentError(op, `${arg}.bias`, `must hold finite numbers, got ${String(bias[i])} at ${i}`);
      }
      return { w, b };
    });
    values.forEach(({ w, b }, e) => {
      const lin = this.projectorLinears[e]!;
      tf.tidy(() => {
        lin.weight.assign(tf.tensor2d(w, [this.config.expertDims[e]!, K]));
        lin.bias!.assign(tf.tensor1d(b));
      });
    });
  }

  private checkFeatures(op: string, features: unknown): void {
    const E = this.numExperts;
    if (!Array.isArray(features) || features.length !== E) {
      throw new InvalidArgumentError(
        op,
        'expertFeatures',
        `must be an array of ${E} tensors (one per expert), ` +
          `got ${Array.isArray(features) ? `${features.length}` : describeValue(features)}`,
      );
    }
    let batch = -1;
    features.forEach((x: unknown, e) => {
      const arg = `expertFeatures[${e}]`;
      const D = this.config.expertDims[e]!;
      if (!(x instanceof tf.Tensor))
        throw new InvalidArgumentError(op, arg, `must be a tf.Tensor, got ${describeValue(x)}`);
      const ok = x.rank === 2 && x.shape[1] === D && (batch < 0 || x.shape[0] === batch);
      if (!ok) throw new ShapeError(op, arg, `[B${batch < 0 ? '' : `=${batch}`}, D_${e}=${D}]`, x.shape);
      if (x.dtype !== 'float32') throw new InvalidArgumentError(op, arg, `must have dtype float32, got ${x.dtype}`);
      if (batch < 0) batch = x.shape[0]!;
    });
  }
}
