/**
 * `ViTEncoder`: the from-scratch GeoLIP ViT student (spec §10.2), built from `@geolip/nn` blocks: a patch
 * embedding (Conv2d, kernel = stride = patch), learned position embeddings, pre-norm transformer layers, a
 * final LayerNorm, a pooled readout, the head Linear(d, d) → GELU → LayerNorm(d) → Linear(d, out) and an
 * L2 normalization onto S^{out−1}. At {@link VIT_STUDENT_CONFIG} it has 11,216,768 parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import {
  Container,
  Conv2d,
  LayerNorm,
  Linear,
  Module,
  TransformerEncoder,
  gelu,
  normalInit,
  xavierUniform,
} from '@geolip/nn';

import { checkPositiveIntegers, describeValue, l2Normalize } from './internal.js';

/**
 * The readout of a {@link ViTEncoder}: the two layouts of spec §10.2 that both give 11,216,768 parameters.
 * - `'mean'` (layout B, default): no CLS token, positions for the N patches, an embedding LayerNorm after
 *   adding them, mean over the N patch states.
 * - `'cls'` (layout A): a learned CLS token prepended, positions for N + 1 tokens, no embedding LayerNorm,
 *   readout = the CLS state.
 */
export type VitPooling = 'mean' | 'cls';

/** The poolings {@link ViTEncoder} accepts. */
export const VIT_POOLINGS: readonly VitPooling[] = Object.freeze(['mean', 'cls']);

/** Initializations of {@link ViTEncoder}. */
export type VitInit = 'xavier' | 'pytorch';

/** Sizes of a {@link ViTEncoder}. */
export interface ViTEncoderConfig {
  /** Input height and width (square images), a multiple of `patchSize`. */
  imageSize: number;
  /** Patch side; the patch embedding is a Conv2d with kernel = stride = patchSize. */
  patchSize: number;
  /** Input channels (3 for RGB). */
  channels: number;
  /** d, the transformer width; a multiple of `heads`. */
  dModel: number;
  heads: number;
  /** FFN hidden width. */
  ffDim: number;
  layers: number;
  /** Width of the unit-norm output. */
  outDim: number;
  /** Readout layout. Default `'mean'` (spec §10.2 layout B). */
  pooling?: VitPooling;
  /** LayerNorm epsilon everywhere. Default 1e-5. */
  eps?: number;
}

/**
 * The card's student: 224 × 224 RGB, patch 16 (196 patches), d = 384, 6 heads, FFN 1536, 6 pre-norm layers,
 * 128-d output, layout B (mean pooling): 11,216,768 parameters.
 */
export const VIT_STUDENT_CONFIG: Readonly<ViTEncoderConfig> = Object.freeze({
  imageSize: 224,
  patchSize: 16,
  channels: 3,
  dModel: 384,
  heads: 6,
  ffDim: 1536,
  layers: 6,
  outDim: 128,
  pooling: 'mean',
});

/** Options of the {@link ViTEncoder} constructor. */
export interface ViTEncoderOptions {
  /** Seeds the initialization. Default 0. */
  seed?: number;
  /**
   * `'xavier'` (default, spec §10.2 "Xavier init"; the details are [INFER], as timm's ViT): every Linear
   * weight, the attention in-projection and the patch embedding (as the equivalent Linear(C·p², d)) are
   * Xavier-uniform, every bias 0, the position table (and the CLS token) N(0, 0.02²), LayerNorms 1 and 0.
   * `'pytorch'`: the `@geolip/nn` blocks' own PyTorch defaults.
   */
  init?: VitInit;
}

/**
 * The GeoLIP ViT student (spec §10.2).
 *
 *     p   = Conv2d(C → d, k = s = patch)(images)           [B, g, g, d],  g = imageSize / patch, N = g²
 *     x   = reshape(p, [B, N, d])
 *     'mean' (layout B):  x = emb_norm(x + pos[0:N]);          h = encoder(x);  pooled = mean_n h[:, n]
 *     'cls'  (layout A):  x = [cls; x] + pos[0:N+1];           h = encoder(x);  pooled = h[:, 0]
 *     y   = head.3(head.2(GELU(head.0(pooled))));   out = y / max(‖y‖, 1e-12)     [B, outDim]
 *
 * `encoder` = pre-norm layers (GELU FFN, biases everywhere) then a final LayerNorm.
 *
 * Parameters at {@link VIT_STUDENT_CONFIG} (layout B):
 *
 * | Part | Parameters |
 * |---|---|
 * | patch embedding Conv2d(3 → 384, 16, stride 16) | 295,296 |
 * | position table 196 × 384 | 75,264 |
 * | embedding LN + final LN | 1,536 |
 * | 6 layers × 1,774,464 | 10,646,784 |
 * | head Linear(384,384) + LN(384) + Linear(384,128) | 197,888 |
 * | **total** | **11,216,768** |
 *
 * Layout A swaps the position table for 197 × 384 (75,648), adds the CLS token (384) and drops the embedding
 * LN (−768): the same total.
 *
 * **Why layout B is the default** [INFER]: the card calls the student "the same architecture pattern as
 * CaptionBERT", which is mean pooling over the sequence with one extra LayerNorm (spec §10.1); the author's
 * checkpoint keys, which would settle it, were not available. Layout A is `pooling: 'cls'`.
 *
 * Parameter names (`stateDict()`, PyTorch layout; the author's keys are unknown): `patch_embed.weight`
 * `[d, C, p, p]`, `patch_embed.bias`, (`cls_token` `[1, 1, d]`), `emb_norm.*` (layout B),
 * `encoder.pos_emb.weight` `[N (+1), d]`, `encoder.layers.{i}.*` (PyTorch `nn.TransformerEncoderLayer`
 * names), `encoder.norm.*`, `head.0.*`, `head.2.*`, `head.3.*` (`nn.Sequential(Linear, GELU, LayerNorm,
 * Linear)`).
 *
 * @remarks
 * - Images are NHWC `[B, H, W, C]` float32 (tfjs's layout; PyTorch is NCHW: transpose when comparing).
 *   Normalization (mean/std) is the caller's: see `@geolip/vision/io`.
 * - No dropout (the card trains with none).
 * - Cost per image: O(N·layers·(N·d + d·ff)); stays on the active backend; differentiable; trains on cpu and
 *   wasm (the conv's weight gradient has a composed fallback there, see `Conv2d`).
 *
 * @example
 * const vit = new ViTEncoder(VIT_STUDENT_CONFIG, { seed: 0 });
 * vit.paramCount();                                    // 11,216,768
 * vit.forward(tf.zeros([2, 224, 224, 3])).shape;       // [2, 128], unit rows
 */
export class ViTEncoder extends Module {
  readonly config: Readonly<Required<Omit<ViTEncoderConfig, 'eps'>> & { eps: number }>;
  /** N, the number of patches. */
  readonly numPatches: number;
  private readonly patchEmbed: Conv2d;
  private readonly clsToken: tf.Variable | null;
  private readonly embNorm: LayerNorm | null;
  private readonly encoder: TransformerEncoder;
  private readonly head0: Linear;
  private readonly head2: LayerNorm;
  private readonly head3: Linear;

  /**
   * @throws {InvalidArgumentError} for a size that is not a positive integer (naming `config.<key>`), an
   *   image size that is not a multiple of the patch size, heads not dividing dModel, or an unknown pooling.
   */
  constructor(config: ViTEncoderConfig = VIT_STUDENT_CONFIG, options: ViTEncoderOptions = {}) {
    super();
    const op = 'ViTEncoder';
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError(op, 'config', `must be an object, got ${describeValue(config)}`);
    checkPositiveIntegers(op, config, [
      'imageSize',
      'patchSize',
      'channels',
      'dModel',
      'heads',
      'ffDim',
      'layers',
      'outDim',
    ]);
    if (config.imageSize % config.patchSize !== 0) {
      throw new InvalidArgumentError(
        op,
        'config.imageSize',
        `must be a multiple of config.patchSize=${config.patchSize}, got ${config.imageSize}`,
      );
    }
    if (config.dModel % config.heads !== 0)
      throw new InvalidArgumentError(
        op,
        'config.heads',
        `must divide config.dModel=${config.dModel}, got ${config.heads}`,
      );
    const pooling = config.pooling ?? 'mean';
    if (!VIT_POOLINGS.includes(pooling))
      throw new InvalidArgumentError(op, 'config.pooling', `must be 'mean' or 'cls', got ${String(pooling)}`);
    const eps = config.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0))
      throw new InvalidArgumentError(op, 'config.eps', `must be a positive number, got ${String(eps)}`);
    const init = options.init ?? 'xavier';
    if (init !== 'xavier' && init !== 'pytorch')
      throw new InvalidArgumentError(op, 'options.init', `must be 'xavier' or 'pytorch', got ${String(init)}`);
    this.config = Object.freeze({ ...config, pooling, eps });
    const g = config.imageSize / config.patchSize;
    this.numPatches = g * g;
    const seed = options.seed ?? 0;
    const d = config.dModel;

    this.patchEmbed = this.addModule(
      'patch_embed',
      new Conv2d(config.channels, d, config.patchSize, { stride: config.patchSize, seed }),
    );
    this.clsToken =
      pooling === 'cls' ? this.addParameter('cls_token', normalInit([1, 1, d], 0.02, createRng(seed + 4))) : null;
    this.embNorm = pooling === 'mean' ? this.addModule('emb_norm', new LayerNorm(d, { eps })) : null;
    this.encoder = this.addModule(
      'encoder',
      new TransformerEncoder({
        maxPositions: this.numPatches + (pooling === 'cls' ? 1 : 0),
        dModel: d,
        heads: config.heads,
        ffDim: config.ffDim,
        layers: config.layers,
        finalNorm: true,
        normFirst: true,
        activation: 'gelu',
        eps,
        seed: seed + 1,
      }),
    );
    const head = this.addModule('head', new Container());
    this.head0 = head.add('0', new Linear(d, d, { seed: seed + 2 }));
    this.head2 = head.add('2', new LayerNorm(d, { eps }));
    this.head3 = head.add('3', new Linear(d, config.outDim, { seed: seed + 3 }));
    if (init === 'xavier') this.xavierInit(seed + 5);
  }

  /**
   * Embeddings on the unit sphere.
   * @param images - `[B, imageSize, imageSize, channels]` float32 (NHWC).
   * @returns `[B, outDim]`, each row L2-normalized; one new tensor.
   * @throws {ShapeError} if `images` is not rank 4 with the configured size and channel count, naming `images`.
   * @throws {InvalidArgumentError} if `images` is not a float32 tensor.
   */
  forward(images: tf.Tensor4D): tf.Tensor2D {
    this.checkImages('ViTEncoder.forward', images);
    return tf.tidy(() => {
      const pooled = this.pool(images);
      const y = this.head3.forward(this.head2.forward(gelu(this.head0.forward(pooled))));
      return l2Normalize(y);
    });
  }

  /**
   * The pooled transformer state before the head (mean of the patch states, or the CLS state).
   * @param images - as {@link ViTEncoder.forward}.
   * @returns `[B, dModel]`; one new tensor.
   */
  features(images: tf.Tensor4D): tf.Tensor2D {
    this.checkImages('ViTEncoder.features', images);
    return tf.tidy(() => this.pool(images));
  }

  private pool(images: tf.Tensor4D): tf.Tensor2D {
    const batch = images.shape[0];
    const d = this.config.dModel;
    const patches = tf.reshape(this.patchEmbed.forward(images), [batch, this.numPatches, d]) as tf.Tensor3D;
    const posEmb = this.encoder.posEmb!;
    if (this.clsToken !== null) {
      const cls = tf.tile(this.clsToken, [batch, 1, 1]) as tf.Tensor3D;
      const h = this.encoder.encodeEmbeddings(posEmb.addTo(tf.concat([cls, patches], 1) as tf.Tensor3D));
      return tf.reshape(tf.slice(h, [0, 0, 0], [batch, 1, d]), [batch, d]) as tf.Tensor2D;
    }
    const h = this.encoder.encodeEmbeddings(this.embNorm!.forward(posEmb.addTo(patches)));
    return tf.mean(h, 1) as tf.Tensor2D;
  }

  private checkImages(op: string, images: unknown): void {
    this.assertLive(op.slice(op.indexOf('.') + 1));
    if (!(images instanceof tf.Tensor))
      throw new InvalidArgumentError(op, 'images', `must be a tf.Tensor, got ${describeValue(images)}`);
    const { imageSize: s, channels: c } = this.config;
    const expected = `[B, H=${s}, W=${s}, C=${c}] (NHWC)`;
    if (images.rank !== 4) throw new ShapeError(op, 'images', expected, images.shape, 'a batch of NHWC images');
    if (images.shape[3] !== c)
      throw new ShapeError(
        op,
        'images',
        expected,
        images.shape,
        `the model reads ${c} channel${c === 1 ? '' : 's'}, got ${images.shape[3]}`,
      );
    if (images.shape[1] !== s || images.shape[2] !== s)
      throw new ShapeError(op, 'images', expected, images.shape, `wrong image size: resize or crop to ${s}×${s}`);
    if (images.dtype !== 'float32')
      throw new InvalidArgumentError(op, 'images', `must have dtype float32, got ${images.dtype}`);
  }

  /** Xavier-uniform on every matrix (the patch conv as Linear(C·p², d)), zero biases, N(0, 0.02²) positions. */
  private xavierInit(seed: number): void {
    const rng = createRng(seed);
    for (const [name, v, layout] of this.namedParameters()) {
      let next: tf.Tensor | null = null;
      if (layout === 'linear') next = xavierUniform(v.shape, v.shape[0]!, v.shape[1]!, rng);
      else if (layout === 'conv2d') {
        const [kh, kw, cin, cout] = v.shape as [number, number, number, number];
        next = xavierUniform(v.shape, kh * kw * cin, cout, rng);
      } else if (name === 'encoder.pos_emb.weight') next = normalInit(v.shape, 0.02, rng);
      else if (name.endsWith('bias')) next = tf.zeros(v.shape);
      if (next !== null) {
        v.assign(next);
        next.dispose();
      }
    }
  }
}
