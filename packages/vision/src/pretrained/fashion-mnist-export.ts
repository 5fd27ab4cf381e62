/**
 * The export step that makes the bundled Fashion-MNIST model (`weights/fmnist-dual-stream.safetensors`) from a
 * trained Dual-Stream ViT: every tensor to F16 (names and PyTorch layout unchanged), and metadata with the class
 * names, the fp32 test accuracy and, per anchor, the class of the training images whose nearest anchor it is.
 * `geolip-train run fmnist-export` (in `@geolip/recipes`) runs it on the files of an fmnist-vit run.
 */
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import {
  type ModelMetadata,
  float32ToFloat16Bits,
  readModelMetadata,
  readSafetensors,
  toFloat32,
  writeModelMetadata,
  writeSafetensors,
} from '@geolip/io';
import type { SafetensorInput } from '@geolip/io';

import type { AnchorLabel } from './fashion-mnist-classifier.js';

/**
 * Per anchor: the majority class, its share and the count among the rows whose nearest anchor (largest cosine with
 * the unit anchor) it is. `anchors` is `[A, D]`, `embeddings` `[N, D]` (rows as written by the model), `labels` N
 * class indices in [0, classes) (10 for Fashion-MNIST). Shares are rounded to 4 decimals; an anchor nearest to no
 * row gets label −1.
 * @throws {InvalidArgumentError} If the lengths do not match `A`, `D` and the labels.
 */
export function fashionMnistAnchorLabels(
  anchors: Float32Array,
  A: number,
  D: number,
  embeddings: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
): AnchorLabel[] {
  const op = 'fashionMnistAnchorLabels';
  if (anchors.length !== A * D)
    throw new InvalidArgumentError(op, 'anchors', `must hold A·D = ${A * D} values, got ${anchors.length}`);
  if (embeddings.length !== labels.length * D)
    throw new InvalidArgumentError(
      op,
      'embeddings',
      `must hold N·D = ${labels.length * D} values (N = labels.length), got ${embeddings.length}`,
    );
  const unit = new Float32Array(A * D);
  for (let a = 0; a < A; a++) {
    let n = 0;
    for (let d = 0; d < D; d++) n += anchors[a * D + d]! ** 2;
    n = Math.sqrt(n);
    for (let d = 0; d < D; d++) unit[a * D + d] = anchors[a * D + d]! / n;
  }
  const counts = Array.from({ length: A }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    let bestCos = -Infinity;
    for (let a = 0; a < A; a++) {
      let c = 0;
      for (let d = 0; d < D; d++) c += embeddings[i * D + d]! * unit[a * D + d]!;
      if (c > bestCos) [best, bestCos] = [a, c];
    }
    counts[best]![labels[i]!]!++;
  }
  return counts.map((row) => {
    const count = row.reduce((s, v) => s + v, 0);
    const label = count === 0 ? -1 : row.indexOf(Math.max(...row));
    return { label, share: count === 0 ? 0 : Math.round((row[label]! / count) * 1e4) / 1e4, count };
  });
}

/** Inputs of {@link exportFashionMnistWeights}. */
export interface FashionMnistExportInput {
  /** A Dual-Stream ViT safetensors file (metadata `geolip.model` = `dual-stream`, `geolip.config`). */
  model: Uint8Array;
  /**
   * Its embeddings of every training image, `[N, outDim]` (tensor `embeddings`, e.g.
   * `embeddings-train.safetensors`).
   */
  trainEmbeddings: Uint8Array;
  /** The N training labels, in the embeddings' order. */
  trainLabels: ArrayLike<number>;
  /** The class names (metadata `geolip.classes`; `FASHION_MNIST_CLASSES` of `@geolip/vision/io`). */
  classes: readonly string[];
  /** The fp32 model's test accuracy (metadata `geolip.testAccuracy`). */
  testAccuracy: number;
  /** Provenance (metadata `geolip.source`). */
  source: string;
}

/**
 * Makes the bundled-model file from a trained Dual-Stream ViT: F16 tensors, metadata `geolip.model`, `geolip.config`
 * (as in the source), `geolip.classes`, `geolip.testAccuracy`, `geolip.anchorLabels` ({@link fashionMnistAnchorLabels}
 * on the training embeddings) and `geolip.source`. Returns the bytes and the anchor labels.
 * @throws {FormatError} If `model` is not a Dual-Stream ViT file or the embeddings are not `[N, outDim]`.
 */
export function exportFashionMnistWeights(input: FashionMnistExportInput): {
  bytes: Uint8Array;
  anchorLabels: AnchorLabel[];
} {
  const op = 'exportFashionMnistWeights';
  const src = readSafetensors(input.model, { copy: true });
  let model: ModelMetadata;
  try {
    model = readModelMetadata(src.metadata);
  } catch (cause) {
    throw new FormatError(op, 'model', cause instanceof Error ? cause.message : String(cause), { cause });
  }
  if (model.type !== 'vision/dual-stream-vit')
    throw new FormatError(op, 'model', `holds a ${model.type} model, not dual-stream (vision/dual-stream-vit)`);
  if (model.config === undefined) throw new FormatError(op, 'model', "has no metadata 'geolip.config'");
  const config = model.config as { outDim: number; anchors: number };
  const embFile = readSafetensors(input.trainEmbeddings).tensors.embeddings;
  if (embFile === undefined) throw new FormatError(op, 'trainEmbeddings', "has no tensor 'embeddings'");
  const [rows, D] = embFile.shape as [number, number];
  if (rows !== input.trainLabels.length || D !== config.outDim)
    throw new FormatError(
      op,
      'trainEmbeddings',
      `shape [${embFile.shape.join(',')}] is not [${input.trainLabels.length}, ${config.outDim}]`,
    );
  const anchorsEntry = src.tensors['constellation.anchors'];
  if (anchorsEntry === undefined) throw new FormatError(op, 'model', "has no tensor 'constellation.anchors'");
  const anchorLabels = fashionMnistAnchorLabels(
    toFloat32(anchorsEntry),
    config.anchors,
    D,
    toFloat32(embFile),
    input.trainLabels,
    input.classes.length,
  );
  const tensors: Record<string, SafetensorInput> = {};
  for (const [name, e] of Object.entries(src.tensors)) {
    tensors[name] = { dtype: 'F16', shape: e.shape, data: Uint16Array.from(toFloat32(e), float32ToFloat16Bits) };
  }
  const meta = writeModelMetadata({
    type: 'vision/dual-stream-vit',
    config: model.config,
    extra: { classes: input.classes, testAccuracy: input.testAccuracy, anchorLabels, source: input.source },
  });
  return { bytes: writeSafetensors(tensors, meta), anchorLabels };
}
