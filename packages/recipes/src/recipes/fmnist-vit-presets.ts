// The training presets of `fmnist-vit` (`"preset": "v5"` in a config): the Dual-Stream ViT versions and runs of the
// seed card ("GeoLIP Dual-Stream ViT", AbstractPhil/geolip-vit-dual-stream; spec §7, §8.9, §8.10, §9, §13.4) at
// Fashion-MNIST's 28 × 28 × 1. A preset is a partial config: the fields of a config file that it fills in; a field
// the config sets itself overrides the preset's (`loss`, `modelConfig`, `masteryQueue`, `augment` and an `autograd`
// object key by key). Every value's source is in the comments: [CARD] is the card or the spec quoting it, [INFER] a
// choice made here where the card is silent. The card trains on CIFAR-10 (32 × 32 × 3); every model here is the card's
// topology at 28 × 28 × 1, patch 4, 49 tokens [INFER].
import {
  FMNIST_DUAL_STREAM,
  FMNIST_DUAL_STREAM_V5,
  FMNIST_DUAL_STREAM_V5_BIDIR,
  FMNIST_DUAL_STREAM_V6,
} from '@geolip/vision';
import type { DualStreamViTConfig } from '@geolip/vision';

/** The names of the presets, in the order of the README's table. */
export const FMNIST_VIT_PRESET_NAMES = ['v1', 'v3', 'v5', 'v5-bidir', 'v6', 'run2', 'run4', 'run7', 'run12'] as const;

/** One preset name. */
export type FmnistVitPresetName = (typeof FMNIST_VIT_PRESET_NAMES)[number];

/** A preset: the config fields it fills in, and where they come from. */
export interface FmnistVitPreset {
  /** One line: which card version or run it is, and its sources. */
  source: string;
  /** Config fields, as in a config file (a `loss` object with every weight, a full `modelConfig`). */
  config: Readonly<Record<string, unknown>>;
  /** A field the config must set itself (v3: the v1 checkpoint to start from). */
  requires?: 'warmStart';
}

/** Every loss weight; the preset's stack sets the ones it uses, every other is 0. */
function stack(weights: Record<string, number>): Record<string, number> {
  const zero = {
    bce: 0,
    ce: 0,
    infoNCE: 0,
    geoBce: 0,
    geoCe: 0,
    geoDiversity: 0,
    cv: 0,
    cvGeo: 0,
    cvStd: 0,
    anchorCv: 0,
    cm: 0,
    spread: 0,
    mastery: 0,
  };
  return Object.freeze({ ...zero, ...weights });
}

const model = (c: Readonly<DualStreamViTConfig>): Record<string, unknown> => ({ ...c });

/** v5's schedule [CARD v5 config: batch 512, 100 epochs, lr 1e-3, 5 warmup epochs, clip 1.0]. */
const V5_SCHEDULE = { batchSize: 512, epochs: 100, lr: 1e-3, warmupEpochs: 5, clipNorm: 1 };

/**
 * The v6 loss stack [CARD, spec §8.10]: BCE (smoothing 0.1) 1.0, InfoNCE 0.1, mastery 1.0, geo BCE 0.3, geo diversity
 * 0.5, CV on the fused and on the geo embedding 0.1 each [INFER: "each, or total: unknown"; read as each], anchor CV
 * 0.05, CM 0.1, spread 0.001.
 */
const V6_STACK = stack({
  bce: 1,
  infoNCE: 0.1,
  mastery: 1,
  geoBce: 0.3,
  geoDiversity: 0.5,
  cv: 0.1,
  cvGeo: 0.1,
  anchorCv: 0.05,
  cm: 0.1,
  spread: 0.001,
});

/**
 * v6 as a whole: its model and stack; AdamW wd 0.01, lr 3e-4, cosine [CARD]; batch, epochs, warmup and clipping of v5
 * [INFER: the card gives no v6 schedule]; CV target 0.2 [INFER: v5's]; autograd tangential 1.0, separation 0.1 on
 * the three embeddings [CARD]; the mastery queue's absolute resize policy [CARD: "gap > 9% → grow, < 3% → shrink,
 * drift > 3% over a 5-epoch window; cooldown 5; range 1024–16384"].
 */
const V6_CONFIG = {
  modelConfig: model(FMNIST_DUAL_STREAM_V6),
  loss: V6_STACK,
  ...V5_SCHEDULE,
  lr: 3e-4,
  weightDecay: 0.01,
  cvTarget: 0.2,
  temperature: 0.07,
  smoothing: 0.1,
  autograd: { tangential: 1, separation: 0.1 },
  views: 'two',
  masteryQueue: { resizePolicy: 'absolute' },
};

/**
 * The v1 stack [INFER]: the terms of the card's stack that v1 has (BCE with smoothing 0.1 [CARD], InfoNCE 0.1 "always
 * on" [CARD], geo BCE 0.3, CV 0.1, CM 0.1 at the v6 weights); no mastery queue (the card credits it to the later runs),
 * no geo diversity, anchor CV or spread; no geometric autograd (the card gives its setting for v5/v6 only).
 */
const V1_CONFIG = {
  modelConfig: model(FMNIST_DUAL_STREAM),
  loss: stack({ bce: 1, infoNCE: 0.1, geoBce: 0.3, cv: 0.1, cm: 0.1 }),
  ...V5_SCHEDULE, // [INFER: the card's only full schedule]
  weightDecay: 0.01, // [INFER: the v6 AdamW]
  cvTarget: 0.2,
  temperature: 0.07,
  smoothing: 0.1,
  autograd: false,
  views: 'two',
};

/**
 * v5 [CARD v5 config]: CV target 0.2 at weight 0.5, InfoNCE 0.5, BCE 1.0, CM 0.5, τ 0.07, anchor dropout 0.10 (in the
 * model), and v5's schedule; geo BCE 0.3 [INFER: the v6 weight, so the geo classifier trains; the v5 config lists no
 * geo weight]; no mastery queue, geo diversity, anchor CV or spread [INFER: not in the v5 config]; autograd 1.0 / 0.1
 * [CARD: "dual-stream v5/v6"]; AdamW wd 0.01 [INFER: v6's].
 */
const V5_CONFIG = {
  modelConfig: model(FMNIST_DUAL_STREAM_V5),
  loss: stack({ bce: 1, infoNCE: 0.5, cm: 0.5, cv: 0.5, geoBce: 0.3 }),
  ...V5_SCHEDULE,
  weightDecay: 0.01,
  cvTarget: 0.2,
  temperature: 0.07,
  smoothing: 0.1,
  autograd: { tangential: 1, separation: 0.1 },
  views: 'two',
};

/**
 * Run 12 [CARD: "dual stream + geometric arbitration tower … two different signal losses, BCE and CE … GAL"; issue 21,
 * docs/gal.md]: the v5 model and stack with the main (fused) classifier on BCE and the geo classifier on CE [INFER:
 * which stream gets which loss], InfoNCE 0.5 between the two views (v5's); the tower on the geo and std embeddings
 * with its defaults (anchors from 0, GAL weight 1 over a 4096-row queue after 1024 rows, guidance 0.1 from epoch 10)
 * [INFER: every tower number].
 */
const RUN12_CONFIG = {
  ...V5_CONFIG,
  loss: stack({ bce: 1, geoCe: 1, infoNCE: 0.5, cm: 0.5, cv: 0.5 }),
  tower: { anchorInit: 'zero', gal: { weight: 1 }, guidance: { start: 'epoch', epoch: 10, weight: 0.1 } },
};

/** The training presets of `fmnist-vit` by name (see the README's table). */
export const FMNIST_VIT_PRESETS: Readonly<Record<FmnistVitPresetName, FmnistVitPreset>> = Object.freeze({
  v1: {
    source:
      'v1 topology (2 dual + 4 fused blocks at 256, 64 anchors) [CARD]; stack: BCE, InfoNCE 0.1, geo BCE, CV, CM ' +
      '[CARD weights, v1 subset INFER]; v5 schedule [INFER]',
    config: V1_CONFIG,
  },
  v3: {
    source:
      'v1 warm-started from a v1 checkpoint (`warmStart`) [CARD]; v1 stack; lr 3e-4, 50 epochs, 1 warmup epoch ' +
      '[INFER: a continuation at a lower rate]',
    config: { ...V1_CONFIG, lr: 3e-4, epochs: 50, warmupEpochs: 1 },
    requires: 'warmStart',
  },
  v5: {
    source:
      'v5 config [CARD]: batch 512, 100 epochs, lr 1e-3, 5 warmup epochs, clip 1.0, CV 0.2 @ 0.5, InfoNCE 0.5, ' +
      'BCE 1.0, CM 0.5, τ 0.07, anchor dropout 0.1, autograd 1.0/0.1; geo BCE 0.3, wd 0.01 [INFER]',
    config: V5_CONFIG,
  },
  'v5-bidir': {
    source: 'v5 with 2 dual + 4 cross blocks, no fusion [CARD]; head and training as v5',
    config: { ...V5_CONFIG, modelConfig: model(FMNIST_DUAL_STREAM_V5_BIDIR) },
  },
  v6: {
    source:
      'v6 [CARD]: 3 dual + 6 cross blocks, 256-d, 128 anchors; its loss table, AdamW wd 0.01, lr 3e-4, autograd ' +
      '1.0/0.1, absolute queue resizing; v5 batch/epochs/warmup/clip and CV target [INFER]',
    config: V6_CONFIG,
  },
  run2: {
    source:
      'Run 2 [CARD: "a bit cleaner but also missing the mastery queue"]: v6 without the mastery queue [INFER: the v6 ' +
      'model and stack]; `warmStart` optional',
    config: { ...V6_CONFIG, loss: { ...V6_STACK, mastery: 0 } },
  },
  run4: {
    source:
      'Run 4 [CARD: "likely the best version for dual stream"; its code has CrossBlock and the mastery queue, ' +
      'spec §0.3]: the v6 model and stack with the queue [INFER: the card names no difference from v6]',
    config: V6_CONFIG,
  },
  run7: {
    source:
      'Run 7 [CARD]: CV target 0.22 at weight 1.0, autograd tangential 0.5, separation 0.1; the v1 topology [INFER: ' +
      'its 6,321,542 parameters are v1-sized]; otherwise the v6 stack and optimizer [INFER]',
    config: {
      ...V6_CONFIG,
      modelConfig: model(FMNIST_DUAL_STREAM),
      loss: { ...V6_STACK, cv: 1 },
      cvTarget: 0.22,
      autograd: { tangential: 0.5, separation: 0.1 },
    },
  },
  run12: {
    source:
      'Run 12 [CARD: dual stream (BCE, CE) + geometric arbitration tower + GAL]: v5 model and schedule, main ' +
      'classifier BCE, geo classifier CE, InfoNCE 0.5; the tower (anchors from 0, GAL, guidance from epoch 10) ' +
      '[INFER: docs/gal.md]',
    config: RUN12_CONFIG,
  },
});
