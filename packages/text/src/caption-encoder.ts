/**
 * `CaptionEncoder`: the CaptionBERT sentence encoder of the seed card (spec §10.1), built from `@geolip/nn`
 * blocks: token + learned position embeddings, pre-norm transformer layers with a key-padding mask, a final
 * LayerNorm, masked mean pooling, the head Linear(d, d) → GELU → LayerNorm(d) → Linear(d, out), L2 normalize.
 * At the card's config it has 25,958,016 parameters. Optionally (config `anchorBank`, spec §6) an
 * `AnchorBank` of `@geolip/anchors` appends its geometric feature: 768 + 128 = 896 at the card's config.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AnchorBank } from '@geolip/anchors';
import type { AnchorBankConfig } from '@geolip/anchors';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { Container, LayerNorm, Linear, Module, TransformerEncoder, gelu, maskedMeanPool } from '@geolip/nn';
import { entryToTensor, readSafetensors, readTorchStateDict } from '@geolip/io';
import type { BinarySource, SafetensorEntry } from '@geolip/io';

import { CAPTION_ENCODER_TYPE, textModels } from './models.js';

/** Sizes of a {@link CaptionEncoder}. */
export interface CaptionEncoderConfig {
  vocabSize: number;
  maxPositions: number;
  dModel: number;
  heads: number;
  ffDim: number;
  layers: number;
  outDim: number;
  /** Padding token id (its embedding row starts at zero). Default 0, BERT's `[PAD]`. */
  paddingIdx?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  eps?: number;
  /**
   * The AnchorBank-anchored variant (spec §6): an `AnchorBank` of `@geolip/anchors` on the student embedding,
   * whose feature is appended to it, so `forward` returns `[B, outDim + bankDim]`. `false` or absent (default):
   * no bank, `forward` returns `[B, outDim]`. `{}` is the card's bank ({@link CAPTION_BERT_BANK_CONFIG} values
   * are the bank's own defaults: 5 experts, 512 anchors, bankDim 128, CV target 0.082). `inputDim` defaults
   * to (and must equal) `outDim`; `seed` defaults to the encoder's seed + 3.
   */
  anchorBank?: AnchorBankConfig | false;
}

/** The card's configuration: 30,522 vocab, 8,192 positions, d=384, 6 heads, FFN 1536, 6 layers, 768 out. */
export const CAPTION_BERT_CONFIG: Readonly<CaptionEncoderConfig> = Object.freeze({
  vocabSize: 30522,
  maxPositions: 8192,
  dModel: 384,
  heads: 6,
  ffDim: 1536,
  layers: 6,
  outDim: 768,
});

/**
 * CaptionBERT v2, the upstream successor of the seed card's model (its card: 12 layers, 512-d, 8 heads, FFN 2048,
 * 8,192 positions, 768-d output, "about 58.3M" parameters): the v1 architecture ({@link CAPTION_BERT_CONFIG}) at
 * these sizes, exactly **58,308,864** parameters ({@link captionEncoderParamCount}, tested), which the card's 58.3M
 * rounds. The 30,522-token BERT-uncased vocabulary is [INFER] (v1's; the v2 card does not restate it).
 */
export const CAPTION_BERT_V2_CONFIG: Readonly<CaptionEncoderConfig> = Object.freeze({
  vocabSize: 30522,
  maxPositions: 8192,
  dModel: 512,
  heads: 8,
  ffDim: 2048,
  layers: 12,
  outDim: 768,
});

/**
 * The parameter count of a {@link CaptionEncoder} without the AnchorBank, from its sizes alone (nothing is
 * allocated): with V = vocabSize, P = maxPositions, d = dModel, f = ffDim, L = layers, o = outDim,
 *
 *     (V + P)·d                                   token and position embeddings
 *   + L·(4d² + 4d  +  2df + d + f  +  4d)         per layer: attention (in_proj 3d² + 3d, out_proj d² + d),
 *                                                 FFN (d·f + f + f·d + d), two LayerNorms (4d)
 *   + 2d                                          final LayerNorm
 *   + (d² + d) + 2d + (d·o + o)                   head: Linear(d, d), LayerNorm(d), Linear(d, o)
 *
 * `heads` does not change the count. {@link CAPTION_BERT_CONFIG}: 25,958,016; {@link CAPTION_BERT_V2_CONFIG}:
 * 58,308,864. Equal to `new CaptionEncoder(config).paramCount()` (tested on small configs and the card's).
 *
 * @throws {InvalidArgumentError} naming `config.<field>` for a size that is not a positive integer, or
 *   `config.anchorBank` when a bank is configured (its count depends on the bank's own options).
 */
export function captionEncoderParamCount(config: CaptionEncoderConfig): number {
  const op = 'captionEncoderParamCount';
  if (config === null || typeof config !== 'object') throw new InvalidArgumentError(op, 'config', 'must be an object');
  for (const k of ['vocabSize', 'maxPositions', 'dModel', 'heads', 'ffDim', 'layers', 'outDim'] as const) {
    const v = config[k];
    if (!Number.isInteger(v) || v < 1)
      throw new InvalidArgumentError(op, `config.${k}`, `must be a positive integer, got ${String(v)}`);
  }
  if (config.anchorBank !== undefined && config.anchorBank !== false)
    throw new InvalidArgumentError(
      op,
      'config.anchorBank',
      'is not counted here: build the model and use paramCount()',
    );
  const { vocabSize: V, maxPositions: P, dModel: d, ffDim: f, layers: L, outDim: o } = config;
  const layer = 4 * d * d + 4 * d + (2 * d * f + d + f) + 4 * d;
  return (V + P) * d + L * layer + 2 * d + (d * d + d) + 2 * d + (d * o + o);
}

/**
 * The card's bank (`config.json`: `bank_n_experts=5`, `bank_n_anchors=512`, `bank_dim=128`,
 * `bank_cv_target=0.082`), the same values as `AnchorBank`'s defaults: use it as
 * `{ ...CAPTION_BERT_CONFIG, anchorBank: CAPTION_BERT_BANK_CONFIG }` (26,203,904 parameters).
 */
export const CAPTION_BERT_BANK_CONFIG: Readonly<AnchorBankConfig> = Object.freeze({
  bankDim: 128,
  experts: 5,
  anchors: 512,
  cvTarget: 0.082,
});

/**
 * The CaptionBERT encoder. Parameter names (`stateDict()`, PyTorch layout; [INFER]: the author's state-dict
 * keys are unknown): `encoder.token_emb.weight`, `encoder.pos_emb.weight`, `encoder.layers.{i}.*` (PyTorch
 * `nn.TransformerEncoderLayer` names), `encoder.norm.*`, `head.0.*` (Linear), `head.2.*` (LayerNorm),
 * `head.3.*` (Linear): the names of a PyTorch module with `encoder` and `head = nn.Sequential(Linear, GELU,
 * LayerNorm, Linear)`.
 *
 * With `config.anchorBank` the bank's variables follow under `bank.` (`bank.projection.weight`,
 * `bank.projection.bias`, `bank.rotations.{e}`, `bank.anchors`, …; the `AnchorBank` is a child module), and
 * {@link CaptionEncoder.anchorBank} exposes the bank for its losses.
 *
 * @example
 * const model = new CaptionEncoder({ ...CAPTION_BERT_CONFIG, layers: 2 });
 * const tok = await loadBertUncasedTokenizer();
 * const { inputIds, attentionMask } = toTensors(tok.encodeBatch(['a dog runs', 'a cat sleeps']));
 * const emb = model.forward(inputIds, attentionMask); // [2, 768], unit rows
 */
export class CaptionEncoder extends Module {
  readonly config: Readonly<CaptionEncoderConfig>;
  private readonly encoder: TransformerEncoder;
  private readonly head0: Linear;
  private readonly head2: LayerNorm;
  private readonly head3: Linear;
  private readonly bank: AnchorBank | null;

  /** @throws {InvalidArgumentError} for a size that is not a positive integer or heads not dividing dModel. */
  constructor(config: CaptionEncoderConfig = CAPTION_BERT_CONFIG, options: { seed?: number } = {}) {
    super();
    const op = 'CaptionEncoder';
    if (config === null || typeof config !== 'object')
      throw new InvalidArgumentError(op, 'config', 'must be an object');
    for (const k of ['vocabSize', 'maxPositions', 'dModel', 'heads', 'ffDim', 'layers', 'outDim'] as const) {
      const v = config[k];
      if (!Number.isInteger(v) || v < 1)
        throw new InvalidArgumentError(op, `config.${k}`, `must be a positive integer, got ${String(v)}`);
    }
    this.config = Object.freeze({ ...config });
    const seed = options.seed ?? 0;
    // The bank is built (and its config checked) before any encoder variable exists, so a bad bank
    // config leaks nothing; it is registered last, so `bank.*` names follow the encoder's.
    const bank = buildBank(op, config, seed);
    const head = new Container();
    this.encoder = this.addModule(
      'encoder',
      new TransformerEncoder({
        vocabSize: config.vocabSize,
        maxPositions: config.maxPositions,
        dModel: config.dModel,
        heads: config.heads,
        ffDim: config.ffDim,
        layers: config.layers,
        paddingIdx: config.paddingIdx ?? 0,
        eps: config.eps ?? 1e-5,
        seed,
      }),
    );
    this.addModule('head', head);
    this.head0 = head.add('0', new Linear(config.dModel, config.dModel, { seed: seed + 1 }));
    this.head2 = head.add('2', new LayerNorm(config.dModel, { eps: config.eps ?? 1e-5 }));
    this.head3 = head.add('3', new Linear(config.dModel, config.outDim, { seed: seed + 2 }));
    this.bank = bank === null ? null : this.addModule('bank', bank);
  }

  /**
   * The `AnchorBank` of the anchored variant (its `losses`, `setExpertRotations`, `trainableVariables`), or
   * null without `config.anchorBank`. Owned by this encoder: do not dispose it separately.
   */
  get anchorBank(): AnchorBank | null {
    return this.bank;
  }

  /**
   * Width of {@link CaptionEncoder.forward}'s output: outDim, plus the bank's bankDim with the bank (896 at the card).
   */
  get outputDim(): number {
    return this.config.outDim + (this.bank?.config.bankDim ?? 0);
  }

  /**
   * Sentence embeddings.
   * @param ids - `[B, L]` int32 token ids (L ≤ maxPositions).
   * @param attentionMask - `[B, L]`, 1 = real token.
   * @returns without the bank, `[B, outDim]`, each row L2-normalized (`x / max(‖x‖, 1e-12)`); with the bank,
   *   `[B, outDim + bankDim]` = concat(s, feature): the unit student embedding s of {@link CaptionEncoder.embed}
   *   and the bank's feature (`AnchorBank.apply(s).output`; a unit row too, so the whole row has norm √2).
   */
  forward(ids: tf.Tensor2D, attentionMask: tf.Tensor): tf.Tensor2D {
    this.assertLive('forward');
    return tf.tidy(() => {
      const s = this.studentEmbedding(ids, attentionMask);
      return this.bank === null ? s : this.bank.apply(s).output;
    });
  }

  /**
   * The student embedding alone, `[B, outDim]` unit rows: the same as {@link CaptionEncoder.forward}
   * without the bank, and the bank's input s with it (what `anchorBank.losses(s, expertTargets)` takes).
   */
  embed(ids: tf.Tensor2D, attentionMask: tf.Tensor): tf.Tensor2D {
    this.assertLive('embed');
    return tf.tidy(() => this.studentEmbedding(ids, attentionMask));
  }

  private studentEmbedding(ids: tf.Tensor2D, attentionMask: tf.Tensor): tf.Tensor2D {
    const pooled = maskedMeanPool(this.encoder.forward(ids, attentionMask), attentionMask);
    const y = this.head3.forward(this.head2.forward(gelu(this.head0.forward(pooled))));
    return tf.div(y, tf.maximum(tf.norm(y, 'euclidean', -1, true), 1e-12)) as tf.Tensor2D;
  }

  /**
   * Loads weights from the bytes of a safetensors file or a PyTorch `.pt` state dict (recognised by their
   * first bytes), with the names of this class (see above). Strict: every parameter must be present with its
   * shape, and no extra keys (`strict: false` ignores extras).
   *
   * With the bank: a file with no `bank.*` key at all (an encoder-only checkpoint, e.g. one written before
   * the bank existed) loads the encoder and keeps the bank as it is (the variant trains the bank on a frozen,
   * pretrained student); a file with some `bank.*` keys must have all of them. [INFER]
   * @throws {FormatError} for a file that is neither format, a missing key or a wrong shape.
   */
  loadWeights(bytes: Uint8Array | ArrayBuffer, options: { strict?: boolean } = {}): void {
    this.loadEntries(readWeights('CaptionEncoder.loadWeights', bytes), options);
  }

  /**
   * Loads tensors already read from a file (`readSafetensors(…).tensors`, `readTorchStateDict(…)`), PyTorch layout.
   * An encoder-only file leaves the anchor bank as it is. Atomic: on error nothing changes and nothing leaks.
   * @throws {FormatError} / {InvalidArgumentError} from `loadStateDict`, naming the parameter.
   */
  loadEntries(entries: Record<string, SafetensorEntry>, options: { strict?: boolean } = {}): void {
    const dict: Record<string, tf.Tensor> = {};
    try {
      for (const [k, e] of Object.entries(entries)) dict[k] = entryToTensor(e);
      if (this.bank !== null && !Object.keys(dict).some((k) => k.startsWith('bank.'))) {
        // Encoder-only file: the bank loads its own current values (copies, freed below).
        for (const [name, t] of Object.entries(this.bank.stateDict())) dict[`bank.${name}`] = t;
      }
      this.loadStateDict(dict, options);
    } finally {
      tf.dispose(Object.values(dict));
    }
  }

  /**
   * Builds an encoder of `config` and loads a safetensors or `.pt` file into it: the file's bytes, a URL (fetched; in
   * a browser also a URL relative to the page) or, under Node, a path.
   */
  static async fromPretrained(
    source: BinarySource,
    config: CaptionEncoderConfig = CAPTION_BERT_CONFIG,
  ): Promise<CaptionEncoder> {
    // The same path as every loader: `textModels` (models.ts) with the type and config given.
    return textModels.fromPretrained<CaptionEncoder>(source, {
      type: CAPTION_ENCODER_TYPE,
      config,
      op: 'CaptionEncoder.fromPretrained',
    });
  }
}

/** Builds the bank of `config.anchorBank`, or null when it is absent or `false`. */
function buildBank(op: string, config: CaptionEncoderConfig, seed: number): AnchorBank | null {
  const bankConfig = config.anchorBank;
  if (bankConfig === undefined || bankConfig === false) return null;
  if (bankConfig === null || typeof bankConfig !== 'object' || Array.isArray(bankConfig)) {
    throw new InvalidArgumentError(
      op,
      'config.anchorBank',
      `must be an AnchorBank config object or false, got ${bankConfig === null ? 'null' : String(bankConfig)}`,
    );
  }
  if (bankConfig.inputDim !== undefined && bankConfig.inputDim !== config.outDim) {
    throw new InvalidArgumentError(
      op,
      'config.anchorBank.inputDim',
      `must equal config.outDim (${config.outDim}), the width of the embedding the bank reads; ` +
        `got ${String(bankConfig.inputDim)}`,
    );
  }
  return new AnchorBank({ ...bankConfig, inputDim: config.outDim, seed: bankConfig.seed ?? seed + 3 });
}

function readWeights(op: string, bytes: Uint8Array | ArrayBuffer): Record<string, SafetensorEntry> {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.length >= 4 && u8[0] === 0x50 && u8[1] === 0x4b && u8[2] === 0x03 && u8[3] === 0x04)
    return readTorchStateDict(u8);
  if (u8.length >= 8) return readSafetensors(u8, { copy: true }).tensors;
  throw new FormatError(op, 'bytes', 'is neither a safetensors file nor a PyTorch .pt zip');
}
