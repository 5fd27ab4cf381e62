import { fc, test } from '@fast-check/vitest';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { batches, batchToTensors, ImageBatchStream, stackImages, type ImageDataset } from '../../src/io/index.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.GEOLIP_FUZZ_RUNS ?? '') || 100));

/** N images of H×W×C whose pixel values encode (sample, y, x, c) so positions can be read back. */
function dataset(n: number, height = 2, width = 3, channels = 1): ImageDataset {
  const per = height * width * channels;
  return {
    images: Uint8Array.from({ length: n * per }, (_, i) => (i % per) + 10 * Math.floor(i / per) + 1),
    labels: Array.from({ length: n }, (_, i) => i % 10),
    n,
    height,
    width,
    channels,
  };
}

describe('batches', () => {
  it('yields [B, H, W, C] float32 batches in index order without shuffle, scaled by 1/255', () => {
    const all = [...batches(dataset(5), { batchSize: 2, scale: 1 })];
    expect(all.map((b) => b.shape)).toEqual([
      [2, 2, 3, 1],
      [2, 2, 3, 1],
      [1, 2, 3, 1],
    ]);
    expect(all.map((b) => Array.from(b.indices))).toEqual([[0, 1], [2, 3], [4]]);
    expect(Array.from(all[2]!.labels)).toEqual([4]);
    expect(Array.from(all[0]!.images.subarray(6, 12))).toEqual([11, 12, 13, 14, 15, 16]);
    const scaled = batches(dataset(1), { batchSize: 1 })[Symbol.iterator]().next().value!;
    expect(scaled.images[0]).toBeCloseTo(1 / 255, 7);
  });

  it('drops the last short batch with dropLast and counts batches', () => {
    const stream = batches(dataset(5), { batchSize: 2, dropLast: true, epochs: 3 });
    expect(stream).toBeInstanceOf(ImageBatchStream);
    expect([stream.batchesPerEpoch, stream.length]).toEqual([2, 6]);
    expect([...stream].map((b) => [b.epoch, b.step, b.indices.length])).toEqual([
      [0, 0, 2],
      [0, 1, 2],
      [1, 0, 2],
      [1, 1, 2],
      [2, 0, 2],
      [2, 1, 2],
    ]);
  });

  test.prop(
    [
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.boolean(),
      fc.boolean(),
    ],
    { numRuns: RUNS, seed: 8 },
  )(
    'visits every sample exactly once per epoch (shuffled or not), and replays identically',
    (n, batchSize, epochs, seed, shuffle, augment) => {
      const options = {
        batchSize,
        epochs,
        seed,
        shuffle,
        augment: augment ? { randomCrop: { padding: 1 }, flip: true } : undefined,
      };
      const stream = batches(dataset(n), options);
      const seen = Array.from({ length: epochs }, () => new Array<number>(n).fill(0));
      const replay = [...batches(dataset(n), options)];
      let k = 0;
      for (const b of stream) {
        expect(b.indices.length).toBeLessThanOrEqual(batchSize);
        expect(b.images.length).toBe(b.indices.length * 6);
        b.indices.forEach((i, j) => {
          seen[b.epoch]![i]! += 1;
          expect(b.labels[j]).toBe(i % 10);
        });
        expect(Array.from(b.indices)).toEqual(Array.from(replay[k]!.indices));
        expect(Array.from(b.images)).toEqual(Array.from(replay[k]!.images));
        k += 1;
      }
      expect(k).toBe(stream.length);
      for (const counts of seen) expect(counts.every((c) => c === 1)).toBe(true);
    },
  );

  it('shuffles differently per epoch and per seed, deterministically', () => {
    const order = (seed: number, e: number) =>
      Array.from(batches(dataset(50), { batchSize: 50, shuffle: true, seed }).order(e));
    expect(order(1, 0)).toEqual(order(1, 0));
    expect(order(1, 0)).not.toEqual(order(1, 1));
    expect(order(1, 0)).not.toEqual(order(2, 0));
    expect([...order(1, 0)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // epoch(e) alone equals the e-th epoch of the full run (resuming mid-run)
    const stream = batches(dataset(7), { batchSize: 3, shuffle: true, seed: 5, epochs: 3, augment: { flip: true } });
    const full = [...stream].filter((b) => b.epoch === 2);
    const alone = [...stream.epoch(2)];
    expect(alone.map((b) => Array.from(b.images))).toEqual(full.map((b) => Array.from(b.images)));
  });

  describe('augmentation (hand cases)', () => {
    const one: ImageDataset = {
      images: new Uint8Array([1, 2, 3, 4, 5, 6]),
      labels: [0],
      n: 1,
      height: 2,
      width: 3,
      channels: 1,
    };

    it('flip mirrors a 2x3 image left–right, and about half the samples are flipped', () => {
      const seenImages = new Set<string>();
      let flipped = 0;
      const epochs = 200;
      for (const b of batches(one, { batchSize: 1, epochs, seed: 3, scale: 1, augment: { flip: true } })) {
        const key = Array.from(b.images).join(',');
        seenImages.add(key);
        if (key === '3,2,1,6,5,4') flipped += 1;
      }
      expect([...seenImages].sort()).toEqual(['1,2,3,4,5,6', '3,2,1,6,5,4']);
      expect(flipped).toBeGreaterThan(70);
      expect(flipped).toBeLessThan(130);
    });

    it('random crop with padding 1 shifts by −1…1 and zero-fills, giving all 9 shifts', () => {
      // Every output must be the 2x3 image shifted by (dy, dx) ∈ {−1, 0, 1}², zeros outside.
      const shifted = (dy: number, dx: number): string => {
        const out: number[] = [];
        for (let y = 0; y < 2; y++) {
          for (let x = 0; x < 3; x++) {
            const sy = y + dy;
            const sx = x + dx;
            out.push(sy >= 0 && sy < 2 && sx >= 0 && sx < 3 ? one.images[sy * 3 + sx]! : 0);
          }
        }
        return out.join(',');
      };
      const allowed = new Map<string, string>();
      for (const dy of [-1, 0, 1]) for (const dx of [-1, 0, 1]) allowed.set(shifted(dy, dx), `${dy},${dx}`);
      expect(shifted(1, 1)).toBe('5,6,0,0,0,0');
      expect(shifted(-1, 0)).toBe('0,0,0,1,2,3');
      const hit = new Set<string>();
      for (const b of batches(one, {
        batchSize: 1,
        epochs: 300,
        seed: 11,
        scale: 1,
        augment: { randomCrop: { padding: 1 } },
      })) {
        const key = Array.from(b.images).join(',');
        expect(allowed.has(key)).toBe(true);
        hit.add(allowed.get(key)!);
      }
      expect(hit.size).toBe(9);
    });

    it('padding zeros become (0 − mean)/std after normalization; crop and flip compose', () => {
      const stream = batches(one, {
        batchSize: 1,
        epochs: 400,
        seed: 2,
        scale: 1,
        mean: [1],
        std: [2],
        augment: { randomCrop: { padding: 1 }, flip: true },
      });
      const outputs = new Set<string>();
      for (const b of stream)
        outputs.add(
          Array.from(b.images)
            .map((v) => v * 2 + 1)
            .join(','),
        );
      // Shift right by one then mirror: row 0 = mirror of [0, 1, 2] = [2, 1, 0]
      expect(outputs.has('2,1,0,5,4,0')).toBe(true);
      expect(outputs.size).toBe(18);
      const firstValues = [...stream][0]!.images;
      expect(Array.from(firstValues).some((v) => v === -0.5)).toBe(true);
    });
  });

  describe('second view and random erasing', () => {
    const opts = {
      batchSize: 4,
      shuffle: true,
      seed: 7,
      epochs: 2,
      scale: 1,
      augment: { randomCrop: { padding: 2 }, flip: true },
    } as const;
    const data = (): ImageDataset => dataset(8, 6, 6, 1);

    it('emits an independently augmented second view; the first view is unchanged by it', () => {
      const plain = [...batches(data(), opts)];
      const two = [...batches(data(), { ...opts, secondView: opts.augment })];
      expect(plain.every((b) => b.view2 === undefined)).toBe(true);
      expect(two.map((b) => Array.from(b.images))).toEqual(plain.map((b) => Array.from(b.images)));
      // Same samples, same shape, but other draws: the views differ (for a 6x6 image, 25 crops × 2 flips).
      let differing = 0;
      for (const b of two) {
        expect(b.view2!.length).toBe(b.images.length);
        for (let i = 0; i < b.shape[0]; i++) {
          const a = b.images.subarray(i * 36, (i + 1) * 36);
          const v = b.view2!.subarray(i * 36, (i + 1) * 36);
          if (a.some((x, k) => x !== v[k])) differing++;
        }
      }
      expect(differing).toBeGreaterThanOrEqual(14); // of 16 pairs; equal only when both draws coincide
    });

    it('the views are deterministic per (seed, epoch), and change with the seed and the epoch', () => {
      const a = batches(data(), { ...opts, secondView: opts.augment });
      const b = batches(data(), { ...opts, secondView: opts.augment });
      const c = batches(data(), { ...opts, seed: 8, secondView: opts.augment });
      const v2 = (s: typeof a, e: number) => [...s.epoch(e)].map((x) => Array.from(x.view2!));
      expect(v2(a, 0)).toEqual(v2(b, 0));
      expect(v2(a, 1)).toEqual([...a].filter((x) => x.epoch === 1).map((x) => Array.from(x.view2!)));
      expect(v2(a, 0)).not.toEqual(v2(a, 1));
      expect(v2(a, 0)).not.toEqual(v2(c, 0));
    });

    test.prop([fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 9 }), fc.boolean()], {
      numRuns: Math.min(RUNS, 40),
    })(
      'from(step) yields exactly what iterating yields after step batches (both views, erasing, a short last batch)',
      (seed, step, dropLast) => {
        const o = {
          ...opts,
          seed,
          epochs: 3,
          batchSize: 3,
          dropLast,
          augment: { ...opts.augment, erase: { probability: 0.5 } },
          secondView: { flip: true, erase: { probability: 0.7, scale: [0.1, 0.4] as [number, number] } },
        };
        const s = batches(data(), o); // 8 samples: 3 batches an epoch (2 with dropLast)
        const all = [...s];
        const at = Math.min(step, s.length);
        const tail = [...{ [Symbol.iterator]: () => s.from(at) }];
        expect(tail.length).toBe(all.length - at);
        const key = (b: (typeof all)[number]) => [
          b.epoch,
          b.step,
          Array.from(b.indices),
          Array.from(b.images),
          Array.from(b.view2!),
        ];
        expect(tail.map(key)).toEqual(all.slice(at).map(key));
      },
    );

    it('from() refuses a step outside 0…length', () => {
      const s = batches(data(), opts);
      expect(() => s.from(-1).next()).toThrow(/ImageBatchStream\.from.*step/);
      expect(() => s.from(s.length + 1).next()).toThrow(InvalidArgumentError);
      expect([...{ [Symbol.iterator]: () => s.from(s.length) }]).toEqual([]);
    });

    it('the second view of an identity augmentation is the first view', () => {
      const [b] = [...batches(data(), { batchSize: 8, scale: 1, secondView: {} })];
      expect(Array.from(b!.view2!)).toEqual(Array.from(b!.images));
    });

    it('erasing with probability 1 writes one rectangle of the fill value within the scale and ratio bounds', () => {
      const ones: ImageDataset = {
        images: new Uint8Array(10 * 10 * 5).fill(9),
        labels: [0, 1, 2, 3, 4],
        n: 5,
        height: 10,
        width: 10,
        channels: 1,
      };
      const erase = { probability: 1, scale: [0.1, 0.2], ratio: [0.5, 2], value: 3 } as const;
      let boxes = 0;
      for (const b of batches(ones, { batchSize: 5, epochs: 20, seed: 1, scale: 1, augment: { erase } })) {
        for (let i = 0; i < 5; i++) {
          const img = b.images.subarray(i * 100, (i + 1) * 100);
          const cells: [number, number][] = [];
          img.forEach((v, k) => {
            expect([3, 9]).toContain(v);
            if (v === 3) cells.push([Math.floor(k / 10), k % 10]);
          });
          if (cells.length === 0) continue; // no draw fitted (rare)
          boxes++;
          const ys = cells.map((c) => c[0]);
          const xs = cells.map((c) => c[1]);
          const h = Math.max(...ys) - Math.min(...ys) + 1;
          const w = Math.max(...xs) - Math.min(...xs) + 1;
          expect(cells.length).toBe(h * w); // a full rectangle
          // Rounded sides of an area in [10, 20] px² at ratio [0.5, 2]: area within rounding of the bounds.
          expect(h * w).toBeGreaterThanOrEqual(6);
          expect(h * w).toBeLessThanOrEqual(30);
          expect(h / w).toBeGreaterThanOrEqual(0.25);
          expect(h / w).toBeLessThanOrEqual(4);
        }
      }
      expect(boxes).toBeGreaterThan(90); // of 100
      // Probability 0 never erases.
      for (const b of batches(ones, { batchSize: 5, seed: 1, scale: 1, augment: { erase: { probability: 0 } } }))
        expect(b.images.every((v) => v === 9)).toBe(true);
    });

    it('refuses bad erasing options, naming the block', () => {
      const bad = (erase: unknown, key = 'augment') =>
        expect(() => batches(data(), { batchSize: 1, [key]: { erase } } as never));
      bad({ probability: 1.5 }).toThrow(/batches: 'augment\.erase\.probability' must be in \[0, 1\]/);
      bad({ probability: 0.5, scale: [0.5, 0.1] }).toThrow(/'augment\.erase\.scale' must be \[min, max\]/);
      bad({ probability: 0.5, ratio: [0, 1] }).toThrow(/'augment\.erase\.ratio'/);
      bad({ probability: 0.5, value: NaN }, 'secondView').toThrow(/'secondView\.erase\.value'/);
      expect(() => batches(data(), { batchSize: 1, secondView: { randomCrop: { padding: 1.5 } } })).toThrow(
        /'secondView\.randomCrop\.padding'/,
      );
    });
  });

  it('batchToTensors makes NHWC float32 images and int32 or one-hot labels', () => {
    const b = [...batches(dataset(4, 2, 2, 3), { batchSize: 4 })][0]!;
    const before = tf.memory().numTensors;
    const t = batchToTensors(b);
    expect([t.images.shape, t.images.dtype, t.labels.shape, t.labels.dtype]).toEqual([
      [4, 2, 2, 3],
      'float32',
      [4],
      'int32',
    ]);
    const h = batchToTensors(b, { oneHot: 10 });
    expect(h.labels.shape).toEqual([4, 10]);
    expect(Array.from(h.labels.dataSync().slice(10, 20))).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => batchToTensors(b, { oneHot: 2 })).toThrow(/label 2 at 2 is outside 0…1/);
    expect(tf.memory().numTensors - before).toBe(4);
    tf.dispose([t.images, t.labels, h.images, h.labels]);
  });

  it('rejects bad options and inconsistent datasets', () => {
    expect(() => batches(dataset(3), { batchSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => batches(dataset(3), { batchSize: 1, augment: { randomCrop: { padding: -1 } } })).toThrow(
      /'augment\.randomCrop\.padding'/,
    );
    expect(() => batches({ ...dataset(3), n: 4 }, { batchSize: 1 })).toThrow(ShapeError);
    expect(() => batches(dataset(3, 2, 2, 3), { batchSize: 1, mean: [0, 0] })).toThrow(
      /batches: 'mean' must have shape \[C=3\] or \[1\]/,
    );
  });

  it('stackImages turns decoded images into a dataset', () => {
    const a = { width: 2, height: 1, channels: 3, data: new Uint8Array(6).fill(1) };
    const ds = stackImages([a, a], [0, 1]);
    expect([ds.n, ds.height, ds.width, ds.channels, ds.images.length]).toEqual([2, 1, 2, 3, 12]);
    expect(() => stackImages([a, { ...a, width: 1, data: new Uint8Array(3) }], [0, 1])).toThrow(ShapeError);
  });
});
