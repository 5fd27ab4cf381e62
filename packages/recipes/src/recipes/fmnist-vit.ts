// Recipe `fmnist-vit`: the Dual-Stream ViT of @geolip/vision on Fashion-MNIST with the card's loss stack, or a plain
// ViT of about the same size trained the same way (issue 8, recipe 1; card fidelity, issue 20). InfoNCE pairs two
// independently augmented views of each image (or, for the old runs, the image and its mirror); the card's versions
// and runs are presets (fmnist-vit-presets.ts). Reports test accuracy, the geo stream's own accuracy, per-epoch
// geometry diagnostics (CM validity, the mastery queue's hard negatives/positives, active anchors, per-class CV) and
// the anchors' `scan` of the test embeddings.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { ARBITRATION_TOWER_TYPE, formatScan, scanAsync, anchorCVLoss, spreadLoss } from '@geolip/anchors';
import {
  DUAL_STREAM_AUTOGRAD,
  DualStreamViT,
  FMNIST_DUAL_STREAM,
  FMNIST_PLAIN_VIT,
  ViTClassifier,
} from '@geolip/vision';
import type { DualStreamViTConfig, ViTEncoderConfig } from '@geolip/vision';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, batches, loadFashionMnist } from '@geolip/vision/io';
import type { AugmentOptions, ImageBatch, ImageBatchStream, ImageDataset } from '@geolip/vision/io';
import type { GeometricAutogradOptions } from '@geolip/anchors';
import {
  MasteryQueue,
  bceWithLabelSmoothing,
  configReader,
  crossEntropy,
  cvLossTerm,
  defineRecipe,
  geoDiversityLoss,
  infoNCE,
  optimizerOptions,
  readCheckpointBlock,
  readDataBlock,
  readOptimizerBlock,
  readWeightsAsync,
  streamSteps,
  train,
} from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type {
  CheckpointBlock,
  DataBlock,
  JsonValue,
  MasteryQueueOptions,
  MasteryQueueState,
  OptimizerBlock,
  RecipeRun,
  StepContext,
  TrainableModel,
  TrainOptions,
} from '@geolip/train';
import { float32ToFloat16Bits, readSafetensors, writeModelMetadata, writeSafetensors } from '@geolip/io';

import { modelOverrides, withModelConfig } from './model-config.js';
import { readConfigObject, trainingKeys } from './config-blocks.js';
import { embeddingCvs } from './fmnist-vit-diagnostics.js';
import { FMNIST_VIT_PRESETS, FMNIST_VIT_PRESET_NAMES } from './fmnist-vit-presets.js';
import { TowerRun, readTowerConfig } from './fmnist-vit-tower.js';
import type { FmnistTowerConfig, TowerEvalSums, TowerPending, TowerRunState } from './fmnist-vit-tower.js';
import type { FmnistVitPresetName } from './fmnist-vit-presets.js';

/**
 * Weights of the loss stack (dual-stream v6 card, spec §8.10, plus the CE and per-stream CV terms of issue 20). The
 * plain ViT uses `bce`, `ce`, `infoNCE` and `mastery` only.
 */
export interface FmnistLossWeights {
  /** BCE with label smoothing `smoothing` on the main (fused) classifier's logits. */
  bce: number;
  /** Softmax cross-entropy with label smoothing `ceSmoothing` on the main classifier's logits. */
  ce: number;
  /** InfoNCE between the two views' fused embeddings (τ = `temperature`). */
  infoNCE: number;
  /** BCE (smoothing `smoothing`) on the geo classifier's logits. */
  geoBce: number;
  /** Cross-entropy (smoothing `ceSmoothing`) on the geo classifier's logits. */
  geoCe: number;
  geoDiversity: number;
  /** CV loss toward `cvTarget` on the fused embedding. */
  cv: number;
  /** CV loss toward `cvTarget` on the geo embedding. */
  cvGeo: number;
  /** CV loss toward `cvTarget` on the std embedding. */
  cvStd: number;
  anchorCv: number;
  cm: number;
  spread: number;
  /** The mastery queue's hard triplet-margin loss (spec §8.9); 0 turns the queue off. */
  mastery: number;
}

const LOSS_DEFAULTS: FmnistLossWeights = {
  bce: 1,
  ce: 0,
  infoNCE: 0.1,
  geoBce: 0.3,
  geoCe: 0,
  geoDiversity: 0.5,
  cv: 0.1,
  cvGeo: 0,
  cvStd: 0,
  anchorCv: 0.05,
  cm: 0.1,
  spread: 0.001,
  mastery: 1,
};

/** The augmentation of both views: random crop after zero padding, flip, random erasing. */
export interface FmnistAugment {
  /** Zero padding of the random crop (pixels per side); 0 = no crop. */
  padding: number;
  flip: boolean;
  /** Probability of random erasing (one rectangle set to black); 0 = off. */
  erase: number;
  /** [min, max] area of the erased rectangle as a fraction of the image. */
  eraseScale: [number, number];
}

export { FMNIST_DUAL_STREAM, FMNIST_PLAIN_VIT };

/** The validated config of {@link fmnistVit} (paths absolute). */
export interface FmnistVitConfig extends OptimizerBlock, DataBlock, CheckpointBlock {
  model: 'dual-stream' | 'vit';
  /** The preset that filled the defaults (see fmnist-vit-presets.ts), or null. */
  preset: FmnistVitPresetName | null;
  epochs: number;
  batchSize: number;
  clipNorm: number;
  /** Warmup in epochs (converted to steps with the run's steps per epoch); null: `warmupSteps` holds. */
  warmupEpochs: number | null;
  /**
   * InfoNCE's second view: `'two'`, an independently augmented view of each image; `'mirror'`, the first view mirrored
   * (the old runs).
   */
  views: 'two' | 'mirror';
  augment: FmnistAugment;
  /** BCE's label smoothing (main and geo). */
  smoothing: number;
  /** CE's label smoothing (main and geo). */
  ceSmoothing: number;
  temperature: number;
  cvTarget: number;
  /** Geometric autograd on the three embeddings (spec §7), or false. */
  autograd: Required<Pick<GeometricAutogradOptions, 'tangential' | 'separation'>> | false;
  /** A `model.safetensors` loaded into the model before training (v3: a v1 checkpoint), or null. */
  warmStart: string | null;
  loss: FmnistLossWeights;
  /**
   * The last `valSize` of the (limited) training images are held out for validation (the mastery queue's gap);
   * 0 = none.
   */
  valSize: number;
  /** Evaluate on the validation images every N steps; 0 = once per epoch. */
  evalEvery: number;
  /**
   * Score the test images at the end (default true). false: the test split is not read at all (a GPU-machine run
   * that carries only the training images); result.json then has `testAccuracy: null`, the scan is of the validation
   * embeddings, and the test split is scored later from model.safetensors (`tools/vision/fmnist-weights.mjs eval`).
   */
  test: boolean;
  seed: number;
  /** Overrides of the model config (e.g. `{ "dualBlocks": 1 }` for a smoke run), checked by the model itself. */
  modelConfig: Record<string, unknown>;
  /** Options of the mastery queue (`MasteryQueueOptions`; defaults from spec §8.9). */
  masteryQueue: MasteryQueueOptions;
  /**
   * Run 12 (issue 21, docs/gal.md): the geometric arbitration tower on the geo and std streams, with GAL over a FIFO
   * queue and the guidance phase; null = off.
   */
  tower: FmnistTowerConfig | null;
}

/** The `masteryQueue` fields and how each is read. */
const QUEUE_FIELDS = {
  capacity: 'int>0',
  patience: 'int>0',
  marginRampSteps: 'int>0',
  minCapacity: 'int>0',
  maxCapacity: 'int>0',
  resizeStep: 'int>0',
  cooldownEpochs: 'int>=0',
  driftWindow: 'int>0',
  activationAccuracy: '>=0',
  marginStart: '>=0',
  marginEnd: '>=0',
  deltaThreshold: '>=0',
  growAbove: 'number',
  shrinkBelow: 'number',
  driftThreshold: '>=0',
} as const;

const R = configReader('fmnist-vit');
const OPTIMIZER: OptimizerBlock = { lr: 1e-3, warmupSteps: 200, weightDecay: 0.05, clipNorm: 1 };
const KEYS = [
  'preset',
  'model',
  ...trainingKeys(OPTIMIZER),
  'warmupEpochs',
  'views',
  'augment',
  'smoothing',
  'ceSmoothing',
  'temperature',
  'cvTarget',
  'autograd',
  'warmStart',
  'loss',
  'valSize',
  'test',
  'evalEvery',
  'seed',
  'checkpointEvery',
  'modelConfig',
  'masteryQueue',
  'tower',
];
/** Config fields holding an object that merges key by key over a preset's. */
const MERGED = ['loss', 'modelConfig', 'masteryQueue', 'augment', 'autograd', 'tower'];
const AUGMENT_DEFAULTS: FmnistAugment = { padding: 2, flip: true, erase: 0, eraseScale: [0.02, 0.2] };
const AUTOGRAD_DEFAULT = { tangential: DUAL_STREAM_AUTOGRAD.tangential!, separation: DUAL_STREAM_AUTOGRAD.separation! };

/** The config with the preset's fields under the config's own (objects in {@link MERGED} merged key by key). */
function withPreset(o: Record<string, unknown>): Record<string, unknown> {
  if (o.warmupSteps !== undefined && o.warmupEpochs !== undefined)
    R.fail("set 'warmupSteps' or 'warmupEpochs', not both", 'warmupEpochs');
  if (o.preset === undefined) return o;
  const name = R.choice(o, 'preset', FMNIST_VIT_PRESET_NAMES, 'v1');
  const preset = FMNIST_VIT_PRESETS[name];
  const out: Record<string, unknown> = { ...preset.config };
  // An explicit warmupSteps replaces the preset's warmup in epochs.
  if (o.warmupSteps !== undefined) delete out.warmupEpochs;
  for (const [k, v] of Object.entries(o)) {
    const base = out[k];
    const bothObjects = (x: unknown): x is Record<string, unknown> =>
      x !== null && typeof x === 'object' && !Array.isArray(x);
    out[k] = MERGED.includes(k) && bothObjects(base) && bothObjects(v) ? { ...base, ...v } : v;
  }
  if (preset.requires === 'warmStart' && out.warmStart === undefined)
    R.fail(`preset '${name}' warm-starts from a v1 checkpoint: set 'warmStart' to its model.safetensors`, 'warmStart');
  return out;
}

function readAugment(o: Record<string, unknown>): FmnistAugment {
  const a = R.object(o, 'augment') ?? {};
  R.keys(a, Object.keys(AUGMENT_DEFAULTS), 'augment');
  const erase = R.num(a, 'erase', '>=0', AUGMENT_DEFAULTS.erase, 'augment');
  if (erase > 1) R.fail(`'augment.erase' must be a probability in [0, 1], got ${erase}`, 'augment.erase');
  const scale = a.eraseScale ?? AUGMENT_DEFAULTS.eraseScale;
  const okScale =
    Array.isArray(scale) &&
    scale.length === 2 &&
    scale.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
    scale[0] > 0 &&
    scale[0] <= scale[1] &&
    scale[1] <= 1;
  if (!okScale)
    R.fail(
      `'augment.eraseScale' must be [min, max] with 0 < min <= max <= 1, got ${JSON.stringify(scale)}`,
      'augment.eraseScale',
    );
  return {
    padding: R.num(a, 'padding', 'int>=0', AUGMENT_DEFAULTS.padding, 'augment'),
    flip: R.bool(a, 'flip', AUGMENT_DEFAULTS.flip, 'augment'),
    erase,
    eraseScale: [(scale as number[])[0]!, (scale as number[])[1]!],
  };
}

function readAutograd(o: Record<string, unknown>): FmnistVitConfig['autograd'] {
  const v = o.autograd;
  if (v === undefined || v === true) return { ...AUTOGRAD_DEFAULT };
  if (v === false) return false;
  const a = R.object(o, 'autograd');
  if (!a) return R.fail("'autograd' must be true, false or { tangential, separation }", 'autograd');
  R.keys(a, ['tangential', 'separation'], 'autograd');
  return {
    tangential: R.num(a, 'tangential', '>=0', AUTOGRAD_DEFAULT.tangential, 'autograd'),
    separation: R.num(a, 'separation', '>=0', AUTOGRAD_DEFAULT.separation, 'autograd'),
  };
}

function readMasteryQueue(o: Record<string, unknown>): MasteryQueueOptions {
  const mq = R.object(o, 'masteryQueue') ?? {};
  R.keys(mq, [...Object.keys(QUEUE_FIELDS), 'resizePolicy'], 'masteryQueue');
  const out: Record<string, unknown> = {};
  for (const [k, kind] of Object.entries(QUEUE_FIELDS))
    if (mq[k] !== undefined) out[k] = R.num(mq, k, kind, 0, 'masteryQueue');
  if (mq.resizePolicy !== undefined)
    out.resizePolicy = R.choice(mq, 'resizePolicy', ['delta', 'absolute'] as const, 'delta', 'masteryQueue');
  const options = out as MasteryQueueOptions;
  // The queue's own checks (e.g. activationAccuracy ≤ 1, minCapacity ≤ maxCapacity) name the field.
  withModelConfig(R, 'masteryQueue', () => new MasteryQueue(options));
  return options;
}

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. A `preset` fills in every field the
 * config leaves out. Throws `RecipeConfigError` naming the field.
 */
export function parseFmnistVitConfig(raw: unknown, configDir: string): FmnistVitConfig {
  const o = withPreset(readConfigObject(R, raw, KEYS));
  const l = R.object(o, 'loss') ?? {};
  R.keys(l, Object.keys(LOSS_DEFAULTS), 'loss');
  const loss = Object.fromEntries(
    Object.entries(LOSS_DEFAULTS).map(([k, v]) => [k, R.num(l, k, '>=0', v, 'loss')]),
  ) as unknown as FmnistLossWeights;
  const optimizer = readOptimizerBlock(R, o, OPTIMIZER);
  const warmStart = R.optStr(o, 'warmStart');
  const model = R.choice(o, 'model', ['dual-stream', 'vit'] as const, 'dual-stream');
  const tower = readTowerConfig(R, o);
  if (tower && model !== 'dual-stream')
    R.fail("'tower' needs the dual-stream model (its streams are the experts)", 'tower');
  return {
    model,
    preset: o.preset === undefined ? null : (o.preset as FmnistVitPresetName),
    ...readDataBlock(R, o, FASHION_MNIST_DIR, configDir),
    epochs: R.num(o, 'epochs', 'int>0', 10),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    ...optimizer,
    clipNorm: optimizer.clipNorm!,
    warmupEpochs: o.warmupEpochs === undefined ? null : R.num(o, 'warmupEpochs', '>=0', 0),
    views: R.choice(o, 'views', ['two', 'mirror'] as const, 'two'),
    augment: readAugment(o),
    smoothing: readSmoothing(o, 'smoothing'),
    ceSmoothing: readSmoothing(o, 'ceSmoothing'),
    temperature: R.num(o, 'temperature', '>0', 0.07),
    cvTarget: R.num(o, 'cvTarget', '>0', 0.2),
    autograd: readAutograd(o),
    warmStart: warmStart === undefined ? null : resolve(configDir, warmStart),
    loss,
    valSize: R.num(o, 'valSize', 'int>=0', 5000),
    test: R.bool(o, 'test', true),
    evalEvery: R.num(o, 'evalEvery', 'int>=0', 0),
    seed: R.num(o, 'seed', 'int>=0', 0),
    ...readCheckpointBlock(R, o, 1000),
    // A preset's model config is the Dual-Stream ViT's: the plain ViT keeps its own (FMNIST_PLAIN_VIT).
    modelConfig: model === 'vit' && o.preset !== undefined ? userModelConfig(raw) : modelOverrides(R, o),
    masteryQueue: readMasteryQueue(o),
    tower,
  };
}

/** A label smoothing ε in [0, 1) (default 0.1). */
function readSmoothing(o: Record<string, unknown>, key: string): number {
  const v = R.num(o, key, '>=0', 0.1);
  if (v >= 1) R.fail(`'${key}' must be in [0, 1), got ${v}`, key);
  return v;
}

/** The config file's own `modelConfig` (without a preset's). */
function userModelConfig(raw: unknown): Record<string, unknown> {
  return modelOverrides(R, raw as Record<string, unknown>);
}

type Net = { kind: 'dual-stream'; model: DualStreamViT } | { kind: 'vit'; model: ViTClassifier };

/** One step's values read after the step (asynchronously): the batch's accuracy, and what the mastery queue needs. */
interface Pending {
  emb: tf.Tensor2D | undefined;
  /**
   * [InfoNCE accuracy (0 without InfoNCE), train accuracy of the batch, the queue's mean hard negative, hard positive
   * and gap (0 while inactive)].
   */
  stats: tf.Tensor1D;
  /** The step computed InfoNCE; the queue had rows with both a positive and a negative. */
  nce: boolean;
  mined: boolean;
  labels: Int32Array;
}

/** Sums over the training steps since the last evaluation (checkpointed with the run). */
interface StepSums {
  /** Correct / seen training predictions (the mastery queue's train accuracy). */
  hits: number;
  seen: number;
  /** InfoNCE accuracy summed over the steps that computed it. */
  nceAcc: number;
  nceSteps: number;
  /** The queue's mean hard negative, hard positive and gap, summed over the steps it mined. */
  hardNeg: number;
  hardPos: number;
  gap: number;
  minedSteps: number;
}

const zeroSums = (): StepSums => ({
  hits: 0,
  seen: 0,
  nceAcc: 0,
  nceSteps: 0,
  hardNeg: 0,
  hardPos: 0,
  gap: 0,
  minedSteps: 0,
});

/** The plain ViT's outputs under the dual-stream's names (`emb` for the embedding). */
function plainForward(model: ViTClassifier, x: tf.Tensor4D): { logits: tf.Tensor2D; emb: tf.Tensor2D } {
  const o = model.forward(x);
  return { logits: o.logits, emb: o.embedding };
}

/** Whether a run needs the second view: for the InfoNCE term, or for the queue (its accuracy drives activation). */
const needsSecondView = (cfg: FmnistVitConfig): boolean =>
  cfg.loss.infoNCE > 0 || cfg.loss.mastery > 0 || (cfg.tower !== null && cfg.tower.infoNCE > 0);

class Trainer implements TrainableModel<ImageBatch> {
  pending: Pending | undefined;
  towerPending: TowerPending | undefined;
  sums: StepSums = zeroSums();

  constructor(
    readonly net: Net,
    private readonly cfg: FmnistVitConfig,
    public queue: MasteryQueue | undefined,
    readonly tower: TowerRun | undefined,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return { ...this.net.model.getWeights(), ...this.tower?.weights() };
  }

  /** Disposes the tensors of a step whose values were not read. */
  disposePending(): void {
    if (this.pending) tf.dispose([this.pending.stats, ...(this.pending.emb ? [this.pending.emb] : [])]);
    if (this.towerPending) tf.dispose([this.towerPending.stats, ...this.towerPending.experts]);
    this.pending = undefined;
    this.towerPending = undefined;
  }

  loss(batch: ImageBatch, ctx: StepContext): tf.Scalar {
    const { cfg, queue } = this;
    const w = cfg.loss;
    return tf.tidy(() => {
      const images = tf.tensor4d(batch.images, batch.shape);
      const labels = tf.tensor1d(batch.labels, 'int32');
      const oneHot = tf.cast(tf.oneHot(labels, 10), 'float32') as tf.Tensor2D;
      const terms: tf.Tensor[] = [];
      const dual = this.net.kind === 'dual-stream' ? this.net.model : undefined;
      const opts = { training: true, ...(cfg.autograd ? { autograd: cfg.autograd } : {}) };
      const forward = (x: tf.Tensor4D) =>
        dual ? dual.forward(x, opts) : plainForward(this.net.model as ViTClassifier, x);
      // View 1 carries every supervised and geometric term; InfoNCE pairs it with view 2.
      const a = forward(images);
      const bce = (logits: tf.Tensor2D) => bceWithLabelSmoothing(logits, oneHot, { smoothing: cfg.smoothing });
      const ce = (logits: tf.Tensor2D) => crossEntropy(logits, batch.labels, { labelSmoothing: cfg.ceSmoothing });
      if (w.bce > 0) terms.push(tf.mul(w.bce, bce(a.logits)));
      if (w.ce > 0) terms.push(tf.mul(w.ce, ce(a.logits)));
      let nce: ReturnType<typeof infoNCE> | undefined;
      let b: ReturnType<typeof forward> | undefined;
      if (needsSecondView(cfg)) {
        const view2 =
          cfg.views === 'mirror'
            ? (tf.reverse(images, 2) as tf.Tensor4D) // the old pairing: view 1 mirrored left–right
            : tf.tensor4d(secondView(batch), batch.shape);
        b = forward(view2);
        nce = infoNCE(a.emb, b.emb, { temperature: cfg.temperature });
        if (w.infoNCE > 0) terms.push(tf.mul(w.infoNCE, nce.loss));
      }
      if (this.tower && dual) {
        // Run 12: the geo and std streams are the tower's experts (view 2's for the tower's InfoNCE).
        const d = a as ReturnType<DualStreamViT['forward']>;
        const d2 = b as ReturnType<DualStreamViT['forward']> | undefined;
        if (this.towerPending) tf.dispose([this.towerPending.stats, ...this.towerPending.experts]);
        const t = this.tower.terms(
          [d.geoEmb, d.stdEmb],
          d2 ? [d2.geoEmb, d2.stdEmb] : undefined,
          Int32Array.from(batch.labels),
          ctx.rng,
        );
        terms.push(...t.terms);
        this.towerPending = t.pending;
      }
      const mined = queue ? queue.loss(a.emb, batch.labels) : undefined;
      if (mined) terms.push(tf.mul(w.mastery, mined.loss));
      const hits = tf.mean(tf.cast(tf.equal(tf.argMax(a.logits, 1), labels), 'float32'));
      // The previous micro-batch's pending stats were not read.
      if (this.pending) tf.dispose([this.pending.stats, ...(this.pending.emb ? [this.pending.emb] : [])]);
      const zero = tf.scalar(0);
      this.pending = {
        emb: queue ? (tf.keep(tf.clone(a.emb)) as tf.Tensor2D) : undefined,
        stats: tf.keep(
          tf.stack([
            nce ? nce.accuracy : zero,
            hits,
            mined ? mined.hardNegative : zero,
            mined ? mined.hardPositive : zero,
            mined ? mined.gap : zero,
          ]),
        ) as tf.Tensor1D,
        nce: nce !== undefined,
        mined: (mined?.counted ?? 0) > 0,
        labels: Int32Array.from(batch.labels),
      };
      if (dual) {
        const d = a as ReturnType<DualStreamViT['forward']>;
        if (w.geoBce > 0) terms.push(tf.mul(w.geoBce, bce(d.geoLogits)));
        if (w.geoCe > 0) terms.push(tf.mul(w.geoCe, ce(d.geoLogits)));
        if (w.geoDiversity > 0) terms.push(tf.mul(w.geoDiversity, geoDiversityLoss(d.geoEmb, batch.labels)));
        for (const [weight, e] of [
          [w.cv, d.emb],
          [w.cvGeo, d.geoEmb],
          [w.cvStd, d.stdEmb],
        ] as const) {
          if (weight > 0) terms.push(tf.mul(weight, cvLossTerm(e, cfg.cvTarget, { rng: ctx.rng })));
        }
        if (w.anchorCv > 0)
          terms.push(tf.mul(w.anchorCv, anchorCVLoss(dual.constellation, cfg.cvTarget, { rng: ctx.rng })));
        // CM validity: penalize V² < 0
        if (w.cm > 0) terms.push(tf.mul(w.cm, tf.mean(tf.relu(tf.neg(d.cmVolumeSquared)))));
        if (w.spread > 0) terms.push(tf.mul(w.spread, spreadLoss(dual.constellation)));
      }
      if (terms.length === 0) terms.push(tf.mul(0, tf.sum(a.logits))); // every weight 0: a zero loss, still a graph
      return tf.addN(terms) as tf.Scalar;
    });
  }

  /**
   * After a step: count the batch's training accuracy, InfoNCE accuracy and the queue's hard negatives/positives; feed
   * the queue its InfoNCE accuracy and the detached embeddings.
   */
  async afterStep(): Promise<void> {
    const tp = this.towerPending;
    this.towerPending = undefined;
    if (tp && this.tower) await this.tower.afterStep(tp);
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const [stats, emb] = await Promise.all([p.stats.data(), p.emb?.data()]);
    tf.dispose([p.stats, ...(p.emb ? [p.emb] : [])]);
    if (this.queue && p.emb && emb) {
      this.queue.update({ accuracy: stats[0]! });
      this.queue.enqueueValues(emb, p.labels, p.emb.shape[1]);
    }
    const s = this.sums;
    s.hits += stats[1]! * p.labels.length;
    s.seen += p.labels.length;
    if (p.nce) {
      s.nceAcc += stats[0]!;
      s.nceSteps++;
    }
    if (p.mined) {
      s.hardNeg += stats[2]!;
      s.hardPos += stats[3]!;
      s.gap += stats[4]!;
      s.minedSteps++;
    }
  }
}

/** The batch's second view; the batch stream emits one whenever the run needs it. */
function secondView(batch: ImageBatch): Float32Array {
  if (!batch.view2) throw new Error('fmnist-vit: a batch without its second view (the stream was built without one)');
  return batch.view2;
}

/** What {@link evaluate} measures on images [offset, offset + n) of a split. */
interface Evaluation {
  acc: number;
  geoAcc: number;
  /** `[n, dim]` fused embeddings, row-major. */
  emb: Float32Array;
  dim: number;
  /** Dual-stream: per dual block, the fraction of KSimplex simplices with V² > 0 over the images (spec §1.3). */
  cmValid: number[];
  /** Dual-stream: anchors that are the nearest of at least one image's embedding (spec §4.4); null for the ViT. */
  activeAnchors: number | null;
  /** Run 12: the tower's sums over the images, and its `[n, dim]` embeddings; null without a tower. */
  tower: (TowerEvalSums & { emb: Float32Array; dim: number }) | null;
}

/** Accuracy of the main (and geo) classifier on images [offset, offset + n) of a split; the embeddings; diagnostics. */
async function evaluate(
  net: Net,
  split: { images: Uint8Array; labels: Uint8Array },
  offset: number,
  n: number,
  batch: number,
  tower?: TowerRun,
): Promise<Evaluation> {
  const towerDim = tower ? tower.tower.config.dim : 0;
  const tw = tower
    ? { hits: 0, combinedHits: 0, cos: [0, 0], emb: new Float32Array(n * towerDim), dim: towerDim }
    : null;
  let hits = 0;
  let geoHits = 0;
  // the embedding width (modelConfig.outDim)
  const dim = net.kind === 'vit' ? net.model.encoder.config.outDim : net.model.config.outDim;
  const emb = new Float32Array(n * dim);
  const blocks = net.kind === 'vit' ? 0 : net.model.config.dualBlocks;
  const cmSum = new Float64Array(blocks);
  const nearest = net.kind === 'vit' ? null : new Int32Array(net.model.config.anchors);
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    const from = (offset + s) * 784;
    const x = tf.tidy(
      () =>
        tf.div(
          tf.tensor4d(Float32Array.from(split.images.subarray(from, from + b * 784)), [b, 28, 28, 1]),
          255,
        ) as tf.Tensor4D,
    );
    const out = tf.tidy(() => {
      if (net.kind === 'vit') {
        const o = net.model.forward(x);
        return [tf.argMax(o.logits, 1), tf.argMax(o.logits, 1), o.embedding];
      }
      const o = net.model.forward(x);
      // Run 12: the tower's prediction, the combined one, the streams' cosine sums and its embedding, same forward.
      const t = tower ? tower.evalBatch([o.geoEmb, o.stdEmb], [o.logits, o.geoLogits]) : undefined;
      return [
        tf.argMax(o.logits, 1),
        tf.argMax(o.geoLogits, 1),
        o.emb,
        o.cmValidity,
        net.model.constellation.nearest(o.emb),
        ...(t ? [t.pred, t.combined, t.cos, t.emb] : []),
      ];
    });
    const [p, g, e, cm, near, tp, tc, tcos, temb] = await Promise.all(out.map((t) => t.data()));
    if (tw && tp && tc && tcos && temb) {
      for (let i = 0; i < b; i++) {
        if (tp[i] === split.labels[offset + s + i]) tw.hits++;
        if (tc[i] === split.labels[offset + s + i]) tw.combinedHits++;
      }
      tw.cos = tw.cos.map((c, k) => c + tcos[k]!);
      tw.emb.set(temb as Float32Array, s * towerDim);
    }
    for (let i = 0; i < b; i++) {
      if (p![i] === split.labels[offset + s + i]) hits++;
      if (g![i] === split.labels[offset + s + i]) geoHits++;
    }
    emb.set((e as Float32Array).subarray(0, b * dim), s * dim);
    for (let k = 0; k < blocks; k++) cmSum[k]! += cm![k]! * b;
    if (nearest && near) for (let i = 0; i < b; i++) nearest[near[i]!]!++;
    tf.dispose([x, ...out]);
  }
  return {
    acc: hits / n,
    geoAcc: geoHits / n,
    emb,
    dim,
    cmValid: Array.from(cmSum, (v) => v / n),
    activeAnchors: nearest ? nearest.filter((c) => c > 0).length : null,
    tower: tw,
  };
}

/** `[N, dim]` embeddings as an F16 safetensors file with tensor `embeddings` (the input of `fmnist-david`). */
function embeddingsFile(emb: Float32Array, rows: number, dim: number, meta: Record<string, string>): Uint8Array {
  return writeSafetensors(
    { embeddings: { dtype: 'F16', shape: [rows, dim], data: Uint16Array.from(emb, (v) => float32ToFloat16Bits(v)) } },
    meta,
  );
}

/**
 * What a run trains, less evaluation and checkpoints: the network, its trainer (the loss stack, the mastery queue)
 * and train()'s model, data (the shuffled, augmented batches of `trainData` over `epochs`), optimizer, schedule,
 * clipping, seed and `afterStep`. `run` trains it; `recipeStep` times its steps (tools/perf/recipe-steps.mjs).
 */
export function fmnistVitTraining(
  cfg: FmnistVitConfig,
  trainData: ImageDataset,
): { net: Net; trainer: Trainer; totalSteps: number; options: Omit<TrainOptions<ImageBatch>, 'steps'> } {
  const augment = augmentOptions(cfg.augment);
  const stream: ImageBatchStream = batches(trainData, {
    batchSize: cfg.batchSize,
    shuffle: true,
    seed: cfg.seed,
    epochs: cfg.epochs,
    dropLast: true,
    augment,
    // Two views: the second is drawn independently from the same augmentations (seeded per (seed, epoch)).
    ...(cfg.views === 'two' && needsSecondView(cfg) ? { secondView: augment } : {}),
  });
  const totalSteps = stream.length;
  const net: Net = withModelConfig(R, 'modelConfig', () =>
    cfg.model === 'vit'
      ? {
          kind: 'vit',
          model: new ViTClassifier({ ...FMNIST_PLAIN_VIT, ...cfg.modelConfig } as ViTEncoderConfig, 10, {
            seed: cfg.seed,
          }),
        }
      : {
          kind: 'dual-stream',
          model: new DualStreamViT({ ...FMNIST_DUAL_STREAM, ...cfg.modelConfig } as DualStreamViTConfig, {
            seed: cfg.seed,
          }),
        },
  );
  const dims = net.kind === 'dual-stream' ? [net.model.config.outDim, net.model.config.outDim] : [];
  const tower = cfg.tower
    ? new TowerRun(cfg.tower, dims, FMNIST_DUAL_STREAM.classes, cfg.seed, stream.batchesPerEpoch)
    : undefined;
  const trainer = new Trainer(net, cfg, cfg.loss.mastery > 0 ? new MasteryQueue(cfg.masteryQueue) : undefined, tower);
  const warmupSteps =
    cfg.warmupEpochs === null ? cfg.warmupSteps : Math.round(cfg.warmupEpochs * stream.batchesPerEpoch);
  return {
    net,
    trainer,
    totalSteps,
    options: {
      model: trainer,
      data: streamSteps(stream),
      ...optimizerOptions({ ...cfg, warmupSteps }, totalSteps),
      seed: cfg.seed,
      afterStep: () => trainer.afterStep(),
    },
  };
}

/** The batch stream's augmentation of a config's `augment` block. */
function augmentOptions(a: FmnistAugment): AugmentOptions {
  return {
    ...(a.padding > 0 ? { randomCrop: { padding: a.padding } } : {}),
    flip: a.flip,
    ...(a.erase > 0 ? { erase: { probability: a.erase, scale: a.eraseScale } } : {}),
  };
}

/** Loads a `model.safetensors` (same architecture) into the model: the warm start of v3 (and optionally run 2). */
async function warmStart(net: Net, file: string, job: RecipeRun): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw job.error(`'warmStart' ${file} cannot be read: ${(e as Error).message}`, 'warmStart');
  }
  try {
    net.model.loadSafetensorEntries(readSafetensors(bytes).tensors);
  } catch (e) {
    throw job.error(`'warmStart' ${file} does not fit the model: ${(e as Error).message}`, 'warmStart');
  }
}

/**
 * The per-evaluation metrics of the validation pass and the steps since the last one (see the README). The card's
 * "QK lock" is not among them: the spec defines no such statistic (no formula, no code).
 */
function epochMetrics(
  net: Net,
  r: Evaluation,
  labels: ArrayLike<number>,
  sums: StepSums,
  queue: MasteryQueue | undefined,
  seed: number,
): Record<string, number> {
  const m: Record<string, number> = {};
  const put = (key: string, v: number): void => {
    if (Number.isFinite(v)) m[key] = v;
  };
  put('nce_acc', sums.nceSteps > 0 ? sums.nceAcc / sums.nceSteps : NaN);
  if (net.kind === 'dual-stream') {
    r.cmValid.forEach((v, k) => put(`cm_valid_block${k}`, v));
    put('cm_valid', r.cmValid.length > 0 ? r.cmValid.reduce((a, b) => a + b, 0) / r.cmValid.length : NaN);
    put('active_anchors', r.activeAnchors ?? NaN);
  }
  const cvs = embeddingCvs(r.emb, r.dim, labels, seed);
  put('val_cv', cvs.cv);
  put('class_cv_mean', cvs.classMean);
  put('class_cv_min', cvs.classMin);
  put('class_cv_max', cvs.classMax);
  if (queue && sums.minedSteps > 0) {
    put('mastery_hard_neg', sums.hardNeg / sums.minedSteps);
    put('mastery_hard_pos', sums.hardPos / sums.minedSteps);
    put('mastery_gap', sums.gap / sums.minedSteps);
  }
  return m;
}

async function run(cfg: FmnistVitConfig, job: RecipeRun): Promise<number> {
  const { io, options } = job;
  const trainSet = await loadFashionMnist('train', { dir: cfg.data });
  const testSet = cfg.test ? await loadFashionMnist('test', { dir: cfg.data }) : undefined;
  const nAll = cfg.trainLimit > 0 ? Math.min(cfg.trainLimit, trainSet.n) : trainSet.n;
  const nVal = cfg.valSize;
  const nTrain = nAll - nVal;
  const nTest = testSet ? (cfg.testLimit > 0 ? Math.min(cfg.testLimit, testSet.n) : testSet.n) : 0;
  if (!testSet && nVal === 0) throw job.error(`'test' false needs a validation split ('valSize' > 0) to report on`);
  if (nTrain < cfg.batchSize)
    throw job.error(
      `'valSize' ${nVal} leaves ${nTrain} of ${nAll} training images, fewer than one batch of ${cfg.batchSize}`,
    );
  const trainData = {
    ...trainSet,
    n: nTrain,
    images: trainSet.images.subarray(0, nTrain * 784),
    labels: trainSet.labels.subarray(0, nTrain),
  };
  const stepsPerEpoch = Math.floor(nTrain / cfg.batchSize);
  const evalEvery = cfg.evalEvery > 0 ? cfg.evalEvery : stepsPerEpoch;

  const files = await job.stage();
  const { metricsFile } = files;
  const training = fmnistVitTraining(cfg, trainData);
  const { net, trainer, totalSteps } = training;
  if (cfg.warmStart !== null) {
    try {
      await warmStart(net, cfg.warmStart, job);
    } catch (e) {
      trainer.disposePending();
      trainer.tower?.dispose();
      net.model.dispose();
      throw e;
    }
  }
  io.stdout.write(
    `fmnist-vit: ${cfg.model}${cfg.preset ? ` (preset ${cfg.preset})` : ''}, ` +
      `${net.model.paramCount().toLocaleString('en-US')} parameters; ` +
      `${nTrain} train / ${nVal} val / ${nTest} test images, ` +
      `${cfg.epochs} epochs = ${totalSteps} steps of ${cfg.batchSize}; ` +
      `${cfg.views === 'two' ? 'two augmented views' : 'mirror view'}` +
      `${cfg.loss.mastery > 0 ? '; mastery queue on' : ''}` +
      (trainer.tower
        ? `; arbitration tower (${trainer.tower.tower.paramCount().toLocaleString('en-US')} parameters)`
        : '') +
      `${cfg.warmStart !== null ? `; warm start from ${cfg.warmStart}` : ''}\n`,
  );

  let queue = trainer.queue;
  const t0 = Date.now();
  let secondsBefore = 0; // training seconds of earlier calls (a resumed run)
  const trainSecondsNow = (): number => secondsBefore + (Date.now() - t0) / 1000;
  try {
    const summary = await train<ImageBatch>({
      ...training.options,
      steps: options.steps ?? totalSteps,
      ...(nVal > 0
        ? {
            evalEvery,
            evaluate: async () => {
              const r = await evaluate(net, trainSet, nTrain, nVal, 500, trainer.tower);
              const sums = trainer.sums;
              trainer.sums = zeroSums();
              const trainAcc = sums.seen > 0 ? sums.hits / sums.seen : NaN;
              const metrics: Record<string, number> = {
                val_acc: r.acc,
                ...(net.kind === 'dual-stream' ? { val_geo_acc: r.geoAcc } : {}),
                train_acc: trainAcc,
                ...epochMetrics(net, r, trainSet.labels.subarray(nTrain, nTrain + nVal), sums, queue, cfg.seed),
              };
              if (trainer.tower && r.tower) {
                const valLabels = trainSet.labels.subarray(nTrain, nTrain + nVal);
                const cvs = embeddingCvs(r.tower.emb, r.tower.dim, valLabels, cfg.seed);
                Object.assign(
                  metrics,
                  trainer.tower.epochMetrics(r.tower, nVal, [r.acc, r.geoAcc], cvs, trainer.tower.steps),
                );
              }
              if (queue) {
                const resize = Number.isFinite(trainAcc)
                  ? queue.endEpoch({ trainAccuracy: trainAcc, valAccuracy: r.acc })
                  : null;
                if (resize) io.stdout.write(`\n${resize.message}\n`);
                Object.assign(metrics, {
                  mastery_active: queue.active ? 1 : 0,
                  mastery_capacity: queue.capacity,
                  mastery_margin: queue.margin,
                });
              }
              return metrics;
            },
          }
        : {}),
      ...job.trainOptions(files, cfg.checkpointEvery, 1),
      // Compared on resume; `test` is left out (it changes what the end reports, not what is trained), so a run
      // trained with `test: false` can finish where the test images are.
      config: { recipe: 'fmnist-vit', ...JSON.parse(JSON.stringify({ ...cfg, test: undefined })) },
      extraState: () => ({
        ...(queue ? { queue: queue.state() as unknown as JsonValue } : {}),
        ...(trainer.tower ? { tower: trainer.tower.state() as unknown as JsonValue } : {}),
        sums: { ...trainer.sums },
        trainSeconds: trainSecondsNow(),
      }),
      onResume: (extra) => {
        const e = extra as {
          queue?: MasteryQueueState;
          tower?: TowerRunState;
          sums?: StepSums;
          // checkpoints written before `sums`
          trainHits?: number;
          trainSeen?: number;
          trainSeconds?: number;
        } | null;
        if (trainer.tower && e?.tower) trainer.tower.load(e.tower);
        if (queue && e?.queue) {
          queue = MasteryQueue.fromState(e.queue);
          trainer.queue = queue;
        }
        trainer.sums = { ...zeroSums(), hits: e?.trainHits ?? 0, seen: e?.trainSeen ?? 0, ...e?.sums };
        secondsBefore = e?.trainSeconds ?? 0;
      },
      progress: true,
    });
    if (summary.aborted) return job.interrupted(summary, totalSteps, { newline: true });
    const trainSeconds = trainSecondsNow(); // over all calls of a resumed run
    // The test images once, at the end; with `test: false` the validation images stand in for the scan only.
    const scored = testSet
      ? { set: testSet, offset: 0, n: nTest, name: 'test' }
      : { set: trainSet, offset: nTrain, n: nVal, name: 'validation' };
    const final = await evaluate(net, scored.set, scored.offset, scored.n, 500, trainer.tower);
    const emb = tf.tensor2d(final.emb, [scored.n, final.dim]);
    const report = await scanAsync(emb, {
      labels: Array.from(scored.set.labels.subarray(scored.offset, scored.offset + scored.n)),
      ...(net.kind === 'dual-stream' ? { anchors: net.model.constellation } : {}),
      name: `${cfg.model} ${scored.name} embeddings`,
      seed: cfg.seed,
    });
    emb.dispose();
    // The trained weights (PyTorch layout) and the embeddings of every train and test image (for fmnist-david).
    const state = net.model.stateDict();
    const weights = await readWeightsAsync(state);
    tf.dispose(Object.values(state));
    const type = cfg.model === 'vit' ? 'vision/vit' : 'vision/dual-stream-vit';
    const modelConfig = net.kind === 'vit' ? net.model.encoder.config : net.model.config;
    const meta = writeModelMetadata({ type, config: modelConfig });
    await writeFileAtomic(join(options.out, 'model.safetensors'), writeSafetensors(weights, meta));
    if (trainer.tower) {
      // Run 12: the tower (its maps and anchors included) as its own model file, loadable by its metadata.
      const t = trainer.tower.tower;
      const towerState = t.stateDict();
      const towerWeights = await readWeightsAsync(towerState);
      tf.dispose(Object.values(towerState));
      const towerMeta = writeModelMetadata({ type: ARBITRATION_TOWER_TYPE, config: t.toConfig() });
      await writeFileAtomic(join(options.out, 'tower.safetensors'), writeSafetensors(towerWeights, towerMeta));
    }
    const trainEmb = await evaluate(net, trainSet, 0, nAll, 500);
    await writeFileAtomic(
      join(options.out, 'embeddings-train.safetensors'),
      embeddingsFile(
        trainEmb.emb,
        nAll,
        trainEmb.dim,
        writeModelMetadata({ type, config: modelConfig, extra: { split: 'train' } }),
      ),
    );
    if (testSet)
      await writeFileAtomic(
        join(options.out, 'embeddings-test.safetensors'),
        embeddingsFile(
          final.emb,
          nTest,
          final.dim,
          writeModelMetadata({ type, config: modelConfig, extra: { split: 'test' } }),
        ),
      );
    const result = {
      model: cfg.model,
      preset: cfg.preset,
      views: cfg.views,
      params: net.model.paramCount(),
      steps: summary.step,
      epochs: cfg.epochs,
      trainImages: nTrain,
      valImages: nVal,
      testImages: nTest,
      testAccuracy: testSet ? final.acc : null,
      ...(net.kind === 'dual-stream' ? { geoAccuracy: testSet ? final.geoAcc : null } : {}),
      ...(testSet
        ? {}
        : {
            test: 'not scored (config test: false): tools/vision/fmnist-weights.mjs eval scores model.safetensors',
            scanSplit: 'validation',
          }),
      ...(summary.lastEval ? { lastVal: summary.lastEval } : {}),
      ...(queue
        ? {
            mastery: {
              active: queue.active,
              activationStep: queue.activationStep,
              capacity: queue.capacity,
              resizes: queue.resizes.map((r) => r.message),
            },
          }
        : {}),
      ...(trainer.tower && final.tower
        ? {
            tower: {
              split: scored.name,
              // Each stream's own head: the main classifier (BCE) and the geo classifier (CE); the tower's anchors;
              // the combined prediction = argmax of the mean of the three softmaxes.
              streamAccuracy: { bce: final.acc, ce: final.geoAcc },
              towerAccuracy: final.tower.hits / scored.n,
              combinedAccuracy: final.tower.combinedHits / scored.n,
              streamCosToTower: final.tower.cos.map((c) => c / scored.n),
              activeAnchors: trainer.tower.tower.activeAnchors,
              queueFill: trainer.tower.queue.fill,
              refits: trainer.tower.refits,
              refitCosines: trainer.tower.cosines,
              guidanceStep: trainer.tower.guidanceStep,
              config: cfg.tower,
            },
          }
        : {}),
      trainSeconds,
      classes: FASHION_MNIST_CLASSES,
      scan: report,
    };
    const resultFile = await job.writeResult(result);
    io.stdout.write(
      `\nfmnist-vit: ${cfg.model} ${scored.name} accuracy ${(100 * final.acc).toFixed(2)}%` +
        (net.kind === 'dual-stream' ? `, geo stream alone ${(100 * final.geoAcc).toFixed(2)}%` : '') +
        ` (${scored.n} ${scored.name} images, ${summary.step} steps, ${trainSeconds.toFixed(0)} s)` +
        `${testSet ? '' : '; the test split was not read (config test: false)'}\n`,
    );
    io.stdout.write(formatScan(report) + '\n');
    io.stdout.write(
      `wrote ${resultFile}, model.safetensors, ${trainer.tower ? 'tower.safetensors, ' : ''}` +
        `embeddings-${testSet ? '{train,test}' : 'train'}.safetensors, ` +
        `${metricsFile}\n`,
    );
    return 0;
  } finally {
    trainer.disposePending();
    trainer.tower?.dispose();
    net.model.dispose();
  }
}

/** `geolip-train run fmnist-vit`: Dual-Stream ViT (or a plain ViT) on Fashion-MNIST with the card's loss stack. */
export const fmnistVit = defineRecipe<FmnistVitConfig>({
  name: 'fmnist-vit',
  description:
    'Dual-Stream ViT (or a plain ViT of about the same size) on Fashion-MNIST with the card loss stack; ' +
    'test accuracy and geometry diagnostics',
  help: `Dual-Stream ViT (or "model": "vit") on Fashion-MNIST with the card loss stack; config
{"preset": "v1"|"v3"|"v5"|"v5-bidir"|"v6"|"run2"|"run4"|"run7"|"run12", "model", "data", "epochs", "batchSize",
"lr", "views": "two"|"mirror", "augment", "loss": {...}, "autograd", "warmStart", "modelConfig", "masteryQueue",
"tower": {...} (Run 12, docs/gal.md), ...};
writes <out>/result.json (test accuracy, geo accuracy, scan) and per-epoch diagnostics in metrics.jsonl.`,
  parse: parseFmnistVitConfig,
  run,
});
