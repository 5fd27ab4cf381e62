// fashionMnistInput: hand-derived cases (block upsampling, area averages at a 3 → 2 ratio, luma, alpha over white,
// auto-inversion, trim and centring), the numpy reference of the whole pipeline (fixtures/pretrained/
// gen_input_fixtures.py: area resampling by repetition), properties, and the errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError } from '@geolip/geometry';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { fashionMnistInput } from '../../src/index.js';
import type { FashionMnistInputOptions } from '../../src/index.js';

const fixtures = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/pretrained/input-fixtures.json', import.meta.url)), 'utf8'),
) as {
  cases: {
    name: string;
    width: number;
    height: number;
    channels: 1 | 3 | 4;
    data: number[];
    options: FashionMnistInputOptions;
    expected: number[];
  }[];
};

const gray = (values: number[], width: number, height: number) => ({ data: Uint8Array.from(values), width, height });
const plain = { invert: false, trim: false } as const;

describe('fashionMnistInput: hand-derived', () => {
  it('upsamples 2×2 → 4×4 into 2×2 blocks', () => {
    const out = fashionMnistInput(gray([0, 255, 255, 0], 2, 2), { ...plain, size: 4 });
    expect(Array.from(out)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
  });

  it('averages areas: 2×2 → 1 is the mean; 3 → 2 weighs the middle sample half into each side', () => {
    expect(fashionMnistInput(gray([0, 255, 255, 0], 2, 2), { ...plain, size: 1 })[0]).toBeCloseTo(0.5, 6);
    // 3×3 → 2×2, rows of [a, b, c] = [0, 255, 102] (0, 1, 0.4): left = (a + b/2) / 1.5, right = (b/2 + c) / 1.5
    const out = fashionMnistInput(gray([0, 255, 102, 0, 255, 102, 0, 255, 102], 3, 3), { ...plain, size: 2 });
    expect(out[0]).toBeCloseTo(0.5 / 1.5, 6);
    expect(out[1]).toBeCloseTo(0.9 / 1.5, 6);
    expect(out[2]).toBeCloseTo(out[0]!, 6);
  });

  it('uses luma for RGB and composites alpha over white', () => {
    const red = fashionMnistInput({ data: Uint8Array.from([255, 0, 0]), width: 1, height: 1 }, { ...plain, size: 1 });
    expect(red[0]).toBeCloseTo(0.299, 6);
    const clear = fashionMnistInput(
      { data: Uint8Array.from([0, 0, 0, 0]), width: 1, height: 1 },
      { ...plain, size: 1 },
    );
    expect(clear[0]).toBeCloseTo(1, 6); // transparent black shows as white
    const half = fashionMnistInput(
      { data: new Uint8ClampedArray([0, 0, 0, 51]), width: 1, height: 1, channels: 4 },
      { ...plain, size: 1 },
    );
    expect(half[0]).toBeCloseTo(0.8, 6);
  });

  it("inverts a light background ('auto'), not a dark one", () => {
    const lightBg = gray([255, 255, 255, 255, 0, 255, 255, 255, 255], 3, 3);
    expect(Array.from(fashionMnistInput(lightBg, { trim: false, size: 3 }))).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    const darkBg = gray([0, 0, 0, 0, 255, 0, 0, 0, 0], 3, 3);
    expect(Array.from(fashionMnistInput(darkBg, { trim: false, size: 3 }))).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(fashionMnistInput(darkBg, { trim: false, size: 3, invert: true }))).toEqual([
      1, 1, 1, 1, 0, 1, 1, 1, 1,
    ]);
  });

  it('trims to the garment, fits its longest side and centres it', () => {
    // A 4 × 2 white bar on a 10 × 10 black image → 28 × 14, rows 7–20.
    const px = new Array(100).fill(0);
    for (let y = 3; y < 5; y++) for (let x = 2; x < 6; x++) px[y * 10 + x] = 255;
    const out = fashionMnistInput(gray(px, 10, 10));
    for (let y = 0; y < 28; y++) {
      const row = Array.from(out.subarray(y * 28, (y + 1) * 28));
      expect(row).toEqual(new Array(28).fill(y >= 7 && y < 21 ? 1 : 0));
    }
    // Nothing above the threshold: the whole image is kept (all black → all zeros).
    expect(Array.from(fashionMnistInput(gray(new Array(16).fill(0), 4, 4), { size: 2 }))).toEqual([0, 0, 0, 0]);
  });
});

describe('fashionMnistInput: numpy reference', () => {
  for (const c of fixtures.cases) {
    it(`${c.name} ${JSON.stringify(c.options)}`, () => {
      const out = fashionMnistInput(
        { data: Uint8Array.from(c.data), width: c.width, height: c.height, channels: c.channels },
        c.options,
      );
      expect(out.length).toBe(c.expected.length);
      let worst = 0;
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c.expected[i]!))));
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

describe('fashionMnistInput: properties', () => {
  const image = fc.integer({ min: 1, max: 12 }).chain((side) =>
    fc.record({
      side: fc.constant(side),
      data: fc.uint8Array({ minLength: side * side, maxLength: side * side }),
      size: fc.integer({ min: 1, max: 30 }),
    }),
  );
  fcTest.prop([image])('values in [0, 1]; a square image without trim keeps its mean', ({ side, data, size }) => {
    const out = fashionMnistInput({ data, width: side, height: side }, { ...plain, size });
    expect(out.length).toBe(size * size);
    expect(out.every((v) => v >= 0 && v <= 1)).toBe(true);
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(Array.from(data, (v) => v / 255)), 5);
  });
});

describe('fashionMnistInput: errors', () => {
  const cases: [string, () => unknown, string][] = [
    ['image', () => fashionMnistInput(null as never), 'image'],
    ['data type', () => fashionMnistInput({ data: [1, 2] as never, width: 1, height: 2 }), 'image.data'],
    ['width', () => fashionMnistInput({ data: new Uint8Array(4), width: 0, height: 2 }), 'image.width'],
    ['height', () => fashionMnistInput({ data: new Uint8Array(4), width: 2, height: 1.5 }), 'image.height'],
    ['2 channels', () => fashionMnistInput({ data: new Uint8Array(8), width: 2, height: 2 }), 'image.data'],
    [
      'channels mismatch',
      () => fashionMnistInput({ data: new Uint8Array(12), width: 2, height: 2, channels: 4 }),
      'image.data',
    ],
    ['size', () => fashionMnistInput(gray([0], 1, 1), { size: 0 }), 'options.size'],
    ['invert', () => fashionMnistInput(gray([0], 1, 1), { invert: 'yes' as never }), 'options.invert'],
    ['trimThreshold', () => fashionMnistInput(gray([0], 1, 1), { trimThreshold: 1 }), 'options.trimThreshold'],
  ];
  for (const [name, call, arg] of cases) {
    it(name, () => {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(/^fashionMnistInput: /);
      try {
        call();
      } catch (e) {
        expect((e as InvalidArgumentError).argument).toBe(arg);
      }
    });
  }
});
