/**
 * ONNX export of the plain ViT models: {@link vitClassifierToOnnx} (a {@link ViTClassifier}: unit embedding and
 * logits, e.g. the Fashion-MNIST ViT of `geolip-train run fmnist-vit`) and {@link vitEncoderToOnnx} (a
 * {@link ViTEncoder}: the embedding). Both layouts (`pooling: 'mean'` and `'cls'`) are exported.
 *
 * Input: `pixel_values` float32 `[batch, H, W, C]`, NHWC as the tfjs model takes it (normalized by the caller exactly
 * as for `forward`). Outputs: `embedding` `[batch, outDim]` (unit rows) and, for the classifier, `logits`
 * `[batch, classes]`.
 */
import { InvalidArgumentError } from '@geolip/geometry';
import { ONNX_DTYPE, OnnxGraphBuilder, attr } from '@geolip/io';
import type { OnnxValueSpec, OnnxWeightType } from '@geolip/io';
import {
  OnnxWeights,
  onnxGelu,
  onnxL2Normalize,
  onnxLayerNorm,
  onnxLinear,
  onnxParam,
  onnxTransformerLayers,
} from '@geolip/nn';

import { ViTClassifier } from '../models/vit-classifier.js';
import { ViTEncoder } from '../models/vit-encoder.js';

/** Options of {@link vitClassifierToOnnx} and {@link vitEncoderToOnnx}. */
export interface VitOnnxOptions {
  /** `'float32'` (default) or `'float16'` (weights stored as float16, cast to float32 in the graph). */
  weightType?: OnnxWeightType;
  /** `metadata_props` of the model. */
  metadata?: Readonly<Record<string, string>>;
}

/** Input and output names of an exported vision model. */
export const VISION_ONNX_NAMES = Object.freeze({ pixels: 'pixel_values', embedding: 'embedding', logits: 'logits' });

/** The embedding graph of a ViTEncoder whose weights are under `prefix`, into the value `out`. */
function encoderGraph(g: OnnxGraphBuilder, w: OnnxWeights, enc: ViTEncoder, prefix: string, out: string): void {
  const cfg = enc.config;
  const d = cfg.dModel;
  const p = cfg.patchSize;
  const N = enc.numPatches;
  // NHWC → NCHW, the patch Conv (kernel = stride = patch), then [B, d, g, g] → [B, N, d] (row-major patches, as tfjs)
  const nchw = g.op('Transpose', [VISION_ONNX_NAMES.pixels], [attr.ints('perm', [0, 3, 1, 2])]);
  const conv = g.op(
    'Conv',
    [nchw, onnxParam(g, w, `${prefix}patch_embed.weight`), onnxParam(g, w, `${prefix}patch_embed.bias`)],
    [attr.ints('kernel_shape', [p, p]), attr.ints('strides', [p, p])],
  );
  const flat = g.op('Reshape', [conv, g.int64s([0, d, N])]);
  let x = g.op('Transpose', [flat], [attr.ints('perm', [0, 2, 1])]);
  const pos = onnxParam(g, w, `${prefix}encoder.pos_emb.weight`);
  const sizes = { dModel: d, heads: cfg.heads, layers: cfg.layers, eps: cfg.eps };
  let pooled: string;
  if (cfg.pooling === 'cls') {
    const cls = onnxParam(g, w, `${prefix}cls_token`); // [1, 1, d]
    const batch = g.op('Shape', [x], [attr.i('start', 0), attr.i('end', 1)]);
    const tiled = g.op('Expand', [cls, g.op('Concat', [batch, g.int64s([1, d])], [attr.i('axis', 0)])]);
    x = g.op('Add', [g.op('Concat', [tiled, x], [attr.i('axis', 1)]), pos]);
    const h = onnxTransformerLayers(g, w, x, `${prefix}encoder.`, sizes, null);
    pooled = g.op('Squeeze', [g.op('Slice', [h, g.int64s([0]), g.int64s([1]), g.int64s([1])]), g.int64s([1])]);
  } else {
    x = onnxLayerNorm(g, w, g.op('Add', [x, pos]), `${prefix}emb_norm`, cfg.eps);
    const h = onnxTransformerLayers(g, w, x, `${prefix}encoder.`, sizes, null);
    pooled = g.op('ReduceMean', [h], [attr.ints('axes', [1]), attr.i('keepdims', 0)]);
  }
  const y = onnxLinear(
    g,
    w,
    onnxLayerNorm(g, w, onnxGelu(g, onnxLinear(g, w, pooled, `${prefix}head.0`)), `${prefix}head.2`, cfg.eps),
    `${prefix}head.3`,
  );
  onnxL2Normalize(g, y, { out });
}

function finish(
  op: string,
  g: OnnxGraphBuilder,
  w: OnnxWeights,
  enc: ViTEncoder,
  outputs: OnnxValueSpec[],
  options: VitOnnxOptions,
): Uint8Array {
  const left = w.unused();
  if (left.length > 0)
    throw new InvalidArgumentError(op, 'model', `has parameters the export does not use: ${left.join(', ')}`);
  const cfg = enc.config;
  return g.encode(
    {
      name: 'geolip_vit',
      inputs: [
        {
          name: VISION_ONNX_NAMES.pixels,
          dtype: ONNX_DTYPE.FLOAT,
          dims: ['batch_size', cfg.imageSize, cfg.imageSize, cfg.channels],
        },
      ],
      outputs,
      doc:
        `GeoLIP ViT: ${cfg.imageSize}×${cfg.imageSize}×${cfg.channels} NHWC, patch ${cfg.patchSize}, ` +
        `${cfg.layers} pre-norm layers, d=${cfg.dModel}, ${cfg.pooling} pooling, L2-normalized ${cfg.outDim}-d output`,
    },
    { producer: 'geolip', metadata: options.metadata },
  );
}

/**
 * The bytes of a `.onnx` file computing `classifier.forward(images)`: `embedding` and `logits`.
 * @throws {InvalidArgumentError} naming `model` when it is not a ViTClassifier.
 */
export function vitClassifierToOnnx(model: ViTClassifier, options: VitOnnxOptions = {}): Uint8Array {
  const op = 'vitClassifierToOnnx';
  if (!(model instanceof ViTClassifier)) throw new InvalidArgumentError(op, 'model', 'must be a ViTClassifier');
  const w = OnnxWeights.fromModule(model, op);
  const g = new OnnxGraphBuilder({ weightType: options.weightType ?? 'float32' });
  const N = VISION_ONNX_NAMES;
  encoderGraph(g, w, model.encoder, 'encoder.', N.embedding);
  g.op('Identity', [onnxLinear(g, w, N.embedding, 'classifier')], [], { out: N.logits });
  return finish(
    op,
    g,
    w,
    model.encoder,
    [
      { name: N.embedding, dtype: ONNX_DTYPE.FLOAT, dims: ['batch_size', model.encoder.config.outDim] },
      { name: N.logits, dtype: ONNX_DTYPE.FLOAT, dims: ['batch_size', model.classes] },
    ],
    options,
  );
}

/**
 * The bytes of a `.onnx` file computing `encoder.forward(images)`: `embedding`.
 * @throws {InvalidArgumentError} naming `model` when it is not a ViTEncoder.
 */
export function vitEncoderToOnnx(model: ViTEncoder, options: VitOnnxOptions = {}): Uint8Array {
  const op = 'vitEncoderToOnnx';
  if (!(model instanceof ViTEncoder)) throw new InvalidArgumentError(op, 'model', 'must be a ViTEncoder');
  const w = OnnxWeights.fromModule(model, op);
  const g = new OnnxGraphBuilder({ weightType: options.weightType ?? 'float32' });
  encoderGraph(g, w, model, '', VISION_ONNX_NAMES.embedding);
  return finish(
    op,
    g,
    w,
    model,
    [{ name: VISION_ONNX_NAMES.embedding, dtype: ONNX_DTYPE.FLOAT, dims: ['batch_size', model.config.outDim] }],
    options,
  );
}
