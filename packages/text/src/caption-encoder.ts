/**
 * `CaptionEncoder`: the CaptionBERT sentence encoder of the seed card (spec §10.1), built from `@geolip/nn`
 * blocks: token + learned position embeddings, pre-norm transformer layers with a key-padding mask, a final
 * LayerNorm, masked mean pooling, the head Linear(d, d) → GELU → LayerNorm(d) → Linear(d, out), L2 normalize.
 * At the card's config it has 25,958,016 parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, entryToTensor, readSafetensors } from '@geolip/geometry';
import type { SafetensorEntry } from '@geolip/geometry';
import { LayerNorm, Linear, Module, TransformerEncoder, gelu, maskedMeanPool } from '@geolip/nn';

import { readTorchStateDict } from './torch/read-torch.js';

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
 * The CaptionBERT encoder. Parameter names (`stateDict()`, PyTorch layout; [INFER]: the author's state-dict
 * keys are unknown): `encoder.token_emb.weight`, `encoder.pos_emb.weight`, `encoder.layers.{i}.*` (PyTorch
 * `nn.TransformerEncoderLayer` names), `encoder.norm.*`, `head.0.*` (Linear), `head.2.*` (LayerNorm),
 * `head.3.*` (Linear): the names of a PyTorch module with `encoder` and `head = nn.Sequential(Linear, GELU,
 * LayerNorm, Linear)`.
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

  /** @throws {InvalidArgumentError} for a size that is not a positive integer or heads not dividing dModel. */
  constructor(config: CaptionEncoderConfig = CAPTION_BERT_CONFIG, options: { seed?: number } = {}) {
    super();
    const op = 'CaptionEncoder';
    if (config === null || typeof config !== 'object') throw new InvalidArgumentError(op, 'config', 'must be an object');
    for (const k of ['vocabSize', 'maxPositions', 'dModel', 'heads', 'ffDim', 'layers', 'outDim'] as const) {
      const v = config[k];
      if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(op, `config.${k}`, `must be a positive integer, got ${String(v)}`);
    }
    this.config = Object.freeze({ ...config });
    const seed = options.seed ?? 0;
    const head = new HeadContainer();
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
  }

  /**
   * Sentence embeddings.
   * @param ids - `[B, L]` int32 token ids (L ≤ maxPositions).
   * @param attentionMask - `[B, L]`, 1 = real token.
   * @returns `[B, outDim]`, each row L2-normalized (`x / max(‖x‖, 1e-12)`).
   */
  forward(ids: tf.Tensor2D, attentionMask: tf.Tensor): tf.Tensor2D {
    this.assertLive('forward');
    return tf.tidy(() => {
      const pooled = maskedMeanPool(this.encoder.forward(ids, attentionMask), attentionMask);
      const y = this.head3.forward(this.head2.forward(gelu(this.head0.forward(pooled))));
      return tf.div(y, tf.maximum(tf.norm(y, 'euclidean', -1, true), 1e-12)) as tf.Tensor2D;
    });
  }

  /**
   * Loads weights from the bytes of a safetensors file or a PyTorch `.pt` state dict (recognised by their
   * first bytes), with the names of this class (see above). Strict: every parameter must be present with its
   * shape, and no extra keys (`strict: false` ignores extras).
   * @throws {FormatError} for a file that is neither format, a missing key or a wrong shape.
   */
  loadWeights(bytes: Uint8Array | ArrayBuffer, options: { strict?: boolean } = {}): void {
    const entries = readWeights('CaptionEncoder.loadWeights', bytes);
    const dict: Record<string, tf.Tensor> = {};
    try {
      for (const [k, e] of Object.entries(entries)) dict[k] = entryToTensor(e);
      this.loadStateDict(dict, options);
    } finally {
      tf.dispose(Object.values(dict));
    }
  }

  /**
   * Builds an encoder of `config` and loads a safetensors or `.pt` file into it (Node: a path; anywhere:
   * the file's bytes, e.g. from `fetch`).
   */
  static async fromPretrained(source: string | Uint8Array | ArrayBuffer, config: CaptionEncoderConfig = CAPTION_BERT_CONFIG): Promise<CaptionEncoder> {
    let bytes: Uint8Array | ArrayBuffer;
    if (typeof source === 'string') {
      const fs = (await import('node:fs/promises')) as typeof import('node:fs/promises');
      bytes = new Uint8Array(await fs.readFile(source));
    } else bytes = source;
    const model = new CaptionEncoder(config);
    try {
      model.loadWeights(bytes);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }
}

/** A plain container so the head's children are named `head.0`, `head.2`, `head.3` as in `nn.Sequential`. */
class HeadContainer extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.addModule(name, m);
  }
}

function readWeights(op: string, bytes: Uint8Array | ArrayBuffer): Record<string, SafetensorEntry> {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) throw new InvalidArgumentError(op, 'bytes', 'must be a Uint8Array or an ArrayBuffer');
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.length >= 4 && u8[0] === 0x50 && u8[1] === 0x4b && u8[2] === 0x03 && u8[3] === 0x04) return readTorchStateDict(u8);
  if (u8.length >= 8) return readSafetensors(u8, { copy: true }).tensors;
  throw new FormatError(op, 'bytes', 'is neither a safetensors file nor a PyTorch .pt zip');
}
