import { InvalidArgumentError } from '@geolip/geometry';

/** The four GLFM experiments of the spherical-diffusion card (spec §12.1). */
export type GlfmVariant = 'v1' | 'v2' | 'v3' | 'v4';

/** The variants {@link glfmPreset} and {@link GlfmModel} accept. */
export const GLFM_VARIANTS: readonly GlfmVariant[] = Object.freeze(['v1', 'v2', 'v3', 'v4']);

/** What the gate of v1/v2 multiplies (see {@link GlfmConfig.gateMode}). */
export type GlfmGateMode = 'relay' | 'convex' | 'bypass';

/** The gate modes {@link GlfmConfig.gateMode} accepts. */
export const GLFM_GATE_MODES: readonly GlfmGateMode[] = Object.freeze(['relay', 'convex', 'bypass']);

/**
 * Where the noisy input x_t reaches the decoder (see {@link GlfmConfig.decoderXt}): not at all, at full resolution,
 * or at every decoder resolution.
 */
export type GlfmDecoderXt = 'none' | 'full' | 'pyramid';

/** The values {@link GlfmConfig.decoderXt} accepts. */
export const GLFM_DECODER_XT: readonly GlfmDecoderXt[] = Object.freeze(['none', 'full', 'pyramid']);

/** The image sizes the presets are built for: Fashion-MNIST / MNIST (28) and CIFAR (32). */
export const PRESET_IMAGE_SIZES: readonly number[] = Object.freeze([28, 32]);

/**
 * Everything that fixes a {@link GlfmModel}'s shapes. {@link glfmPreset} fills it for the card's
 * experiments; tests and small runs override fields. Fields marked [INFER] are choices of this
 * package where spec §12 is silent (see the README).
 */
export interface GlfmConfig {
  variant: GlfmVariant;
  /** H = W of the input images; must be divisible by 4 (two stride-2 downsamples). */
  imageSize: number;
  /** C of the images (1 for Fashion-MNIST, 3 for CIFAR). */
  channels: number;
  /** Number of classes of the class embedding. */
  numClasses: number;
  /** Widths of the encoder levels at full and half resolution, `[c1, c2]` [INFER: 64, 128]. */
  levelChannels: readonly [number, number];
  /**
   * Cb, the width of the encoder output at H/4 (card: 256, giving (B, 256, 8, 8) at 32×32). Multiple of `patchDim`.
   */
  bottleneckChannels: number;
  /** G of every GroupNorm (divides c1, c2 and Cb) [INFER: 32, guided-diffusion's GroupNorm32]. */
  groups: number;
  /** Width of the time and class embeddings, summed into the conditioning vector [INFER: 256]. */
  condDim: number;
  /** Width of the sinusoids of the time embedding [INFER: 128]. */
  timeDim: number;
  /** t is multiplied by this before the sinusoids [INFER: 1000, so t ∈ [0, 1] spans DDPM's frequencies]. */
  timeScale: number;
  /** Feed the conditioning vector to the encoder's res blocks too [INFER: false, "Address(x_t)" sees x_t only]. */
  encoderConditioning: boolean;
  /** Feed the conditioning vector to the decoder's res blocks [INFER: true]. */
  decoderConditioning: boolean;
  /**
   * U-Net skips: the encoder's full- and half-resolution features are concatenated to the decoder's
   * input at the same resolution [INFER: off for every preset]. A **departure** for v4 (the card: "the
   * generator never sees the raw encoder features"); before `decoderXt` it was v4's only way to learn:
   * with neither, v4's decoder sees x_t only through the 1536-value address, which cannot carry the
   * per-pixel noise a velocity needs (the loss stays above 1; measured on Fashion-MNIST: 1.12, see the README).
   */
  decoderSkips: boolean;
  /**
   * [INFER] Where the noisy input x_t itself (the image, not an encoder feature) enters the decoder, each time
   * through its own 3×3 conv (C → the width there) added to the decoder's features:
   * - `'none'` (v1–v3 presets): the decoder sees only the bottleneck latent (and the skips, if on);
   * - `'full'` (v4 preset): x_t at full resolution, before the last res block (`decoder.xt_full`, C → c1);
   * - `'pyramid'`: also x_t average-pooled to 2s and s before the second and first res blocks (`decoder.xt_half`,
   *   C → c2; `decoder.xt_quarter`, C → Cb).
   * The card's "the generator never sees the raw encoder features" leaves x_t open, and a velocity ε − x0 needs ε
   * pixel by pixel: without skips or x_t, v4's loss cannot fall below Var(ε) = 1 (see the README).
   */
  decoderXt: GlfmDecoderXt;
  /** Width of one patch, the sphere is S^(patchDim − 1): 16 for S^15 (spec §12.2). */
  patchDim: number;
  /** Anchors per patch (spec §12.2: 16). */
  anchorsPerPatch: number;
  /** SLERP phases between home and current anchors (spec §4.5: 0, 1/3, 2/3). */
  phases: readonly number[];
  /** Hidden width of the relay's per-patch MLP (spec §12.2: `pw_hidden=32`). v1–v3 only. */
  relayHidden: number;
  /** Initial pre-sigmoid gate of v1/v2 (spec §12.2: −3, σ(−3) ≈ 0.047). */
  gateInit: number;
  /**
   * What the gate σ(g) of v1/v2 multiplies [INFER], with `base` = h (v1) or Skip(vec h) (v2) and R = Relay(h):
   * - `'relay'` (default, the author's relay pattern): z = base + σ(g)·R;
   * - `'convex'`: z = (1 − σ(g))·base + σ(g)·R, so σ(g) is the constellation's share of the mix;
   * - `'bypass'`: z = σ(g)·base + (1 − σ(g))·R, the gate on the skip: the card's "gate at 11.8%, routing 88%" read
   *   as 1 − 0.118 = 0.882 through the constellation.
   * See {@link GLFM_GATE_MODES} and `routingFraction` of the analysis.
   */
  gateMode: GlfmGateMode;
  /** v4: width of the fused condition and of the generator (spec §12.1: 1024). */
  generatorDim: number;
  /** v4: number of pre-LN MLP res blocks in the generator (spec §12.1: 4). */
  generatorBlocks: number;
  /** v4: hidden width multiplier of each generator block [INFER: 2]. */
  generatorMult: number;
  /** v4: how fine (per-pixel) triangulations aggregate over pixels [INFER: 'mean']. */
  fineAggregate: 'mean' | 'max';
  /** Seed of every initialization (weights and anchors). */
  seed: number;
}

/** Overrides accepted by {@link glfmPreset}. */
export type GlfmConfigOverrides = Partial<Omit<GlfmConfig, 'variant'>>;

/**
 * The card-scale configuration of a variant (spec §12): 32×32×3 (CIFAR-10) by default or 28×28×1
 * (Fashion-MNIST) with `{ imageSize: 28 }`; `overrides` replace any field.
 *
 * @param variant - `'v1' | 'v2' | 'v3' | 'v4'`.
 * @param overrides - fields to change; `channels` defaults to 3 at 32 and 1 at 28, `decoderXt` to
 *   `'full'` for v4 only (`'none'` for v1–v3), `decoderSkips` to false (the skip variant of v4 is a departure).
 * @throws {InvalidArgumentError} On an unknown variant, an image size other than 28 or 32, or an
 *   invalid field (see {@link validateGlfmConfig}).
 *
 * @example
 * const cfg = glfmPreset('v4', { imageSize: 28 }); // 28×28×1, bottleneck 7×7×256
 */
export function glfmPreset(variant: GlfmVariant, overrides: GlfmConfigOverrides = {}, op = 'glfmPreset'): GlfmConfig {
  checkVariant(op, variant);
  const imageSize = overrides.imageSize ?? 32;
  if (!PRESET_IMAGE_SIZES.includes(imageSize)) {
    throw new InvalidArgumentError(
      op,
      'imageSize',
      `presets are built for 28×28 or 32×32 images, got ${String(imageSize)}`,
    );
  }
  const config: GlfmConfig = {
    variant,
    imageSize,
    channels: imageSize === 28 ? 1 : 3,
    numClasses: 10,
    levelChannels: [64, 128],
    bottleneckChannels: 256,
    groups: 32,
    condDim: 256,
    timeDim: 128,
    timeScale: 1000,
    encoderConditioning: false,
    decoderConditioning: true,
    decoderSkips: false,
    decoderXt: variant === 'v4' ? 'full' : 'none',
    patchDim: 16,
    anchorsPerPatch: 16,
    phases: [0, 1 / 3, 2 / 3],
    relayHidden: 32,
    gateInit: -3,
    gateMode: 'relay',
    generatorDim: 1024,
    generatorBlocks: 4,
    generatorMult: 2,
    fineAggregate: 'mean',
    seed: 0,
    ...overrides,
  };
  return validateGlfmConfig(config, op);
}

/**
 * [INFER] Widths at which v1 and v3 have the card's parameter counts (6.1M and 36.6M; spec §12.1), the bottleneck
 * kept at the card's Cb = 256 (16 patches → 768 triangulation values). Found by a search over `levelChannels`
 * (multiples of `groups`) for the count nearest the card's, with c1 ≤ c2 (see the README's arithmetic):
 * - v1: `[128, 256]` (twice the default widths; DDPM's CIFAR widths): 6,102,276 at 32×32×3, 6,097,666 at 28×28×1;
 * - v3: `[320, 752]`, `groups` 16: 36,597,747 at 32×32×3, 36,586,225 at 28×28×1. With `groups` 32 the nearest
 *   is `[512, 544]` (36,706,851).
 * v2 and v4 are the card's sizes as they are (v2's skip is pinned by the card's 268M).
 */
export const GLFM_CARD_WIDTHS: Readonly<Partial<Record<GlfmVariant, GlfmConfigOverrides>>> = Object.freeze({
  v1: Object.freeze({ levelChannels: [128, 256] as const }),
  v3: Object.freeze({ levelChannels: [320, 752] as const, groups: 16 }),
});

/**
 * {@link glfmPreset} at the card's parameter counts: {@link GLFM_CARD_WIDTHS} for v1 and v3, the preset for v2 and
 * v4; `overrides` win over both.
 * @throws {InvalidArgumentError} As {@link glfmPreset}, naming `glfmCardPreset`.
 * @example
 * glfmParamCount(glfmCardPreset('v1')).total; // 6,102,276 (card: 6.1M)
 */
export function glfmCardPreset(variant: GlfmVariant, overrides: GlfmConfigOverrides = {}): GlfmConfig {
  checkVariant('glfmCardPreset', variant);
  return glfmPreset(variant, { ...GLFM_CARD_WIDTHS[variant], ...overrides }, 'glfmCardPreset');
}

/**
 * Checks every field of a config and returns it (frozen copy).
 * @throws {InvalidArgumentError} Naming the field, on an unknown variant, a non-positive size, an image
 *   size not divisible by 4, widths not divisible by `groups`, Cb not a multiple of `patchDim`, phases
 *   outside [0, 1], or an unknown `fineAggregate`.
 */
export function validateGlfmConfig(config: GlfmConfig, op = 'validateGlfmConfig'): GlfmConfig {
  if (typeof config !== 'object' || config === null)
    throw new InvalidArgumentError(op, 'config', `must be an object, got ${String(config)}`);
  checkVariant(op, config.variant);
  const int = (name: keyof GlfmConfig, min: number): number => {
    const v = config[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new InvalidArgumentError(op, name, `must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const size = int('imageSize', 4);
  if (size % 4 !== 0)
    throw new InvalidArgumentError(op, 'imageSize', `must be divisible by 4 (two stride-2 downsamples), got ${size}`);
  int('channels', 1);
  int('numClasses', 1);
  int('bottleneckChannels', 1);
  const groups = int('groups', 1);
  int('condDim', 1);
  const timeDim = int('timeDim', 2);
  if (timeDim % 2 !== 0) throw new InvalidArgumentError(op, 'timeDim', `must be even, got ${timeDim}`);
  const patchDim = int('patchDim', 2);
  int('anchorsPerPatch', 2);
  int('relayHidden', 1);
  int('generatorDim', 1);
  int('generatorBlocks', 0);
  int('generatorMult', 1);
  if (typeof config.seed !== 'number' || !Number.isFinite(config.seed))
    throw new InvalidArgumentError(op, 'seed', `must be a finite number, got ${String(config.seed)}`);
  if (!Number.isFinite(config.timeScale))
    throw new InvalidArgumentError(op, 'timeScale', `must be a finite number, got ${String(config.timeScale)}`);
  if (!Number.isFinite(config.gateInit))
    throw new InvalidArgumentError(op, 'gateInit', `must be a finite number, got ${String(config.gateInit)}`);
  const lc = config.levelChannels;
  if (!Array.isArray(lc) || lc.length !== 2 || lc.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new InvalidArgumentError(op, 'levelChannels', `must be [c1, c2] positive integers, got ${String(lc)}`);
  }
  for (const [name, c] of [
    ['levelChannels[0]', lc[0]],
    ['levelChannels[1]', lc[1]],
    ['bottleneckChannels', config.bottleneckChannels],
  ] as const) {
    if (c % groups !== 0) throw new InvalidArgumentError(op, 'groups', `must divide ${name} (${c}), got ${groups}`);
  }
  if (config.bottleneckChannels % patchDim !== 0) {
    throw new InvalidArgumentError(
      op,
      'bottleneckChannels',
      `must be a multiple of patchDim (${patchDim}), got ${config.bottleneckChannels}`,
    );
  }
  const ph = config.phases;
  if (!Array.isArray(ph) || ph.length < 1 || ph.some((p) => typeof p !== 'number' || !(p >= 0 && p <= 1))) {
    throw new InvalidArgumentError(op, 'phases', `must be a non-empty array of numbers in [0, 1], got ${String(ph)}`);
  }
  if (config.variant !== 'v4' && ph.every((p) => p === 0)) {
    throw new InvalidArgumentError(
      op,
      'phases',
      'must contain a phase > 0 ' +
        '(at phase 0 the triangulation uses only the fixed home anchors, so the anchors would get no gradient)',
    );
  }
  for (const name of ['encoderConditioning', 'decoderConditioning', 'decoderSkips'] as const) {
    if (typeof config[name] !== 'boolean')
      throw new InvalidArgumentError(op, name, `must be a boolean, got ${String(config[name])}`);
  }
  // Configs written before gateMode existed (model files of earlier runs) have no field: they are 'relay'.
  const gateMode = (config as Partial<GlfmConfig>).gateMode ?? 'relay';
  if (!GLFM_GATE_MODES.includes(gateMode)) {
    throw new InvalidArgumentError(
      op,
      'gateMode',
      `must be one of 'relay', 'convex', 'bypass', got ${JSON.stringify(gateMode) ?? String(gateMode)}`,
    );
  }
  // Configs written before decoderXt existed have no field: they are 'none'.
  const decoderXt = (config as Partial<GlfmConfig>).decoderXt ?? 'none';
  if (!GLFM_DECODER_XT.includes(decoderXt)) {
    throw new InvalidArgumentError(
      op,
      'decoderXt',
      `must be one of 'none', 'full', 'pyramid', got ${JSON.stringify(decoderXt) ?? String(decoderXt)}`,
    );
  }
  if (config.fineAggregate !== 'mean' && config.fineAggregate !== 'max') {
    throw new InvalidArgumentError(op, 'fineAggregate', `must be 'mean' or 'max', got ${String(config.fineAggregate)}`);
  }
  return Object.freeze({
    ...config,
    gateMode,
    decoderXt,
    levelChannels: [lc[0], lc[1]] as const,
    phases: Object.freeze([...ph]),
  });
}

/** @internal */
function checkVariant(op: string, variant: unknown): asserts variant is GlfmVariant {
  if (!GLFM_VARIANTS.includes(variant as GlfmVariant)) {
    throw new InvalidArgumentError(
      op,
      'variant',
      `must be one of 'v1', 'v2', 'v3', 'v4', got ${JSON.stringify(variant) ?? String(variant)}`,
    );
  }
}

/** Parameter count of each part of a {@link GlfmModel} (see {@link glfmParamCount}). */
export interface GlfmParamBreakdown {
  /** Time embedding (sinusoids → Linear → SiLU → Linear) and class table. */
  conditioning: number;
  /** conv_in, three res blocks, two downsamples. */
  encoder: number;
  /** Everything between encoder and decoder: relay / skip / address + generator. */
  bottleneck: number;
  /** Three res blocks, two upsamples, output norm and conv. */
  decoder: number;
  total: number;
}

/**
 * The parameter count of a {@link GlfmModel} for `config`, computed from the layer shapes alone
 * (no tensors are made: works for v2 at card scale, whose 16384² skip would need 1 GiB). The tests
 * check it against `new GlfmModel(config).paramCount()` for every variant.
 *
 * @example
 * glfmParamCount(glfmPreset('v2')).bottleneck; // includes the 16384·16384 + 16384 = 268,451,840 skip
 */
export function glfmParamCount(config: GlfmConfig): GlfmParamBreakdown {
  const c = validateGlfmConfig(config, 'glfmParamCount');
  const conv = (k: number, i: number, o: number): number => k * k * i * o + o;
  const lin = (i: number, o: number): number => i * o + o;
  const res = (i: number, o: number, cond: boolean): number =>
    2 * i + conv(3, i, o) + (cond ? lin(c.condDim, o) : 0) + 2 * o + conv(3, o, o) + (i === o ? 0 : conv(1, i, o));
  const [c1, c2] = c.levelChannels;
  const cb = c.bottleneckChannels;
  const conditioning = lin(c.timeDim, c.condDim) + lin(c.condDim, c.condDim) + c.numClasses * c.condDim;
  const ec = c.encoderConditioning;
  const encoder =
    conv(3, c.channels, c1) + res(c1, c1, ec) + conv(3, c1, c1) + res(c1, c2, ec) + conv(3, c2, c2) + res(c2, cb, ec);
  const dc = c.decoderConditioning;
  const k2 = c.decoderSkips ? 2 : 1; // U-Net skips double the inputs of the decoder's last two res blocks
  // x_t through a 3×3 conv added before the last res block ('full') or before each of the three ('pyramid').
  const xt =
    (c.decoderXt === 'none' ? 0 : conv(3, c.channels, c1)) +
    (c.decoderXt === 'pyramid' ? conv(3, c.channels, c2) + conv(3, c.channels, cb) : 0);
  const decoder =
    xt +
    res(cb, c2, dc) +
    conv(3, c2, c2) +
    res(k2 * c2, c1, dc) +
    conv(3, c1, c1) +
    res(k2 * c1, c1, dc) +
    2 * c1 +
    conv(3, c1, c.channels);
  const p = cb / c.patchDim;
  const a = c.anchorsPerPatch;
  const k = c.phases.length;
  const anchors = p * a * c.patchDim;
  const relayMlp = p * (k * a * c.relayHidden + c.relayHidden + c.relayHidden * c.patchDim + c.patchDim);
  const s = c.imageSize / 4;
  const flat = s * s * cb;
  let bottleneck: number;
  if (c.variant === 'v1') bottleneck = anchors + relayMlp + 1;
  else if (c.variant === 'v2') bottleneck = anchors + relayMlp + 1 + lin(flat, flat);
  else if (c.variant === 'v3') bottleneck = anchors + relayMlp;
  else {
    const address = 2 * p * k * a;
    const g = c.generatorDim;
    const block = 2 * g + lin(g, c.generatorMult * g) + lin(c.generatorMult * g, g);
    bottleneck =
      2 * lin(cb, cb) + 2 * anchors + lin(address + 2 * c.condDim + 2, g) + c.generatorBlocks * block + lin(g, flat);
  }
  return { conditioning, encoder, bottleneck, decoder, total: conditioning + encoder + bottleneck + decoder };
}
