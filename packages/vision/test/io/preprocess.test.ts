import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  centerCrop,
  normalize,
  resizeBilinear,
  toTensor,
  type HwcImage,
} from '../../src/io/index.js';

// Reference values from test/fixtures/io/gen_preprocess_fixtures.py (numpy, float64).
interface Dumped {
  height: number;
  width: number;
  channels: number;
  data: number[];
}
interface Fixtures {
  resize: { dtype: string; input: Dumped; size: [number, number]; output: Dumped }[];
  crop: { dtype: string; input: Dumped; size: [number, number]; output: Dumped }[];
  normalize: { dtype: string; input: Dumped; mean: number[]; std: number[]; scale: number; output: Dumped }[];
  pipeline: { input: Dumped; resize: [number, number]; crop: [number, number]; output: Dumped };
}
const fixtures = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/io/preprocess-fixtures.json', import.meta.url)), 'utf8'),
) as Fixtures;

const load = (d: Dumped, dtype: string): HwcImage => ({
  height: d.height,
  width: d.width,
  channels: d.channels,
  data: dtype === 'uint8' ? Uint8Array.from(d.data) : Float32Array.from(d.data),
});

/** float32 storage of float64 references: |Δ| ≤ atol + rtol·|ref|. */
function expectClose(actual: HwcImage, expected: Dumped, atol: number, rtol = 1e-6): void {
  expect([actual.height, actual.width, actual.channels]).toEqual([expected.height, expected.width, expected.channels]);
  let worst = 0;
  expected.data.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(actual.data[i]! - v) - rtol * Math.abs(v));
  });
  expect(worst).toBeLessThanOrEqual(atol);
}

const img = (h: number, w: number, c: number, values: number[]): HwcImage<Float32Array> => ({
  height: h,
  width: w,
  channels: c,
  data: Float32Array.from(values),
});

describe('resizeBilinear', () => {
  it.each(
    fixtures.resize.map(
      (f) => [`${f.dtype} ${f.input.height}x${f.input.width}x${f.input.channels} → ${f.size.join('x')}`, f] as const,
    ),
  )('matches numpy half-pixel bilinear: %s', (_, f) => {
    const out = resizeBilinear(load(f.input, f.dtype), { height: f.size[0], width: f.size[1] });
    expect(out.data).toBeInstanceOf(Float32Array);
    expectClose(out, f.output, 1e-5);
  });

  it('hand case: 1x2 → 1x4 interpolates with half-pixel centers and clamps at the borders', () => {
    // dst 0..3 → src max(0, (d + .5)/2 − .5) = 0, 0.25, 0.75, 1.25→clamped to pixel 1
    const out = resizeBilinear(img(1, 2, 1, [0, 100]), { height: 1, width: 4 });
    expect(Array.from(out.data)).toEqual([0, 25, 75, 100]);
  });

  it('hand case: 2x2 → 1x1 averages the four pixels, per channel', () => {
    const out = resizeBilinear(img(2, 2, 2, [0, 10, 2, 20, 4, 30, 6, 40]), 1);
    expect(Array.from(out.data)).toEqual([3, 25]);
  });

  it('is the identity at the same size (Uint8 in, float32 out)', () => {
    const data = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const out = resizeBilinear({ height: 5, width: 3, channels: 3, data }, { height: 5, width: 3 });
    expect(Array.from(out.data)).toEqual(Array.from(data));
  });

  it('agrees with tf.image.resizeBilinear(halfPixelCenters = true)', () => {
    const f = fixtures.resize[0]!;
    const input = load(f.input, f.dtype);
    const ours = resizeBilinear(input, { height: 9, width: 4 });
    const t = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor3d(Float32Array.from(input.data), [5, 7, 3]), [9, 4], false, true).dataSync(),
    );
    let worst = 0;
    t.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours.data[i]!))));
    expect(worst).toBeLessThan(1e-3);
  });

  it('rejects bad sizes and malformed images', () => {
    expect(() => resizeBilinear(img(1, 1, 1, [0]), { height: 0, width: 2 })).toThrow(InvalidArgumentError);
    expect(() => resizeBilinear(img(1, 1, 1, [0]), 2.5)).toThrow(/resizeBilinear: 'size'/);
    expect(() => resizeBilinear({ height: 2, width: 2, channels: 3, data: new Uint8Array(5) }, 1)).toThrow(ShapeError);
  });
});

describe('centerCrop', () => {
  it.each(fixtures.crop.map((f) => [`${f.input.height}x${f.input.width} → ${f.size.join('x')}`, f] as const))(
    'matches numpy / torchvision offsets: %s',
    (_, f) => {
      const input = load(f.input, f.dtype);
      const out = centerCrop(input, { height: f.size[0], width: f.size[1] });
      expect(out.data.constructor).toBe(input.data.constructor);
      expectClose(out, f.output, 0, 0);
    },
  );

  it('hand cases: odd margins round half to even (torchvision)', () => {
    const row = img(1, 6, 1, [0, 1, 2, 3, 4, 5]);
    // margin 1 → left = round(0.5) = 0; margin 3 → round(1.5) = 2; margin 2 → 1
    expect(Array.from(centerCrop(row, { height: 1, width: 5 }).data)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(centerCrop(row, { height: 1, width: 3 }).data)).toEqual([2, 3, 4]);
    expect(Array.from(centerCrop(row, { height: 1, width: 4 }).data)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a crop larger than the image', () => {
    expect(() => centerCrop(img(2, 2, 1, [0, 0, 0, 0]), 3)).toThrow(
      /centerCrop: 'size' 3x3 is larger than the image \(2x2\)/,
    );
  });
});

describe('normalize', () => {
  it.each(fixtures.normalize.map((f) => [`${f.dtype} C=${f.input.channels} scale=${f.scale}`, f] as const))(
    'matches numpy: %s',
    (_, f) => {
      const out = normalize(load(f.input, f.dtype), f.mean, f.std, { scale: f.scale });
      expectClose(out, f.output, 1e-5);
    },
  );

  it('defaults to ImageNet statistics on 0–255 bytes', () => {
    const out = normalize({ height: 1, width: 1, channels: 3, data: new Uint8Array([255, 0, 128]) });
    expect(out.data[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(out.data[1]).toBeCloseTo(-0.456 / 0.224, 5);
    expect(out.data[2]).toBeCloseTo((128 / 255 - 0.406) / 0.225, 5);
    expect(IMAGENET_MEAN).toEqual([0.485, 0.456, 0.406]);
    expect(IMAGENET_STD).toEqual([0.229, 0.224, 0.225]);
  });

  it('throws ShapeError for ImageNet statistics on a grayscale image, and for std ≤ 0', () => {
    const gray = img(1, 2, 1, [0, 1]);
    expect(() => normalize(gray)).toThrow(ShapeError);
    expect(() => normalize(gray)).toThrow(/normalize: 'mean' must have shape \[C=1\] or \[1\], got \[3\]/);
    expect(() => normalize(gray, [0], [0])).toThrow(InvalidArgumentError);
  });
});

describe('the resize → crop → normalize pipeline', () => {
  it('matches numpy end to end', () => {
    const f = fixtures.pipeline;
    const out = normalize(centerCrop(resizeBilinear(load(f.input, 'uint8'), { height: 18, width: 18 }), 16));
    expectClose(out, f.output, 1e-5);
  });
});

describe('toTensor', () => {
  it('makes [1, H, W, C] float32 from one image and [B, H, W, C] from a batch', () => {
    const a = img(2, 3, 1, [1, 2, 3, 4, 5, 6]);
    const b = { height: 2, width: 3, channels: 1, data: new Uint8Array([7, 8, 9, 10, 11, 12]) };
    const before = tf.memory().numTensors;
    const one = toTensor(a);
    const two = toTensor([a, b]);
    expect(tf.memory().numTensors - before).toBe(2);
    expect(one.shape).toEqual([1, 2, 3, 1]);
    expect(one.dtype).toBe('float32');
    expect(two.shape).toEqual([2, 2, 3, 1]);
    expect(Array.from(two.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    tf.dispose([one, two]);
  });

  it('throws ShapeError when a grayscale image is fed to an RGB model', () => {
    const gray = img(2, 2, 1, [0, 0, 0, 0]);
    expect(() => toTensor(gray, { channels: 3 })).toThrow(ShapeError);
    expect(() => toTensor(gray, { channels: 3 })).toThrow(
      /toTensor: 'image' must have shape \[H, W, C=3\], got \[2, 2, 1\] \(a grayscale image given to an RGB model/,
    );
    expect(() => toTensor([img(1, 1, 3, [0, 0, 0]), gray], { channels: 3 })).toThrow(/'images\[1\]'/);
  });

  it('throws ShapeError for mixed sizes and InvalidArgumentError for an empty batch', () => {
    expect(() => toTensor([img(1, 1, 1, [0]), img(1, 2, 1, [0, 0])])).toThrow(
      /toTensor: 'images\[1\]' must have shape \[H=1, W=1, C=1\] like images\[0\], got \[1, 2, 1\]/,
    );
    expect(() => toTensor([])).toThrow(InvalidArgumentError);
  });
});
