/**
 * ONNX lowering of the `@geolip/nn` blocks a model export needs: each function adds to an `OnnxGraphBuilder`
 * (`@geolip/io`) the nodes that compute what the block's `forward` computes, reading the weights from the module's
 * `stateDict()` (PyTorch names and layout). The model packages compose them (`captionEncoderToOnnx` in
 * `@geolip/text`, `vitClassifierToOnnx` in `@geolip/vision`).
 *
 * Ops (opset 17): MatMul, Add, Mul, Div, Sub, Erf, LayerNormalization, Softmax, Reshape, Transpose, Split, Gather,
 * Slice, Shape, Cast, Unsqueeze, ReduceSum, ReduceMean, Max, Sqrt. GELU is written as `0.5·x·(1 + erf(x/√2))`, the
 * pattern ONNX Runtime fuses; a key-padding mask becomes the additive bias `(mask − 1)·1e9` on the scores (the
 * tfjs path fills masked scores with −1e9: the same softmax).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { ONNX_DTYPE, attr } from '@geolip/io';
import type { OnnxGraphBuilder } from '@geolip/io';

import type { Module } from '../module.js';

/** A float32 weight in PyTorch layout. */
export interface OnnxWeight {
  shape: number[];
  data: Float32Array;
}

/** The weights of a module by PyTorch name, read once from its `stateDict()` (the tensors are freed). */
export class OnnxWeights {
  private readonly map = new Map<string, OnnxWeight>();
  private readonly used = new Set<string>();

  constructor(
    entries: Iterable<[string, OnnxWeight]>,
    readonly op: string,
  ) {
    for (const [k, v] of entries) this.map.set(k, v);
  }

  /** Reads `module.stateDict()` into float32 arrays. */
  static fromModule(module: Module, op: string): OnnxWeights {
    const dict = module.stateDict();
    try {
      return new OnnxWeights(
        Object.entries(dict).map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.dataSync()) }]),
        op,
      );
    } finally {
      tf.dispose(Object.values(dict));
    }
  }

  /** The weight `name`. @throws {FormatError} naming it when the module has none. */
  get(name: string): OnnxWeight {
    const w = this.map.get(name);
    if (w === undefined) throw new FormatError(this.op, 'model', `has no parameter '${name}'`);
    this.used.add(name);
    return w;
  }

  /** Names not read by {@link OnnxWeights.get}: an export that leaves any out did not lower the whole model. */
  unused(): string[] {
    return [...this.map.keys()].filter((k) => !this.used.has(k));
  }
}

/** Weight `name` as a graph value (float32, or float16 + Cast by the builder's weightType). */
export function onnxParam(g: OnnxGraphBuilder, w: OnnxWeights, name: string): string {
  const { shape, data } = w.get(name);
  return g.weight(name, shape, data);
}

/** `[out, in]` → `[in, out]`. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/**
 * A PyTorch-layout matrix `[out, in]` stored transposed as `<name>_T` `[in, out]`, for `MatMul(x, W_T)` (int8 with
 * per-column scales under the builder's `weightType: 'int8'`).
 */
export function onnxParamT(g: OnnxGraphBuilder, w: OnnxWeights, name: string): string {
  const { shape, data } = w.get(name);
  if (shape.length !== 2) throw new FormatError(w.op, 'model', `parameter '${name}' is not 2-D`);
  return g.matmulWeight(`${name}_T`, [shape[1]!, shape[0]!], transpose2d(data, shape[0]!, shape[1]!));
}

/** The rows of embedding table `name` (`[vocab, dim]`) at `ids` (int64, any shape): `Gather` on axis 0. */
export function onnxEmbedding(g: OnnxGraphBuilder, w: OnnxWeights, name: string, ids: string): string {
  const { shape, data } = w.get(name);
  if (shape.length !== 2) throw new FormatError(w.op, 'model', `parameter '${name}' is not 2-D`);
  return g.gatherWeight(name, shape, data, ids);
}

/** `Linear` (`<prefix>.weight`, optional `<prefix>.bias`) on the last axis. */
export function onnxLinear(g: OnnxGraphBuilder, w: OnnxWeights, x: string, prefix: string, bias = true): string {
  const y = g.op('MatMul', [x, onnxParamT(g, w, `${prefix}.weight`)]);
  return bias ? g.op('Add', [y, onnxParam(g, w, `${prefix}.bias`)]) : y;
}

/** `LayerNorm` over the last axis (`<prefix>.weight`, `<prefix>.bias`). */
export function onnxLayerNorm(g: OnnxGraphBuilder, w: OnnxWeights, x: string, prefix: string, eps: number): string {
  return g.op(
    'LayerNormalization',
    [x, onnxParam(g, w, `${prefix}.weight`), onnxParam(g, w, `${prefix}.bias`)],
    [attr.i('axis', -1), attr.f('epsilon', eps)],
  );
}

/** Exact GELU, `0.5·x·(1 + erf(x/√2))`. */
export function onnxGelu(g: OnnxGraphBuilder, x: string): string {
  const e = g.op('Erf', [g.op('Div', [x, g.scalar(Math.SQRT2)])]);
  return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, g.scalar(1)])]), g.scalar(0.5)]);
}

/** `x / max(‖x‖₂, 1e-12)` over the last axis of a `[B, D]` value. */
export function onnxL2Normalize(g: OnnxGraphBuilder, x: string, options: { out?: string } = {}): string {
  const sq = g.op('ReduceSum', [g.op('Mul', [x, x]), g.int64s([-1])], [attr.i('keepdims', 1)]);
  const norm = g.op('Max', [g.op('Sqrt', [sq]), g.scalar(1e-12)]);
  return g.op('Div', [x, norm], [], { out: options.out });
}

/** A float `[B, L]` mask (1 = real) from an int64 `attention_mask` input. */
export function onnxMaskToFloat(g: OnnxGraphBuilder, mask: string): string {
  return g.op('Cast', [mask], [attr.i('to', ONNX_DTYPE.FLOAT)]);
}

/** The additive key-padding bias `[B, 1, 1, L]`: 0 for real keys, −1e9 for padding. */
export function onnxKeyPaddingBias(g: OnnxGraphBuilder, maskF: string): string {
  const bias = g.op('Mul', [g.op('Sub', [maskF, g.scalar(1)]), g.scalar(1e9)]);
  return g.op('Unsqueeze', [bias, g.int64s([1, 2])]);
}

/** Masked mean over axis 1: `Σ x·m / max(Σ m, 1)`, as `maskedMeanPool`. `x` `[B, L, D]`, `maskF` `[B, L]`. */
export function onnxMaskedMeanPool(g: OnnxGraphBuilder, x: string, maskF: string): string {
  const m3 = g.op('Unsqueeze', [maskF, g.int64s([2])]);
  const axis1 = g.int64s([1]);
  const summed = g.op('ReduceSum', [g.op('Mul', [x, m3]), axis1], [attr.i('keepdims', 0)]);
  const count = g.op('Max', [g.op('ReduceSum', [m3, axis1], [attr.i('keepdims', 0)]), g.scalar(1)]);
  return g.op('Div', [summed, count]);
}

/** Sizes of a {@link onnxTransformerLayers} stack. */
export interface OnnxEncoderSizes {
  dModel: number;
  heads: number;
  layers: number;
  eps: number;
}

/**
 * The pre-norm layers of a `TransformerEncoder` (`<prefix>.layers.{i}.*`, GELU FFN, biases) on `x` `[B, L, d]`,
 * then its final LayerNorm `<prefix>.norm` when `finalNorm`. `keyBias` is {@link onnxKeyPaddingBias}'s value, or
 * null (no padding).
 */
export function onnxTransformerLayers(
  g: OnnxGraphBuilder,
  w: OnnxWeights,
  x: string,
  prefix: string,
  sizes: OnnxEncoderSizes,
  keyBias: string | null,
  finalNorm = true,
): string {
  const { dModel: d, heads, layers, eps } = sizes;
  const dh = d / heads;
  const headsShape = g.int64s([0, 0, heads, dh]);
  const modelShape = g.int64s([0, 0, d]);
  const splitSizes = g.int64s([d, d, d]);
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}layers.${i}`;
    const h = onnxLayerNorm(g, w, x, `${p}.norm1`, eps);
    const qkv = g.op('Add', [
      g.op('MatMul', [h, onnxParamT(g, w, `${p}.self_attn.in_proj_weight`)]),
      onnxParam(g, w, `${p}.self_attn.in_proj_bias`),
    ]);
    const [q, k, v] = g.opN('Split', [qkv, splitSizes], [attr.i('axis', 2)], 3) as [string, string, string];
    const qh = g.op('Mul', [
      g.op('Transpose', [g.op('Reshape', [q, headsShape])], [attr.ints('perm', [0, 2, 1, 3])]),
      g.scalar(1 / Math.sqrt(dh)),
    ]);
    const khT = g.op('Transpose', [g.op('Reshape', [k, headsShape])], [attr.ints('perm', [0, 2, 3, 1])]);
    const vh = g.op('Transpose', [g.op('Reshape', [v, headsShape])], [attr.ints('perm', [0, 2, 1, 3])]);
    let scores = g.op('MatMul', [qh, khT]);
    if (keyBias !== null) scores = g.op('Add', [scores, keyBias]);
    const probs = g.op('Softmax', [scores], [attr.i('axis', -1)]);
    const ctx = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probs, vh])], [attr.ints('perm', [0, 2, 1, 3])]),
      modelShape,
    ]);
    x = g.op('Add', [x, onnxLinear(g, w, ctx, `${p}.self_attn.out_proj`)]);
    const h2 = onnxLayerNorm(g, w, x, `${p}.norm2`, eps);
    x = g.op('Add', [x, onnxLinear(g, w, onnxGelu(g, onnxLinear(g, w, h2, `${p}.linear1`)), `${p}.linear2`)]);
  }
  return finalNorm ? onnxLayerNorm(g, w, x, `${prefix}norm`, eps) : x;
}
