/**
 * `captionEncoderToOnnx`: a {@link CaptionEncoder} as an ONNX model (IR 8, opset 17) whose output is the sentence
 * embedding itself: embeddings → pre-norm layers → final LayerNorm → masked mean pooling → head → L2 normalization,
 * all in the graph. The tokenizer stays outside (`tokenizer.json`, {@link bertTokenizerToJson}).
 *
 * Inputs: `input_ids` int64 `[batch, sequence_length]`, `attention_mask` int64 `[batch, sequence_length]` (1 = real
 * token). Outputs: `sentence_embedding` float32 `[batch, outDim]` (unit rows) and `last_hidden_state`, the same values
 * (an `Identity`): transformers.js's `feature-extraction` pipeline reads `last_hidden_state`, so with
 * `{ pooling: 'none', normalize: false }` it returns the embedding.
 */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { ONNX_DTYPE, OnnxGraphBuilder, attr } from '@geolip/io';
import { readModelMetadata, readWeightsFile, toFloat32 } from '@geolip/io';
import type { BinarySource, OnnxWeightType } from '@geolip/io';
import {
  OnnxWeights,
  onnxEmbedding,
  onnxGelu,
  onnxKeyPaddingBias,
  onnxL2Normalize,
  onnxLayerNorm,
  onnxLinear,
  onnxMaskToFloat,
  onnxMaskedMeanPool,
  onnxParam,
  onnxTransformerLayers,
} from '@geolip/nn';

import { CaptionEncoder, captionEncoderParamCount } from '../caption-encoder.js';
import { parseCaptionEncoderConfig } from '../models.js';
import type { CaptionEncoderConfig } from '../caption-encoder.js';

/** Options of {@link captionEncoderToOnnx}. */
export interface CaptionEncoderOnnxOptions {
  /**
   * `'float32'` (default), `'float16'` (weights stored as float16 and cast to float32 in the graph) or `'int8'` (the
   * MatMul weights and the token embedding as symmetric int8 with per-column / per-row scales, dequantised in the
   * graph; the rest float32: `OnnxGraphBuilder`).
   */
  weightType?: OnnxWeightType;
  /** `metadata_props` of the model (e.g. the weights file's `geolip.*` entries). */
  metadata?: Readonly<Record<string, string>>;
  /** `producer_version` written in the file. */
  producerVersion?: string;
  /**
   * The embedder's token limit (`[CLS]` and `[SEP]` included). With it the graph truncates a longer input as the
   * tokenizer does: the first `maxLength − 1` tokens, then `[SEP]` (`sepId`) in the last place. Callers that cut
   * sequences by simply dropping the tail (transformers.js does) then get the same embedding.
   */
  maxLength?: number;
  /** Id of `[SEP]` for the truncation (default 102, BERT uncased). */
  sepId?: number;
}

/** Input and output names of an exported text model. */
export const TEXT_ONNX_NAMES = Object.freeze({
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  embedding: 'sentence_embedding',
  lastHiddenState: 'last_hidden_state',
});

/**
 * The bytes of a `.onnx` file computing `model.forward(ids, mask)` (without the AnchorBank).
 * @throws {InvalidArgumentError} naming `model` when it is not a live CaptionEncoder, or the AnchorBank variant.
 */
export function captionEncoderToOnnx(model: CaptionEncoder, options: CaptionEncoderOnnxOptions = {}): Uint8Array {
  const op = 'captionEncoderToOnnx';
  if (!(model instanceof CaptionEncoder)) throw new InvalidArgumentError(op, 'model', 'must be a CaptionEncoder');
  if (model.anchorBank !== null)
    throw new InvalidArgumentError(op, 'model', 'is the AnchorBank variant, which has no ONNX export yet');
  return captionEncoderOnnxFromWeights(model.config, OnnxWeights.fromModule(model, op), options);
}

/**
 * The same graph as {@link captionEncoderToOnnx}, from the weights alone (PyTorch names and layout, e.g. a weights
 * file's tensors: no tfjs backend is needed).
 * @throws {FormatError} naming the missing parameter; {@link InvalidArgumentError} for parameters left unused.
 */
export function captionEncoderOnnxFromWeights(
  cfg: CaptionEncoderConfig,
  w: OnnxWeights,
  options: CaptionEncoderOnnxOptions = {},
): Uint8Array {
  const op = w.op;
  if (cfg.anchorBank !== undefined && cfg.anchorBank !== false)
    throw new InvalidArgumentError(op, 'config.anchorBank', 'the AnchorBank variant has no ONNX export yet');
  const eps = cfg.eps ?? 1e-5;
  const g = new OnnxGraphBuilder({ weightType: options.weightType ?? 'float32' });
  const N = TEXT_ONNX_NAMES;

  let ids: string = N.inputIds;
  let mask: string = N.attentionMask;
  if (options.maxLength !== undefined) {
    const max = options.maxLength;
    if (!Number.isInteger(max) || max < 2 || max > cfg.maxPositions)
      throw new InvalidArgumentError(op, 'options.maxLength', `must be an integer in [2, ${cfg.maxPositions}]`);
    // keep the first min(L, max) columns; a row whose real length exceeded max gets [SEP] in its last place
    const len = g.op('Min', [g.op('Shape', [ids], [attr.i('start', 1), attr.i('end', 2)]), g.int64s([max])]);
    const axis1 = g.int64s([1]);
    const kept = g.op('Slice', [ids, g.int64s([0]), len, axis1]);
    mask = g.op('Slice', [mask, g.int64s([0]), len, axis1]);
    const realLen = g.op('ReduceSum', [N.attentionMask, axis1], [attr.i('keepdims', 1)]);
    const over = g.op('Greater', [realLen, g.int64s([max])]);
    const pos = g.op('Range', [g.int64(0), g.op('Squeeze', [len, g.int64s([0])]), g.int64(1)]);
    const last = g.op('And', [over, g.op('Equal', [pos, g.int64(max - 1)])]);
    ids = g.op('Where', [last, g.int64(options.sepId ?? 102), kept]);
  }
  const maskF = onnxMaskToFloat(g, mask);
  const tok = onnxEmbedding(g, w, 'encoder.token_emb.weight', ids);
  const seqLen = g.op('Shape', [ids], [attr.i('start', 1), attr.i('end', 2)]);
  const pos = g.op('Slice', [onnxParam(g, w, 'encoder.pos_emb.weight'), g.int64s([0]), seqLen, g.int64s([0])]);
  let x = g.op('Add', [tok, pos]);
  x = onnxTransformerLayers(
    g,
    w,
    x,
    'encoder.',
    { dModel: cfg.dModel, heads: cfg.heads, layers: cfg.layers, eps },
    onnxKeyPaddingBias(g, maskF),
  );
  const pooled = onnxMaskedMeanPool(g, x, maskF);
  const y = onnxLinear(
    g,
    w,
    onnxLayerNorm(g, w, onnxGelu(g, onnxLinear(g, w, pooled, 'head.0')), 'head.2', eps),
    'head.3',
  );
  onnxL2Normalize(g, y, { out: N.embedding });
  g.op('Identity', [N.embedding], [], { out: N.lastHiddenState });
  const left = w.unused();
  if (left.length > 0)
    throw new InvalidArgumentError(op, 'model', `has parameters the export does not use: ${left.join(', ')}`);

  const dims = ['batch_size', 'sequence_length'];
  return g.encode(
    {
      name: 'geolip_caption_encoder',
      inputs: [
        { name: N.inputIds, dtype: ONNX_DTYPE.INT64, dims },
        { name: N.attentionMask, dtype: ONNX_DTYPE.INT64, dims },
      ],
      outputs: [
        { name: N.embedding, dtype: ONNX_DTYPE.FLOAT, dims: ['batch_size', cfg.outDim] },
        { name: N.lastHiddenState, dtype: ONNX_DTYPE.FLOAT, dims: ['batch_size', cfg.outDim] },
      ],
      doc:
        `GeoLIP CaptionEncoder: ${cfg.layers} pre-norm layers, d=${cfg.dModel}, ${cfg.heads} heads, ` +
        `FFN ${cfg.ffDim}, ` +
        `masked mean pooling, head to ${cfg.outDim}, L2-normalized`,
    },
    { producer: 'geolip', producerVersion: options.producerVersion, metadata: options.metadata },
  );
}

/** A text weights file (the shipped one, or any `text/caption-encoder` safetensors) as ONNX bytes and settings. */
export interface TextOnnxModel {
  onnx: Uint8Array;
  config: ReturnType<typeof parseCaptionEncoderConfig>;
  maxLength: number;
  params: number;
  /** The file's `geolip.*` metadata entries. */
  metadata: Record<string, string>;
}

/**
 * Reads a `text/caption-encoder` weights file and builds its ONNX graph (no tfjs involved).
 * @throws {FormatError} for a file that is not a caption encoder or whose weights do not match its config.
 */
export async function captionEncoderOnnxFromFile(
  source: BinarySource,
  options: { weightType?: OnnxWeightType; op?: string } = {},
): Promise<TextOnnxModel> {
  const op = options.op ?? 'captionEncoderOnnxFromFile';
  const file = await readWeightsFile(source, { op });
  const meta = readModelMetadata(file.metadata);
  if (meta.type !== 'text/caption-encoder')
    throw new FormatError(op, 'source', `holds a '${meta.type}' model, not a text/caption-encoder`);
  const config = parseCaptionEncoderConfig(meta.config);
  const maxLength = Number(meta.extra.maxLength ?? config.maxPositions);
  if (!Number.isInteger(maxLength) || maxLength < 3 || maxLength > config.maxPositions)
    throw new FormatError(
      op,
      'source',
      `metadata 'geolip.maxLength' must be an integer in [3, ${config.maxPositions}]`,
    );
  const weights = new OnnxWeights(
    Object.entries(file.tensors).map(([k, e]) => [k, { shape: [...e.shape], data: toFloat32(e) }]),
    op,
  );
  const metadata = Object.fromEntries(Object.entries(file.metadata).filter(([k]) => k.startsWith('geolip.')));
  const onnx = captionEncoderOnnxFromWeights(config, weights, { weightType: options.weightType, metadata, maxLength });
  return { onnx, config, maxLength, params: captionEncoderParamCount(config), metadata };
}
