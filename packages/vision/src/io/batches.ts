/**
 * Seeded, deterministic mini-batch streams over an {@link ImageDataset}, with the augmentations of the GeoLIP
 * vision recipes (random crop after zero padding, horizontal flip, random erasing) and, for contrastive losses, a
 * second, independently augmented view of every image.
 */
import { createRng, InvalidArgumentError, ShapeError, type Rng } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';

import type { ImageDataset } from './fashion-mnist.js';

/** Augmentations, applied per sample in this order: random crop, then flip, then random erasing. */
export interface AugmentOptions {
  /**
   * Pad every side with `padding` zero pixels, then cut a random H×W window (torchvision
   * `RandomCrop(H, padding)`).
   */
  randomCrop?: { padding: number };
  /** Mirror left–right with probability 1/2 (torchvision `RandomHorizontalFlip()`). */
  flip?: boolean;
  /** Random erasing (torchvision `RandomErasing`, Zhong et al. 2017): see {@link EraseOptions}. */
  erase?: EraseOptions;
}

/**
 * Random erasing: with probability `probability`, one rectangle of the (cropped, flipped) image is set to `value`.
 * Its area is a uniform fraction of H·W in `scale`, its aspect ratio h/w log-uniform in `ratio`; up to 10 draws
 * look for a rectangle that fits (torchvision's rule), and when none fits the image is left as it is.
 */
export interface EraseOptions {
  /** Probability of erasing a sample, in [0, 1]. */
  probability: number;
  /** [min, max] area of the rectangle as a fraction of the image, 0 < min ≤ max ≤ 1. Default [0.02, 0.33]. */
  scale?: readonly [number, number];
  /** [min, max] aspect ratio h/w, 0 < min ≤ max. Default [0.3, 3.3]. */
  ratio?: readonly [number, number];
  /** The raw pixel value written (before `scale`, `mean` and `std`, like the crop's padding). Default 0. */
  value?: number;
}

/** Options of {@link batches}. */
export interface BatchOptions {
  /** Samples per batch (the last one of an epoch may be smaller unless `dropLast`). */
  batchSize: number;
  /** Visit the samples in a fresh random order every epoch. Default `false` (index order). */
  shuffle?: boolean;
  /** Seed of the order and of the augmentations. Default 0. */
  seed?: number;
  /** Passes over the data. Default 1. */
  epochs?: number;
  /** Drop the last, smaller batch of each epoch. Default `false`. */
  dropLast?: boolean;
  augment?: AugmentOptions;
  /**
   * Also emit a second view of every sample ({@link ImageBatch.view2}), augmented with these options from its own
   * random stream: the two views of one image are independent draws (the pairs of a view-vs-view InfoNCE). The
   * first view (`images`) is the same with or without it. Default: none.
   */
  secondView?: AugmentOptions;
  /** Pixel scale applied first: `x · scale`. Default `1/255` (bytes to [0, 1]). */
  scale?: number;
  /** Per-channel mean subtracted after scaling (1 or C values). Default none. */
  mean?: readonly number[];
  /** Per-channel std divided by after subtracting the mean (1 or C values). Default none. */
  std?: readonly number[];
}

/** One mini-batch: plain typed arrays; {@link batchToTensors} makes tensors of it. */
export interface ImageBatch {
  /** `[B, H, W, C]` float32, NHWC. */
  images: Float32Array;
  /** `[B, H, W, C]` the second view of the same samples (only with {@link BatchOptions.secondView}). */
  view2?: Float32Array;
  /** `[B]` labels. */
  labels: Int32Array;
  /** `[B]` positions of the samples in the dataset. */
  indices: Int32Array;
  /** `[B, H, W, C]`. */
  shape: [number, number, number, number];
  /** 0-based epoch and batch-within-epoch. */
  epoch: number;
  step: number;
}

/** Mixes (seed, epoch, stream) into one 32-bit seed (splitmix32 finalizer). */
function mixSeed(seed: number, epoch: number, stream: number): number {
  let z = ((seed >>> 0) ^ Math.floor(seed / 4294967296)) >>> 0;
  for (const v of [epoch, stream]) {
    z = (z + 0x9e3779b9 + Math.imul(v + 1, 0x85ebca6b)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
  }
  return z;
}

function channelTable(name: string, v: readonly number[] | undefined, C: number, fallback: number): Float64Array {
  if (v === undefined) return new Float64Array(C).fill(fallback);
  if (v.length !== 1 && v.length !== C) throw new ShapeError('batches', name, `[C=${C}] or [1]`, [v.length]);
  return Float64Array.from({ length: C }, (_, c) => v[v.length === 1 ? 0 : c]!);
}

/**
 * A re-iterable stream of mini-batches. Every iteration replays the same batches (same seed, same
 * order, same augmentations); epoch `e` depends only on `(seed, e)`, so {@link ImageBatchStream.epoch}
 * can resume in the middle of a run.
 *
 * @remarks Each epoch visits every sample exactly once (the last batch is smaller, or dropped with
 * `dropLast`). Padding fills raw pixel value 0 (black), which becomes `(0 − mean)/std` after normalization.
 */
export class ImageBatchStream implements Iterable<ImageBatch> {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly epochs: number;
  readonly batchesPerEpoch: number;
  private readonly options: BatchOptions;
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;

  constructor(dataset: ImageDataset, options: BatchOptions) {
    const op = 'batches';
    const { n, height, width, channels } = dataset ?? ({} as ImageDataset);
    for (const [name, v] of [
      ['n', n],
      ['height', height],
      ['width', width],
      ['channels', channels],
    ] as const) {
      if (!Number.isInteger(v) || v < (name === 'n' ? 0 : 1))
        throw new InvalidArgumentError(op, `dataset.${name}`, `must be a positive integer, got ${String(v)}`);
    }
    if (dataset.images.length !== n * height * width * channels) {
      throw new ShapeError(
        op,
        'dataset.images',
        `[N=${n}, H=${height}, W=${width}, C=${channels}]`,
        [dataset.images.length],
        'flat length',
      );
    }
    if (dataset.labels.length !== n) throw new ShapeError(op, 'dataset.labels', `[N=${n}]`, [dataset.labels.length]);
    const { batchSize, epochs = 1, seed = 0, scale = 1 / 255 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidArgumentError(op, 'batchSize', `must be a positive integer, got ${String(batchSize)}`);
    if (!Number.isInteger(epochs) || epochs < 0)
      throw new InvalidArgumentError(op, 'epochs', `must be a non-negative integer, got ${String(epochs)}`);
    if (!Number.isFinite(seed))
      throw new InvalidArgumentError(op, 'seed', `must be a finite number, got ${String(seed)}`);
    if (!Number.isFinite(scale)) throw new InvalidArgumentError(op, 'scale', `must be finite, got ${String(scale)}`);
    checkAugment(options.augment, 'augment');
    checkAugment(options.secondView, 'secondView');
    this.mean = channelTable('mean', options.mean, channels, 0);
    const std = channelTable('std', options.std, channels, 1);
    if (!std.every((s) => s > 0 && Number.isFinite(s)))
      throw new InvalidArgumentError(op, 'std', 'entries must be positive and finite');
    this.invStd = std.map((s) => 1 / s);
    this.dataset = dataset;
    this.options = { ...options, scale };
    this.batchSize = batchSize;
    this.epochs = epochs;
    this.batchesPerEpoch = options.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  }

  /** Total number of batches over all epochs. */
  get length(): number {
    return this.batchesPerEpoch * this.epochs;
  }

  /** The sample order of epoch `e`: a permutation of 0…N−1 (identity without `shuffle`). */
  order(e: number): Int32Array {
    const n = this.dataset.n;
    const order = Int32Array.from({ length: n }, (_, i) => i);
    if (!this.options.shuffle) return order;
    const rng = createRng(mixSeed(this.options.seed ?? 0, e, 0));
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    return order;
  }

  /** The batches of epoch `e` alone (0-based; any e ≥ 0, also beyond `epochs`). */
  *epoch(e: number): Generator<ImageBatch> {
    yield* this.epochFrom(e, 0);
  }

  /**
   * The batches from global step `step` (0-based, over all epochs) to the end: what iterating the stream yields after
   * `step` batches, without rendering those. A resumed run starts here: the skipped batches of the current epoch only
   * replay their random draws (crop, flip, erasing), so resuming costs at most one epoch's draws, not every pixel of
   * every earlier batch.
   * @throws {InvalidArgumentError} If `step` is not an integer in 0…length.
   */
  *from(step: number): Generator<ImageBatch> {
    if (!Number.isInteger(step) || step < 0 || step > this.length)
      throw new InvalidArgumentError(
        'ImageBatchStream.from',
        'step',
        `must be an integer in 0…${this.length}, got ${String(step)}`,
      );
    if (this.batchesPerEpoch === 0) return;
    const first = Math.floor(step / this.batchesPerEpoch);
    for (let e = first; e < this.epochs; e++) yield* this.epochFrom(e, e === first ? step % this.batchesPerEpoch : 0);
  }

  /** The batches of epoch `e` from its batch `start` on; the earlier batches' draws are replayed, not rendered. */
  private *epochFrom(e: number, start: number): Generator<ImageBatch> {
    const order = this.order(e);
    const seed = this.options.seed ?? 0;
    const rng = createRng(mixSeed(seed, e, 1));
    // The second view draws from its own stream, so the first view does not depend on it.
    const rng2 = this.options.secondView ? createRng(mixSeed(seed, e, 2)) : null;
    const { height: H, width: W, channels: C } = this.dataset;
    for (let step = 0; step < this.batchesPerEpoch; step++) {
      const indices = order.slice(step * this.batchSize, Math.min((step + 1) * this.batchSize, order.length));
      if (step < start) {
        for (let b = 0; b < indices.length; b++) {
          this.draw(rng, this.options.augment);
          if (rng2) this.draw(rng2, this.options.secondView);
        }
        continue;
      }
      const images = this.render(indices, rng, this.options.augment);
      const view2 = rng2 ? this.render(indices, rng2, this.options.secondView) : undefined;
      const labels = Int32Array.from(indices, (i) => this.dataset.labels[i]!);
      yield {
        images,
        ...(view2 ? { view2 } : {}),
        labels,
        indices,
        shape: [indices.length, H, W, C],
        epoch: e,
        step,
      };
    }
  }

  /** One sample's augmentation draws from `rng`, in the order render uses them: crop offset, flip, erasing. */
  private draw(
    rng: Rng,
    augment: AugmentOptions | undefined,
  ): { dy: number; dx: number; mirrored: boolean; box: ReturnType<typeof eraseBox> } {
    const padding = augment?.randomCrop?.padding;
    let dy = 0;
    let dx = 0;
    if (padding !== undefined) {
      dy = rng.int(2 * padding + 1) - padding;
      dx = rng.int(2 * padding + 1) - padding;
    }
    const mirrored = augment?.flip === true && rng.uniform() < 0.5;
    const erase = augment?.erase;
    const box = erase ? eraseBox(rng, erase, this.dataset.height, this.dataset.width) : null;
    return { dy, dx, mirrored, box };
  }

  *[Symbol.iterator](): Iterator<ImageBatch> {
    for (let e = 0; e < this.epochs; e++) yield* this.epoch(e);
  }

  /** The samples `indices`, augmented with draws from `rng` (per sample: crop offset, flip, erasing), scaled. */
  private render(indices: Int32Array, rng: Rng, augment: AugmentOptions | undefined): Float32Array {
    const { height: H, width: W, channels: C, images } = this.dataset;
    const per = H * W * C;
    const B = indices.length;
    const out = new Float32Array(B * per);
    const fill = augment?.erase?.value ?? 0;
    const scale = this.options.scale!;
    const { mean, invStd } = this;
    for (let b = 0; b < B; b++) {
      const src = indices[b]! * per;
      // Crop offset in the padded image (top-left corner), then flip, then erasing: drawn in this order per sample.
      const { dy, dx, mirrored, box } = this.draw(rng, augment);
      const dst = b * per;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        for (let x = 0; x < W; x++) {
          const xs = (mirrored ? W - 1 - x : x) + dx;
          const o = dst + (y * W + x) * C;
          const inside = sy >= 0 && sy < H && xs >= 0 && xs < W;
          const erased = box !== null && y >= box.top && y < box.top + box.h && x >= box.left && x < box.left + box.w;
          const s = src + (sy * W + xs) * C;
          for (let c = 0; c < C; c++) {
            const v = erased ? fill : inside ? images[s + c]! : 0;
            out[o + c] = (v * scale - mean[c]!) * invStd[c]!;
          }
        }
      }
    }
    return out;
  }
}

/**
 * The rectangle random erasing covers, or null (not erased this time, or no draw fitted): torchvision's
 * `RandomErasing.get_params`, with one uniform draw deciding whether to erase at all.
 */
function eraseBox(
  rng: Rng,
  o: EraseOptions,
  H: number,
  W: number,
): { top: number; left: number; h: number; w: number } | null {
  if (!(rng.uniform() < o.probability)) return null;
  const [s0, s1] = o.scale ?? [0.02, 0.33];
  const [r0, r1] = o.ratio ?? [0.3, 3.3];
  const area = H * W;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (s0 + (s1 - s0) * rng.uniform());
    const ratio = Math.exp(Math.log(r0) + (Math.log(r1) - Math.log(r0)) * rng.uniform());
    const h = Math.round(Math.sqrt(target * ratio));
    const w = Math.round(Math.sqrt(target / ratio));
    if (h >= 1 && w >= 1 && h < H && w < W) return { top: rng.int(H - h + 1), left: rng.int(W - w + 1), h, w };
  }
  return null;
}

/** Checks one {@link AugmentOptions} block (`name` is `augment` or `secondView`). */
function checkAugment(a: AugmentOptions | undefined, name: string): void {
  const op = 'batches';
  if (a === undefined) return;
  const padding = a.randomCrop?.padding;
  if (padding !== undefined && (!Number.isInteger(padding) || padding < 0))
    throw new InvalidArgumentError(
      op,
      `${name}.randomCrop.padding`,
      `must be a non-negative integer, got ${String(padding)}`,
    );
  const e = a.erase;
  if (e === undefined) return;
  if (typeof e.probability !== 'number' || !(e.probability >= 0 && e.probability <= 1))
    throw new InvalidArgumentError(op, `${name}.erase.probability`, `must be in [0, 1], got ${String(e.probability)}`);
  const pair = (key: 'scale' | 'ratio', max: number): void => {
    const v = e[key];
    if (v === undefined) return;
    const ok =
      Array.isArray(v) &&
      v.length === 2 &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
      v[0]! > 0 &&
      v[0]! <= v[1]! &&
      v[1]! <= max;
    if (!ok)
      throw new InvalidArgumentError(
        op,
        `${name}.erase.${key}`,
        `must be [min, max] with 0 < min <= max${max === Infinity ? '' : ` <= ${max}`}, got ${JSON.stringify(v)}`,
      );
  };
  pair('scale', 1);
  pair('ratio', Infinity);
  if (e.value !== undefined && !Number.isFinite(e.value))
    throw new InvalidArgumentError(op, `${name}.erase.value`, `must be a finite number, got ${String(e.value)}`);
}

/**
 * Mini-batches of a dataset: `{ images: Float32Array [B, H, W, C], labels, indices }` per batch.
 *
 * @example
 * const train = await loadFashionMnist('train');
 * for (const batch of batches(train, { batchSize: 128, shuffle: true, seed: 1, epochs: 2, augment: { flip: true } })) {
 *   const { images, labels } = batchToTensors(batch); // float32 [128, 28, 28, 1], int32 [128]
 *   tf.dispose([images, labels]);
 * }
 */
export function batches(dataset: ImageDataset, options: BatchOptions): ImageBatchStream {
  return new ImageBatchStream(dataset, options);
}

/**
 * Turns a batch into tensors: `images` float32 `[B, H, W, C]`, `labels` int32 `[B]`, or float32 `[B, K]`
 * one-hot rows with `{ oneHot: K }`. The caller disposes them.
 */
export function batchToTensors(
  batch: ImageBatch,
  options: { oneHot?: number } = {},
): { images: tf.Tensor4D; labels: tf.Tensor1D | tf.Tensor2D } {
  const images = tf.tensor4d(batch.images, batch.shape, 'float32');
  if (options.oneHot === undefined) return { images, labels: tf.tensor1d(batch.labels, 'int32') };
  const K = options.oneHot;
  if (!Number.isInteger(K) || K < 1)
    throw new InvalidArgumentError('batchToTensors', 'oneHot', `must be a positive integer, got ${String(K)}`);
  const rows = new Float32Array(batch.labels.length * K);
  batch.labels.forEach((l, i) => {
    if (l < 0 || l >= K) {
      images.dispose();
      throw new InvalidArgumentError('batchToTensors', 'batch.labels', `label ${l} at ${i} is outside 0…${K - 1}`);
    }
    rows[i * K + l] = 1;
  });
  return { images, labels: tf.tensor2d(rows, [batch.labels.length, K], 'float32') };
}

/**
 * Stacks same-sized decoded images into an {@link ImageDataset} (e.g. JPEGs after resize and crop).
 * @throws {ShapeError} If the images differ in size or channel count, or `labels` has another length.
 */
export function stackImages(
  images: readonly { width: number; height: number; channels: number; data: Uint8Array | Float32Array }[],
  labels: ArrayLike<number>,
): ImageDataset {
  if (images.length === 0) throw new InvalidArgumentError('stackImages', 'images', 'must hold at least one image');
  if (labels.length !== images.length)
    throw new ShapeError('stackImages', 'labels', `[N=${images.length}]`, [labels.length]);
  const { height, width, channels } = images[0]!;
  const per = height * width * channels;
  const float = images.some((im) => im.data instanceof Float32Array);
  const out = float ? new Float32Array(per * images.length) : new Uint8Array(per * images.length);
  images.forEach((im, i) => {
    if (im.height !== height || im.width !== width || im.channels !== channels || im.data.length !== per) {
      throw new ShapeError('stackImages', `images[${i}]`, `[H=${height}, W=${width}, C=${channels}] like images[0]`, [
        im.height,
        im.width,
        im.channels,
      ]);
    }
    out.set(im.data, i * per);
  });
  return { images: out, labels: Array.from(labels), n: images.length, height, width, channels };
}
