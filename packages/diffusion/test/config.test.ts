// Parameter counts of every variant, derived by hand from the layer shapes (card presets at 28×28×1 and the
// 16384² skip of v2 at 32×32×3), glfmParamCount against the built model, and the config errors.
import { describe, expect, it } from 'vitest';

import {
  GLFM_CARD_WIDTHS,
  GlfmModel,
  InvalidArgumentError,
  glfmCardPreset,
  glfmParamCount,
  glfmPreset,
  validateGlfmConfig,
} from '../src/index.js';
import { tinyConfig } from './helpers.js';

// Parameter counts of the full-size presets are shapes, the same on every backend; building a preset (random init
// of up to 38M parameters) is slow, so these run once, on the cpu project.
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

// Hand derivation, 28×28×1 preset: c1 = 64, c2 = 128, Cb = 256, condDim 256, timeDim 128, 10 classes.
// conv(k, i, o) = k²·i·o + o;  GroupNorm(c) = 2c;  Linear(i, o) = i·o + o.
const CONDITIONING = 128 * 256 + 256 + (256 * 256 + 256) + 10 * 256; // time MLP + class table = 101,376
const ENCODER =
  9 * 1 * 64 +
  64 + //                                                          conv_in            640
  (128 + 9 * 64 * 64 + 64 + 128 + 9 * 64 * 64 + 64) + //                          res0 64→64       74,112
  (9 * 64 * 64 + 64) + //                                                         down0            36,928
  (128 + 9 * 64 * 128 + 128 + 256 + 9 * 128 * 128 + 128 + 64 * 128 + 128) + //    res1 64→128     230,144
  (9 * 128 * 128 + 128) + //                                                      down1           147,584
  (256 + 9 * 128 * 256 + 256 + 512 + 9 * 256 * 256 + 256 + 128 * 256 + 256); //   res2 128→256    919,040
const DECODER =
  512 +
  9 * 256 * 128 +
  128 +
  256 * 128 +
  128 +
  256 +
  9 * 128 * 128 +
  128 +
  256 * 128 +
  128 + // res0 256→128 (+cond) 509,184
  (9 * 128 * 128 + 128) + //                                                                      up0   147,584
  (256 + 9 * 128 * 64 + 64 + 256 * 64 + 64 + 128 + 9 * 64 * 64 + 64 + 128 * 64 + 64) + //        res1 128→64 135,808
  (9 * 64 * 64 + 64) + //                                                                         up1    36,928
  (128 + 9 * 64 * 64 + 64 + 256 * 64 + 64 + 128 + 9 * 64 * 64 + 64) + //                          res2 64→64  90,560
  128 +
  (9 * 64 * 1 + 1); //                                                                      norm_out, conv_out
// Relay: P = 16 patches, A = 16 anchors on S^15, K = 3 phases, pw_hidden 32.
const RELAY = 16 * 16 * 16 + 16 * 48 * 32 + 16 * 32 + 16 * 32 * 16 + 16 * 16; // 37,632
// v4: two 256→256 projections, two anchor sets, fuse (768 + 768 + 256 + 256 + 2 → 1024), 4 pre-LN MLP blocks (×2), 1024 → 7·7·256.
const V4_BOTTLENECK =
  2 * (256 * 256 + 256) +
  2 * 16 * 16 * 16 +
  (2050 * 1024 + 1024) +
  4 * (2 * 1024 + 1024 * 2048 + 2048 + 2048 * 1024 + 1024) +
  (1024 * 12544 + 12544);

// x_t into the decoder at full resolution (decoderXt: 'full', the v4 preset): Conv2d(1, 64, 3).
const XT_FULL = 9 * 64 + 64;
// U-Net skips (v4's skip variant, a departure): res1 takes c2 more inputs (norm, 3×3 conv, 1×1 shortcut), res2 c1 more
// (norm, 3×3 conv) and gains a 1×1 shortcut (2·c1 → c1) it did not need at 64 → 64.
const SKIPS = 2 * 128 + 9 * 128 * 64 + 128 * 64 + (2 * 64 + 9 * 64 * 64 + (128 * 64 + 64));

describe('parameter counts', () => {
  it('hand-derived parts of the 28×28×1 presets', () => {
    expect([CONDITIONING, ENCODER, DECODER, RELAY, V4_BOTTLENECK]).toEqual([
      101_376, 1_408_448, 920_769, 37_632, 31_895_296,
    ]);
    const base = CONDITIONING + ENCODER + DECODER;
    expect(SKIPS).toBe(127_424);
    const expected = {
      v1: base + RELAY + 1,
      v2: base + RELAY + 1 + (12544 * 12544 + 12544),
      v3: base + RELAY,
      v4: base + V4_BOTTLENECK + XT_FULL,
    };
    expect(expected).toEqual({ v1: 2_468_226, v2: 159_832_706, v3: 2_468_225, v4: 34_326_529 });
    expect(glfmParamCount(glfmPreset('v4', { imageSize: 28, decoderXt: 'none' })).total).toBe(34_325_889);
    // The skip variant (a departure): the U-Net skips instead of x_t.
    expect(glfmParamCount(glfmPreset('v4', { imageSize: 28, decoderXt: 'none', decoderSkips: true })).total).toBe(
      34_453_313,
    );
    expect(glfmParamCount(glfmPreset('v3', { imageSize: 28, decoderSkips: true })).total).toBe(2_468_225 + SKIPS);
    for (const v of ['v1', 'v2', 'v3', 'v4'] as const)
      expect(glfmParamCount(glfmPreset(v, { imageSize: 28 })).total).toBe(expected[v]);
  });

  it('decoderXt adds one 3×3 conv from x_t per resolution it enters (by hand, 28×28×1 v4 without skips)', () => {
    // 'full': C=1 → c1=64 (9·64 + 64); 'pyramid' also 1 → c2=128 and 1 → Cb=256.
    const none = glfmParamCount(glfmPreset('v4', { imageSize: 28, decoderXt: 'none' }));
    const full = glfmParamCount(glfmPreset('v4', { imageSize: 28, decoderXt: 'full' }));
    const pyr = glfmParamCount(glfmPreset('v4', { imageSize: 28, decoderXt: 'pyramid' }));
    expect(full.decoder - none.decoder).toBe(9 * 64 + 64);
    expect(pyr.decoder - none.decoder).toBe(9 * 64 + 64 + (9 * 128 + 128) + (9 * 256 + 256));
    expect([full.total, pyr.total]).toEqual([34_326_529, 34_330_369]);
    // At 32×32×3 the convs read 3 channels.
    const full3 = glfmParamCount(glfmPreset('v4', { decoderXt: 'full' }));
    expect(full3.total - 38_264_195).toBe(27 * 64 + 64);
  });

  it('decoderXt: full in the v4 preset, none elsewhere; configs without the field read as none; anything else throws', () => {
    expect(glfmPreset('v4').decoderXt).toBe('full');
    expect(glfmPreset('v3').decoderXt).toBe('none');
    const { decoderXt: _, ...old } = glfmPreset('v4', { imageSize: 28 });
    expect(validateGlfmConfig(old as never).decoderXt).toBe('none');
    expect(() => glfmPreset('v4', { decoderXt: 'half' as never })).toThrow(
      /'decoderXt' must be one of 'none', 'full', 'pyramid', got "half"/,
    );
  });

  it('v2 at 32×32×3 has the card skip Linear(16384, 16384) = 268,451,840 parameters', () => {
    const v1 = glfmParamCount(glfmPreset('v1'));
    const v2 = glfmParamCount(glfmPreset('v2'));
    expect(v2.bottleneck - v1.bottleneck).toBe(16384 * 16384 + 16384);
    expect(v2.bottleneck - v1.bottleneck).toBe(268_451_840);
    expect(v2.total).toBe(270_922_372);
    expect(glfmParamCount(glfmPreset('v4')).total).toBe(38_264_195 + (27 * 64 + 64));
  });

  it.skipIf(ONCE).each(['v1', 'v3', 'v4'] as const)('the built %s preset (28×28×1) has the hand-derived count', (v) => {
    const model = new GlfmModel(glfmPreset(v, { imageSize: 28 }));
    expect(model.paramCount()).toBe(glfmParamCount(model.config).total);
    model.dispose();
  });

  it.each(['v1', 'v2', 'v3', 'v4'] as const)(
    'glfmParamCount matches the built tiny %s at 28 and 32, conditioning options and U-Net skips on and off',
    (v) => {
      for (const overrides of [
        {},
        { imageSize: 32, channels: 3 },
        { encoderConditioning: true, decoderConditioning: false },
        { decoderSkips: true },
        { decoderXt: 'full' as const },
        { decoderXt: 'pyramid' as const, decoderSkips: true },
      ]) {
        const model = new GlfmModel(tinyConfig(v, overrides));
        const parts: Record<string, number> = {};
        for (const [name, p] of model.namedParameters()) {
          const top = name.split('.')[0]!;
          parts[top] = (parts[top] ?? 0) + p.size;
        }
        const count = glfmParamCount(model.config);
        expect(model.paramCount()).toBe(count.total);
        expect(parts.encoder).toBe(count.encoder);
        expect(parts.decoder).toBe(count.decoder);
        expect(parts.time_embed! + parts.class_embed!).toBe(count.conditioning);
        model.dispose();
      }
    },
  );

  it('tiny v1 by hand: relay = 2·4·16 anchors + 2·(12·8 + 8 + 8·16 + 16) MLP + 1 gate', () => {
    const model = new GlfmModel(tinyConfig('v1'));
    const relay = model
      .namedParameters()
      .filter(([n]) => n.startsWith('relay.'))
      .reduce((s, [, p]) => s + p.size, 0);
    expect(relay).toBe(2 * 4 * 16 + 2 * (12 * 8 + 8 + 8 * 16 + 16) + 1);
    expect(
      model
        .namedParameters()
        .map(([n]) => n)
        .filter((n) => n.startsWith('relay.')),
    ).toEqual(['relay.w1', 'relay.b1', 'relay.w2', 'relay.b2', 'relay.gate', 'relay.constellation.anchors']);
    model.dispose();
  });
});

// The card's sizes (v1 6.1M, v3 36.6M) by hand, for widths [c1, c2], Cb = 256, condDim 256, C image channels.
// conv(k, i, o) = k²·i·o + o; a res block i → o: GroupNorm(i) + conv3(i, o) [+ Linear(256, o) if conditioned]
// + GroupNorm(o) + conv3(o, o) [+ conv1(i, o) if i ≠ o].
const conv = (k: number, i: number, o: number) => k * k * i * o + o;
const res = (i: number, o: number, cond: boolean) =>
  2 * i + conv(3, i, o) + (cond ? 256 * o + o : 0) + 2 * o + conv(3, o, o) + (i === o ? 0 : conv(1, i, o));
function handCount(c1: number, c2: number, channels: number, gate: boolean): number {
  const encoder = conv(3, channels, c1) + res(c1, c1, false) + conv(3, c1, c1) + res(c1, c2, false) + conv(3, c2, c2);
  const toBottleneck = res(c2, 256, false);
  const decoder =
    res(256, c2, true) + conv(3, c2, c2) + res(c2, c1, true) + conv(3, c1, c1) + res(c1, c1, true) + 2 * c1;
  const out = conv(3, c1, channels);
  return CONDITIONING + encoder + toBottleneck + RELAY + (gate ? 1 : 0) + decoder + out;
}

describe('card sizes: v1 at 6.1M and v3 at 36.6M (GLFM_CARD_WIDTHS, [INFER])', () => {
  it('v1 [128, 256] and v3 [320, 752] (groups 16) have the hand-derived counts, 6.1M and 36.6M', () => {
    expect(GLFM_CARD_WIDTHS.v1).toEqual({ levelChannels: [128, 256] });
    expect(GLFM_CARD_WIDTHS.v3).toEqual({ levelChannels: [320, 752], groups: 16 });
    expect(handCount(64, 128, 1, true)).toBe(2_468_226); // the formula reproduces the default v1 preset
    expect([handCount(128, 256, 3, true), handCount(128, 256, 1, true)]).toEqual([6_102_276, 6_097_666]);
    expect([handCount(320, 752, 3, false), handCount(320, 752, 1, false)]).toEqual([36_597_747, 36_586_225]);
    expect(glfmParamCount(glfmCardPreset('v1')).total).toBe(6_102_276);
    expect(glfmParamCount(glfmCardPreset('v1', { imageSize: 28 })).total).toBe(6_097_666);
    expect(glfmParamCount(glfmCardPreset('v3')).total).toBe(36_597_747);
    expect(glfmParamCount(glfmCardPreset('v3', { imageSize: 28 })).total).toBe(36_586_225);
    // Both round to the card's numbers.
    expect((6_102_276 / 1e6).toFixed(1)).toBe('6.1');
    expect((36_597_747 / 1e6).toFixed(1)).toBe('36.6');
    // v2 and v4 are the presets; overrides win over the card widths.
    expect(glfmCardPreset('v4')).toEqual(glfmPreset('v4'));
    expect(glfmCardPreset('v2', { imageSize: 28 })).toEqual(glfmPreset('v2', { imageSize: 28 }));
    expect(glfmCardPreset('v1', { levelChannels: [64, 128] }).levelChannels).toEqual([64, 128]);
    expect(() => glfmCardPreset('v7' as 'v1')).toThrow(/glfmCardPreset: 'variant'/);
    expect(() => glfmCardPreset('v1', { imageSize: 30 })).toThrow(/glfmCardPreset: 'imageSize'/);
  });

  it.skipIf(ONCE).each(['v1', 'v3'] as const)('the built card-size %s (28×28×1) has that count', (v) => {
    const model = new GlfmModel(glfmCardPreset(v, { imageSize: 28 }));
    expect(model.paramCount()).toBe(v === 'v1' ? 6_097_666 : 36_586_225);
    model.dispose();
  });
});

describe('config errors', () => {
  it('unknown variant', () => {
    expect(() => glfmPreset('v5' as 'v1')).toThrow(InvalidArgumentError);
    expect(() => glfmPreset('v5' as 'v1')).toThrow(/glfmPreset.*variant/);
    expect(() => new GlfmModel({ ...tinyConfig('v1'), variant: 'v0' as 'v1' })).toThrow(/GlfmModel.*variant/);
  });

  it('preset image size other than 28 or 32', () => {
    expect(() => glfmPreset('v1', { imageSize: 64 })).toThrow(InvalidArgumentError);
    expect(() => glfmPreset('v1', { imageSize: 64 })).toThrow(/glfmPreset.*imageSize/);
  });

  it('bad fields name the field', () => {
    const ok = tinyConfig('v1');
    expect(() => validateGlfmConfig({ ...ok, imageSize: 30 })).toThrow(/imageSize.*divisible by 4/);
    expect(() => validateGlfmConfig({ ...ok, bottleneckChannels: 24, groups: 4 })).toThrow(
      /bottleneckChannels.*patchDim/,
    );
    expect(() => validateGlfmConfig({ ...ok, groups: 3 })).toThrow(/groups/);
    expect(() => validateGlfmConfig({ ...ok, phases: [0] })).toThrow(/phases/);
    expect(() => validateGlfmConfig({ ...ok, phases: [0, 1.5] })).toThrow(/phases/);
    expect(() => validateGlfmConfig({ ...ok, timeDim: 7 })).toThrow(/timeDim/);
    expect(() => validateGlfmConfig({ ...ok, fineAggregate: 'sum' as 'mean' })).toThrow(/fineAggregate/);
    expect(() => validateGlfmConfig({ ...ok, channels: 0 })).toThrow(InvalidArgumentError);
  });
});
