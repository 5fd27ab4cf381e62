/**
 * The COCO task of `geolip-bench`: multi-label classification of COCO images through a linear probe on an image
 * embedder's features (spec §13.3: macro mAP over the 80 categories, F1 at 0.5 micro and macro), and, with a text
 * embedder of the same space, caption ↔ image retrieval (recall@K both directions).
 *
 * Protocol ([INFER], documented in the README): the probe (logistic regression, 80 sigmoid outputs, L2 penalty) is
 * trained on the images of the `train2017` folder and evaluated on `val2017`, both of the directory given (by
 * default `../shared/data`'s COCO-MINI). Features are L2-normalized rows; the probe starts at zero and takes
 * `steps` full-batch Adam steps, so the result is deterministic for a given backend.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { meanAveragePrecision, multiLabelF1, recallAtK } from '@geolip/metrics';
import { cocoRetrievalTargets, loadCocoCaptions, loadCocoInstances } from '@geolip/text/data';

import { embedAll, type Embedder } from './embedder.js';

/** Options of {@link evaluateCocoTask}. */
export interface CocoTaskOptions {
  /** A COCO directory with `annotations/instances_{train,val}2017.json` and the `train2017/`, `val2017/` images. */
  dir: string;
  /** Images per `embed` call. Default 32. */
  batchSize?: number;
  /** Probe training: full-batch Adam steps (default 300), learning rate (0.01), L2 penalty on the weights (1e-4). */
  probe?: { steps?: number; lr?: number; l2?: number };
  /** A text embedder of the same space as the image embedder: adds caption ↔ image retrieval on val2017. */
  textModel?: Embedder<string>;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** Result of {@link evaluateCocoTask}. */
export interface CocoTaskResult {
  task: 'coco';
  model: string;
  /** Images the probe was trained on (train2017) and evaluated on (val2017). */
  nTrain: number;
  nEval: number;
  /** Categories with ≥ 1 positive among the evaluated images (the mAP's denominator). */
  classesUsed: number;
  map: number;
  f1Micro: number;
  f1Macro: number;
  /**
   * With `textModel`: recall@{1,5,10} of text→image (one relevant image per caption) and image→text
   * (~5 captions).
   */
  retrieval?: {
    textModel: string;
    captions: number;
    textToImage: Record<number, number>;
    imageToText: Record<number, number>;
  };
  /** Images per second through the image embedder. */
  imagesPerSecond: number;
  probe: { steps: number; lr: number; l2: number };
}

function l2Rows(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j]! * inv;
  }
  return out;
}

/** Trains the logistic-regression probe; returns validation probabilities `[Nval·C]`. */
async function probe(
  xTrain: Float32Array,
  yTrain: Uint8Array,
  xVal: Float32Array,
  d: number,
  c: number,
  opts: Required<NonNullable<CocoTaskOptions['probe']>>,
): Promise<Float32Array> {
  const nTrain = yTrain.length / c;
  const nVal = xVal.length / d;
  const w = tf.variable(tf.zeros([d, c]));
  const b = tf.variable(tf.zeros([c]));
  const x = tf.tensor2d(xTrain, [nTrain, d]);
  const y = tf.tensor2d(Float32Array.from(yTrain), [nTrain, c]);
  const optimizer = tf.train.adam(opts.lr);
  try {
    for (let s = 0; s < opts.steps; s++) {
      optimizer.minimize(
        () =>
          tf.tidy(() => {
            const logits = tf.add(tf.matMul(x, w), b);
            const bce = tf.losses.sigmoidCrossEntropy(y, logits); // mean over all cells
            return tf.add(bce, tf.mul(opts.l2, tf.sum(tf.square(w)))) as tf.Scalar;
          }),
        false,
        [w, b],
      );
    }
    const p = tf.tidy(() => tf.sigmoid(tf.add(tf.matMul(tf.tensor2d(xVal, [nVal, d]), w), b)));
    const out = (await p.data()) as Float32Array;
    p.dispose();
    return out;
  } finally {
    tf.dispose([w, b, x, y]);
    optimizer.dispose();
  }
}

/**
 * Evaluates an image embedder (inputs: image file paths) on COCO multi-label classification, and optionally
 * caption ↔ image retrieval with a text embedder of the same space.
 *
 * @throws {InvalidArgumentError} a missing annotation file or image (names the path), no images in a split, or a
 *   text model whose width differs from the image model's.
 */
export async function evaluateCocoTask(
  imageModel: Embedder<string>,
  options: CocoTaskOptions,
): Promise<CocoTaskResult> {
  const op = 'evaluateCocoTask';
  const { dir, batchSize = 32, textModel, onProgress } = options;
  const probeOpts = {
    steps: options.probe?.steps ?? 300,
    lr: options.probe?.lr ?? 0.01,
    l2: options.probe?.l2 ?? 1e-4,
  };
  const ann = (name: string) => {
    const p = join(dir, 'annotations', name);
    if (!existsSync(p))
      throw new InvalidArgumentError(
        op,
        'dir',
        `missing ${p} (a COCO directory needs annotations/instances_train2017.json and instances_val2017.json)`,
      );
    return p;
  };
  const train = await loadCocoInstances(ann('instances_train2017.json'));
  const val = await loadCocoInstances(ann('instances_val2017.json'), { categories: train.categories });
  const paths = (split: string, images: { fileName: string }[]) =>
    images.map((im) => {
      const p = join(dir, split, im.fileName);
      if (!existsSync(p))
        throw new InvalidArgumentError(op, 'dir', `image ${p} listed in instances_${split}.json does not exist`);
      return p;
    });
  const trainPaths = paths('train2017', train.images);
  const valPaths = paths('val2017', val.images);
  if (trainPaths.length === 0 || valPaths.length === 0)
    throw new InvalidArgumentError(
      op,
      'dir',
      `needs images in both splits (train ${trainPaths.length}, val ${valPaths.length})`,
    );
  const d = imageModel.dim;
  const t0 = performance.now();
  const xTrain = l2Rows(
    await embedAll(imageModel, trainPaths, {
      batchSize,
      onProgress: (a, b) => onProgress?.('coco train2017 images', a, b),
    }),
    trainPaths.length,
    d,
  );
  const xValRaw = await embedAll(imageModel, valPaths, {
    batchSize,
    onProgress: (a, b) => onProgress?.('coco val2017 images', a, b),
  });
  const imagesPerSecond = (trainPaths.length + valPaths.length) / ((performance.now() - t0) / 1000);
  const xVal = l2Rows(xValRaw, valPaths.length, d);
  const c = train.numClasses;
  const probs = await probe(xTrain, train.targets, xVal, d, c, probeOpts);
  const map = meanAveragePrecision(probs, val.targets, c);
  const f1 = multiLabelF1(probs, val.targets, c);
  const result: CocoTaskResult = {
    task: 'coco',
    model: imageModel.name,
    nTrain: trainPaths.length,
    nEval: valPaths.length,
    classesUsed: map.classesUsed,
    map: map.map,
    f1Micro: f1.micro,
    f1Macro: f1.macro,
    imagesPerSecond,
    probe: probeOpts,
  };
  if (textModel) {
    if (textModel.dim !== d)
      throw new InvalidArgumentError(
        op,
        'textModel',
        `width ${textModel.dim} differs from the image model's ${d}: retrieval needs one space`,
      );
    const caps = await loadCocoCaptions(ann('captions_val2017.json'));
    // Captions of the evaluated images only, in the order of val.images.
    const keep = new Set(val.images.map((im) => im.id));
    const sub = { images: val.images, captions: caps.captions.filter((x) => keep.has(x.imageId)) };
    const gt = cocoRetrievalTargets(sub);
    const xt = l2Rows(
      await embedAll(
        textModel,
        sub.captions.map((x) => x.caption),
        { batchSize: 64, onProgress: (a, b) => onProgress?.('coco captions', a, b) },
      ),
      sub.captions.length,
      d,
    );
    const nc = sub.captions.length;
    const ni = valPaths.length;
    const sim = new Float64Array(nc * ni);
    for (let i = 0; i < nc; i++) {
      for (let j = 0; j < ni; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += xt[i * d + k]! * xVal[j * d + k]!;
        sim[i * ni + j] = s;
      }
    }
    const simT = new Float64Array(ni * nc);
    for (let i = 0; i < nc; i++) for (let j = 0; j < ni; j++) simT[j * nc + i] = sim[i * ni + j]!;
    result.retrieval = {
      textModel: textModel.name,
      captions: nc,
      textToImage: recallAtK(sim, nc, ni, gt.captionToImage).recall,
      imageToText: recallAtK(simT, ni, nc, (q) => gt.imageToCaptions[q]!).recall,
    };
  }
  return result;
}

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(2) : '–');

/** Markdown table of a COCO result (scores ×100), in the style of the pair-task table. */
export function cocoMarkdownTable(r: CocoTaskResult): string {
  const rows = [
    '| image model | task | train / eval images | classes | mAP | F1 micro | F1 macro |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    `| ${r.model} | COCO multi-label (linear probe) | ${r.nTrain} / ${r.nEval} | ${r.classesUsed} ` +
      `| ${pct(r.map)} | ${pct(r.f1Micro)} | ${pct(r.f1Macro)} |`,
  ];
  if (r.retrieval) {
    const t = r.retrieval;
    rows.push(
      '',
      '| image model | text model | captions / images ' +
        '| text→image R@1 / R@5 / R@10 | image→text R@1 / R@5 / R@10 |',
      '| --- | --- | ---: | ---: | ---: |',
      `| ${r.model} | ${t.textModel} | ${t.captions} / ${r.nEval} ` +
        `| ${[1, 5, 10].map((k) => pct(t.textToImage[k]!)).join(' / ')} ` +
        `| ${[1, 5, 10].map((k) => pct(t.imageToText[k]!)).join(' / ')} |`,
    );
  }
  return rows.join('\n') + '\n';
}
