// Recipe `fmnist-vit`: the Dual-Stream ViT of @geolip/vision on Fashion-MNIST with the card's loss stack, or a plain
// ViT of about the same size trained the same way (issue 8, recipe 1). Reports test accuracy, the geo stream's own
// accuracy and the geometry diagnostics (anchors' `scan`: active anchors, CV, per-class CV).
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { formatScan, scanAsync, anchorCVLoss, spreadLoss } from '@geolip/anchors';
import {
  DUAL_STREAM_AUTOGRAD,
  DualStreamViT,
  FMNIST_DUAL_STREAM,
  FMNIST_PLAIN_VIT,
  ViTClassifier,
} from '@geolip/vision';
import type { DualStreamViTConfig, ViTEncoderConfig } from '@geolip/vision';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, batches, loadFashionMnist } from '@geolip/vision/io';
import type { ImageBatch, ImageBatchStream, ImageDataset } from '@geolip/vision/io';
import {
  MasteryQueue,
  bceWithLabelSmoothing,
  configReader,
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
  MasteryQueueState,
  OptimizerBlock,
  RecipeRun,
  StepContext,
  TrainableModel,
  TrainOptions,
} from '@geolip/train';
import { float32ToFloat16Bits, writeModelMetadata, writeSafetensors } from '@geolip/io';

import { modelOverrides, withModelConfig } from './model-config.js';
import { readConfigObject, trainingKeys } from './config-blocks.js';

/** Weights of the loss stack (dual-stream v6 card, spec §8.10). The plain ViT uses `bce` and `infoNCE` only. */
export interface FmnistLossWeights {
  bce: number;
  infoNCE: number;
  geoBce: number;
  geoDiversity: number;
  cv: number;
  anchorCv: number;
  cm: number;
  spread: number;
  /** The mastery queue's hard triplet-margin loss (spec §8.9); 0 turns the queue off. */
  mastery: number;
}

const LOSS_DEFAULTS: FmnistLossWeights = {
  bce: 1,
  infoNCE: 0.1,
  geoBce: 0.3,
  geoDiversity: 0.5,
  cv: 0.1,
  anchorCv: 0.05,
  cm: 0.1,
  spread: 0.001,
  mastery: 1,
};

export { FMNIST_DUAL_STREAM, FMNIST_PLAIN_VIT };

/** The validated config of {@link fmnistVit} (paths absolute). */
export interface FmnistVitConfig extends OptimizerBlock, DataBlock, CheckpointBlock {
  model: 'dual-stream' | 'vit';
  epochs: number;
  batchSize: number;
  clipNorm: number;
  smoothing: number;
  temperature: number;
  cvTarget: number;
  autograd: boolean;
  loss: FmnistLossWeights;
  /**
   * The last `valSize` of the (limited) training images are held out for validation (the mastery queue's gap);
   * 0 = none.
   */
  valSize: number;
  /** Evaluate on the validation images every N steps; 0 = once per epoch. */
  evalEvery: number;
  seed: number;
  /** Overrides of the model config (e.g. `{ "dualBlocks": 1 }` for a smoke run), checked by the model itself. */
  modelConfig: Record<string, unknown>;
  /** Options of the mastery queue (integer options of `MasteryQueueOptions`; defaults from spec §8.9). */
  masteryQueue: Partial<Record<(typeof QUEUE_KEYS)[number], number>>;
}

const QUEUE_KEYS = [
  'capacity',
  'patience',
  'marginRampSteps',
  'minCapacity',
  'maxCapacity',
  'resizeStep',
  'cooldownEpochs',
] as const;

const R = configReader('fmnist-vit');
const OPTIMIZER: OptimizerBlock = { lr: 1e-3, warmupSteps: 200, weightDecay: 0.05, clipNorm: 1 };
const KEYS = [
  'model',
  ...trainingKeys(OPTIMIZER),
  'smoothing',
  'temperature',
  'cvTarget',
  'autograd',
  'loss',
  'valSize',
  'evalEvery',
  'seed',
  'checkpointEvery',
  'modelConfig',
  'masteryQueue',
];

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws `RecipeConfigError` naming
 * the field.
 */
export function parseFmnistVitConfig(raw: unknown, configDir: string): FmnistVitConfig {
  const o = readConfigObject(R, raw, KEYS);
  const l = R.object(o, 'loss') ?? {};
  R.keys(l, Object.keys(LOSS_DEFAULTS), 'loss');
  const loss = Object.fromEntries(
    Object.entries(LOSS_DEFAULTS).map(([k, v]) => [k, R.num(l, k, '>=0', v, 'loss')]),
  ) as unknown as FmnistLossWeights;
  const mq = R.object(o, 'masteryQueue') ?? {};
  R.keys(mq, [...QUEUE_KEYS], 'masteryQueue');
  const masteryQueue: FmnistVitConfig['masteryQueue'] = {};
  for (const k of QUEUE_KEYS) if (mq[k] !== undefined) masteryQueue[k] = R.num(mq, k, 'int>0', 1, 'masteryQueue');
  const optimizer = readOptimizerBlock(R, o, OPTIMIZER);
  return {
    model: R.choice(o, 'model', ['dual-stream', 'vit'] as const, 'dual-stream'),
    ...readDataBlock(R, o, FASHION_MNIST_DIR, configDir),
    epochs: R.num(o, 'epochs', 'int>0', 10),
    batchSize: R.num(o, 'batchSize', 'int>0', 256),
    ...optimizer,
    clipNorm: optimizer.clipNorm!,
    smoothing: R.num(o, 'smoothing', '>=0', 0.1),
    temperature: R.num(o, 'temperature', '>0', 0.07),
    cvTarget: R.num(o, 'cvTarget', '>0', 0.2),
    autograd: R.bool(o, 'autograd', true),
    loss,
    valSize: R.num(o, 'valSize', 'int>=0', 5000),
    evalEvery: R.num(o, 'evalEvery', 'int>=0', 0),
    seed: R.num(o, 'seed', 'int>=0', 0),
    ...readCheckpointBlock(R, o, 1000),
    modelConfig: modelOverrides(R, o),
    masteryQueue,
  };
}

type Net = { kind: 'dual-stream'; model: DualStreamViT } | { kind: 'vit'; model: ViTClassifier };

/** One step's values read after the step (asynchronously): the batch's accuracy, and what the mastery queue needs. */
interface Pending {
  emb: tf.Tensor2D | undefined;
  stats: tf.Tensor1D; // [InfoNCE accuracy (0 without InfoNCE), train accuracy of the batch]
  labels: Int32Array;
}

/** The plain ViT's outputs under the dual-stream's names (`emb` for the embedding). */
function plainForward(model: ViTClassifier, x: tf.Tensor4D): { logits: tf.Tensor2D; emb: tf.Tensor2D } {
  const o = model.forward(x);
  return { logits: o.logits, emb: o.embedding };
}

class Trainer implements TrainableModel<ImageBatch> {
  pending: Pending | undefined;
  /** Correct / seen training predictions since the last evaluation (the mastery queue's train accuracy). */
  trainHits = 0;
  trainSeen = 0;

  constructor(
    readonly net: Net,
    private readonly cfg: FmnistVitConfig,
    public queue: MasteryQueue | undefined,
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.net.model.getWeights();
  }

  loss(batch: ImageBatch, ctx: StepContext): tf.Scalar {
    const { cfg, queue } = this;
    const w = cfg.loss;
    return tf.tidy(() => {
      const images = tf.tensor4d(batch.images, batch.shape);
      const view2 = tf.reverse(images, 2) as tf.Tensor4D; // the second view of InfoNCE: the mirror image [INFER]
      const labels = tf.tensor1d(batch.labels, 'int32');
      const oneHot = tf.cast(tf.oneHot(labels, 10), 'float32') as tf.Tensor2D;
      const terms: tf.Tensor[] = [];
      const dual = this.net.kind === 'dual-stream' ? this.net.model : undefined;
      const opts = { training: true, ...(cfg.autograd ? { autograd: DUAL_STREAM_AUTOGRAD } : {}) };
      const forward = (x: tf.Tensor4D) =>
        dual ? dual.forward(x, opts) : plainForward(this.net.model as ViTClassifier, x);
      const a = forward(images);
      terms.push(tf.mul(w.bce, bceWithLabelSmoothing(a.logits, oneHot, { smoothing: cfg.smoothing })));
      // The mirror view's forward pass is needed for the InfoNCE term, and for the queue (its accuracy drives
      // activation).
      const nce =
        w.infoNCE > 0 || queue ? infoNCE(a.emb, forward(view2).emb, { temperature: cfg.temperature }) : undefined;
      if (nce && w.infoNCE > 0) terms.push(tf.mul(w.infoNCE, nce.loss));
      if (queue) terms.push(tf.mul(w.mastery, queue.loss(a.emb, batch.labels).loss));
      const hits = tf.mean(tf.cast(tf.equal(tf.argMax(a.logits, 1), labels), 'float32'));
      // The previous micro-batch's pending stats were not read.
      if (this.pending) tf.dispose([this.pending.stats, ...(this.pending.emb ? [this.pending.emb] : [])]);
      this.pending = {
        emb: queue ? (tf.keep(tf.clone(a.emb)) as tf.Tensor2D) : undefined,
        // [0] is read only with the queue
        stats: tf.keep(tf.stack([nce ? nce.accuracy : tf.scalar(0), hits])) as tf.Tensor1D,
        labels: Int32Array.from(batch.labels),
      };
      if (dual) {
        const d = a as ReturnType<DualStreamViT['forward']>;
        if (w.geoBce > 0)
          terms.push(tf.mul(w.geoBce, bceWithLabelSmoothing(d.geoLogits, oneHot, { smoothing: cfg.smoothing })));
        if (w.geoDiversity > 0) terms.push(tf.mul(w.geoDiversity, geoDiversityLoss(d.geoEmb, batch.labels)));
        if (w.cv > 0) terms.push(tf.mul(w.cv, cvLossTerm(d.emb, cfg.cvTarget, { rng: ctx.rng })));
        if (w.anchorCv > 0)
          terms.push(tf.mul(w.anchorCv, anchorCVLoss(dual.constellation, cfg.cvTarget, { rng: ctx.rng })));
        // CM validity: penalize V² < 0
        if (w.cm > 0) terms.push(tf.mul(w.cm, tf.mean(tf.relu(tf.neg(d.cmVolumeSquared)))));
        if (w.spread > 0) terms.push(tf.mul(w.spread, spreadLoss(dual.constellation)));
      }
      return tf.addN(terms) as tf.Scalar;
    });
  }

  /**
   * After a step: count the batch's training accuracy; feed the queue its InfoNCE accuracy and the detached
   * embeddings.
   */
  async afterStep(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const [stats, emb] = await Promise.all([p.stats.data(), p.emb?.data()]);
    tf.dispose([p.stats, ...(p.emb ? [p.emb] : [])]);
    if (this.queue && p.emb && emb) {
      this.queue.update({ accuracy: stats[0]! });
      this.queue.enqueueValues(emb, p.labels, p.emb.shape[1]);
    }
    this.trainHits += stats[1]! * p.labels.length;
    this.trainSeen += p.labels.length;
  }
}

/** Accuracy of the main (and geo) classifier on images [offset, offset + n) of a split; also the embeddings. */
async function evaluate(
  net: Net,
  split: { images: Uint8Array; labels: Uint8Array },
  offset: number,
  n: number,
  batch: number,
): Promise<{ acc: number; geoAcc: number; emb: Float32Array; dim: number }> {
  let hits = 0;
  let geoHits = 0;
  // the embedding width (modelConfig.outDim)
  const dim = net.kind === 'vit' ? net.model.encoder.config.outDim : net.model.config.outDim;
  const emb = new Float32Array(n * dim);
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
      return [tf.argMax(o.logits, 1), tf.argMax(o.geoLogits, 1), o.emb];
    });
    const [p, g, e] = await Promise.all(out.map((t) => t.data()));
    for (let i = 0; i < b; i++) {
      if (p![i] === split.labels[offset + s + i]) hits++;
      if (g![i] === split.labels[offset + s + i]) geoHits++;
    }
    emb.set((e as Float32Array).subarray(0, b * dim), s * dim);
    tf.dispose([x, ...out]);
  }
  return { acc: hits / n, geoAcc: geoHits / n, emb, dim };
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
  const stream: ImageBatchStream = batches(trainData, {
    batchSize: cfg.batchSize,
    shuffle: true,
    seed: cfg.seed,
    epochs: cfg.epochs,
    dropLast: true,
    augment: { randomCrop: { padding: 2 }, flip: true },
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
  const trainer = new Trainer(net, cfg, cfg.loss.mastery > 0 ? new MasteryQueue(cfg.masteryQueue) : undefined);
  return {
    net,
    trainer,
    totalSteps,
    options: {
      model: trainer,
      data: streamSteps(stream),
      ...optimizerOptions(cfg, totalSteps),
      seed: cfg.seed,
      afterStep: () => trainer.afterStep(),
    },
  };
}

async function run(cfg: FmnistVitConfig, job: RecipeRun): Promise<number> {
  const { io, options } = job;
  const trainSet = await loadFashionMnist('train', { dir: cfg.data });
  const testSet = await loadFashionMnist('test', { dir: cfg.data });
  const nAll = cfg.trainLimit > 0 ? Math.min(cfg.trainLimit, trainSet.n) : trainSet.n;
  const nVal = cfg.valSize;
  const nTrain = nAll - nVal;
  const nTest = cfg.testLimit > 0 ? Math.min(cfg.testLimit, testSet.n) : testSet.n;
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
  io.stdout.write(
    `fmnist-vit: ${cfg.model}, ${net.model.paramCount().toLocaleString('en-US')} parameters; ` +
      `${nTrain} train / ${nVal} val / ${nTest} test images, ` +
      `${cfg.epochs} epochs = ${totalSteps} steps of ${cfg.batchSize}` +
      `${cfg.loss.mastery > 0 ? '; mastery queue on' : ''}\n`,
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
              const r = await evaluate(net, trainSet, nTrain, nVal, 500);
              const trainAcc = trainer.trainSeen > 0 ? trainer.trainHits / trainer.trainSeen : NaN;
              trainer.trainHits = 0;
              trainer.trainSeen = 0;
              const metrics: Record<string, number> = {
                val_acc: r.acc,
                ...(net.kind === 'dual-stream' ? { val_geo_acc: r.geoAcc } : {}),
                train_acc: trainAcc,
              };
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
      config: { recipe: 'fmnist-vit', ...JSON.parse(JSON.stringify(cfg)) },
      extraState: () => ({
        ...(queue ? { queue: queue.state() as unknown as JsonValue } : {}),
        trainHits: trainer.trainHits,
        trainSeen: trainer.trainSeen,
        trainSeconds: trainSecondsNow(),
      }),
      onResume: (extra) => {
        const e = extra as {
          queue?: MasteryQueueState;
          trainHits?: number;
          trainSeen?: number;
          trainSeconds?: number;
        } | null;
        if (queue && e?.queue) {
          queue = MasteryQueue.fromState(e.queue);
          trainer.queue = queue;
        }
        trainer.trainHits = e?.trainHits ?? 0;
        trainer.trainSeen = e?.trainSeen ?? 0;
        secondsBefore = e?.trainSeconds ?? 0;
      },
      progress: true,
    });
    if (summary.aborted) return job.interrupted(summary, totalSteps, { newline: true });
    const trainSeconds = trainSecondsNow(); // over all calls of a resumed run
    const final = await evaluate(net, testSet, 0, nTest, 500);
    const emb = tf.tensor2d(final.emb, [nTest, final.dim]);
    const report = await scanAsync(emb, {
      labels: Array.from(testSet.labels.subarray(0, nTest)),
      ...(net.kind === 'dual-stream' ? { anchors: net.model.constellation } : {}),
      name: `${cfg.model} test embeddings`,
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
      params: net.model.paramCount(),
      steps: summary.step,
      epochs: cfg.epochs,
      trainImages: nTrain,
      valImages: nVal,
      testImages: nTest,
      testAccuracy: final.acc,
      ...(net.kind === 'dual-stream' ? { geoAccuracy: final.geoAcc } : {}),
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
      trainSeconds,
      classes: FASHION_MNIST_CLASSES,
      scan: report,
    };
    const resultFile = await job.writeResult(result);
    io.stdout.write(
      `\nfmnist-vit: ${cfg.model} test accuracy ${(100 * final.acc).toFixed(2)}%` +
        (net.kind === 'dual-stream' ? `, geo stream alone ${(100 * final.geoAcc).toFixed(2)}%` : '') +
        ` (${nTest} test images, ${summary.step} steps, ${trainSeconds.toFixed(0)} s)\n`,
    );
    io.stdout.write(formatScan(report) + '\n');
    io.stdout.write(`wrote ${resultFile}, model.safetensors, embeddings-{train,test}.safetensors, ${metricsFile}\n`);
    return 0;
  } finally {
    if (trainer.pending) tf.dispose([trainer.pending.stats, ...(trainer.pending.emb ? [trainer.pending.emb] : [])]);
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
{"model", "data", "epochs", "batchSize", "lr", "loss": {...}, "modelConfig", ...};
writes <out>/result.json (test accuracy, geo accuracy, scan).`,
  parse: parseFmnistVitConfig,
  run,
});
