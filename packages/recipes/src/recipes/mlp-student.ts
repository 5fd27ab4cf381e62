// Recipe `mlp-student`: distil one expert's raw features into the consensus targets with a small MLP.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@geolip/geometry';
import {
  configReader,
  defineRecipe,
  infoNCE,
  isObject,
  loadConsensus,
  mseLoss,
  optimizerOptions,
  readCheckpointBlock,
  readExpertFeatures,
  readOptimizerBlock,
  readWeightsAsync,
  show,
  train,
} from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type { CheckpointBlock, NumberKind, OptimizerBlock, RecipeRun, TrainableModel } from '@geolip/train';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { MLP_STUDENT_TYPE, MlpStudent } from '@geolip/nn';

/** The validated config of {@link mlpStudent} (paths absolute). */
export interface MlpStudentConfig extends OptimizerBlock, CheckpointBlock {
  consensus: string;
  input: { expert: string; features: string };
  hidden: number;
  activation: 'gelu' | 'relu';
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  temperature: number;
  mseWeight: number;
  seed: number;
  checkpointEvery: number;
}

const DEFAULTS = {
  hidden: 64,
  activation: 'gelu',
  steps: 200,
  batchSize: 32,
  lr: 3e-3,
  warmupSteps: 10,
  weightDecay: 0.01,
  temperature: 0.07,
  mseWeight: 1,
  seed: 0,
  checkpointEvery: 50,
} as const;

const OPTIMIZER: OptimizerBlock = {
  lr: DEFAULTS.lr,
  warmupSteps: DEFAULTS.warmupSteps,
  weightDecay: DEFAULTS.weightDecay,
};
const KEYS = ['consensus', 'input', ...Object.keys(DEFAULTS)];

const cfgRead = configReader('mlp-student');
const fail = (msg: string, path?: string): never => cfgRead.fail(msg, path);
const num = (obj: Record<string, unknown>, key: keyof typeof DEFAULTS, kind: NumberKind): number =>
  cfgRead.num(obj, key, kind, DEFAULTS[key] as number);
const str = (obj: Record<string, unknown>, key: string, field: string): string =>
  cfgRead.str(obj, key, field.includes('.') ? field.split('.')[0]! : '');

/**
 * Validates the parsed config JSON; relative paths resolve against `configDir`. Throws a one-line error naming the
 * field.
 */
export function parseMlpStudentConfig(raw: unknown, configDir: string): MlpStudentConfig {
  if (!isObject(raw)) return fail('must be a JSON object');
  cfgRead.keys(raw, KEYS);
  const consensus = str(raw, 'consensus', 'consensus');
  if (raw.input === undefined) fail("missing field 'input'", 'input');
  if (!isObject(raw.input))
    return fail(`'input' must be an object {expert, features}, got ${show(raw.input)}`, 'input');
  cfgRead.keys(raw.input, ['expert', 'features'], 'input');
  const expert = str(raw.input, 'expert', 'input.expert');
  const features = str(raw.input, 'features', 'input.features');
  const activation = raw.activation ?? DEFAULTS.activation;
  if (activation !== 'gelu' && activation !== 'relu')
    return fail(`'activation' must be 'gelu' or 'relu', got ${show(activation)}`, 'activation');
  const cfg: MlpStudentConfig = {
    consensus: resolve(configDir, consensus),
    input: { expert, features: resolve(configDir, features) },
    hidden: num(raw, 'hidden', 'int>0'),
    activation,
    steps: num(raw, 'steps', 'int>0'),
    batchSize: num(raw, 'batchSize', 'int>0'),
    ...readOptimizerBlock(cfgRead, raw, OPTIMIZER),
    temperature: num(raw, 'temperature', '>0'),
    mseWeight: num(raw, 'mseWeight', '>=0'),
    seed: num(raw, 'seed', 'int>=0'),
    ...readCheckpointBlock(cfgRead, raw, DEFAULTS.checkpointEvery),
  };
  if (cfg.batchSize < 2) fail(`'batchSize' must be >= 2 (InfoNCE needs negatives), got ${cfg.batchSize}`, 'batchSize');
  if (cfg.warmupSteps > cfg.steps)
    fail(`'warmupSteps' (${cfg.warmupSteps}) must not exceed 'steps' (${cfg.steps})`, 'warmupSteps');
  return cfg;
}

/**
 * Trains an {@link MlpStudent} (the model lives in `@geolip/nn`, registered as `nn/mlp-student`): its weights, and the
 * loss of a batch of rows of the training data.
 */
class MlpStudentTrainer implements TrainableModel<Int32Array> {
  constructor(
    readonly model: MlpStudent,
    private readonly data: { x: tf.Tensor2D; y: tf.Tensor2D; loss: (s: tf.Tensor2D, t: tf.Tensor2D) => tf.Scalar },
  ) {}

  getWeights(): Record<string, tf.Variable> {
    return this.model.getWeights();
  }

  loss(batch: Int32Array): tf.Scalar {
    const d = this.data;
    return tf.tidy(() => {
      const idx = tf.tensor1d(batch, 'int32');
      return d.loss(this.model.forward(tf.gather(d.x, idx) as tf.Tensor2D), tf.gather(d.y, idx) as tf.Tensor2D);
    });
  }
}

/** Mean over rows of cos(student(x_i), target_i) (targets are unit rows). */
async function meanCosine(model: MlpStudent, x: tf.Tensor2D, y: tf.Tensor2D): Promise<number> {
  const m = tf.tidy(() => tf.mean(tf.sum(tf.mul(model.forward(x), y), 1)));
  const value = (await m.data())[0]!;
  m.dispose();
  return value;
}

async function run(cfg: MlpStudentConfig, job: RecipeRun): Promise<number> {
  const { io, options } = job;
  const stopAt = options.steps ?? cfg.steps;

  if (!existsSync(cfg.consensus))
    throw job.error(`consensus file ${cfg.consensus} does not exist (field 'consensus')`, 'consensus');
  const consensus = loadConsensus(readFileSync(cfg.consensus));
  const e = consensus.experts.indexOf(cfg.input.expert);
  if (e < 0)
    fail(
      `'input.expert' '${cfg.input.expert}' is not in the consensus (experts: ${consensus.experts.join(', ')})`,
      'input.expert',
    );
  const features = await readExpertFeatures(cfg.input.features);
  const targets = consensus.targets;
  if (features.rows !== targets.rows)
    throw job.error(`'input.features' has N=${features.rows} rows, the consensus targets have N=${targets.rows}`);
  const expectDim = consensus.config.inputDims[e];
  if (expectDim !== undefined && features.cols !== expectDim)
    throw job.error(
      `'input.features' has width ${features.cols}, ` +
        `expert '${cfg.input.expert}' had width ${expectDim} in the consensus`,
    );
  if (cfg.batchSize > features.rows)
    fail(`'batchSize' ${cfg.batchSize} exceeds the N=${features.rows} samples`, 'batchSize');

  const files = await job.stage();
  const { ckDir, metricsFile } = files;

  const n = features.rows;
  const x = tf.tensor2d(Float32Array.from(features.data), [n, features.cols]);
  const y = tf.tensor2d(Float32Array.from(targets.data), [n, targets.cols]);
  const { temperature, mseWeight } = cfg;
  const lossFn = (s: tf.Tensor2D, t: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => {
      const nce = infoNCE(s, t, { temperature });
      return (mseWeight === 0 ? nce.loss : tf.add(nce.loss, tf.mul(mseWeight, mseLoss(s, t)))) as tf.Scalar;
    });
  const model = new MlpStudent(
    { inDim: features.cols, hidden: cfg.hidden, outDim: targets.cols, activation: cfg.activation },
    cfg.seed,
  );
  try {
    const before = await meanCosine(model, x, y);
    const summary = await train<Int32Array>({
      model: new MlpStudentTrainer(model, { x, y, loss: lossFn }),
      data: (_step: number, rng: Rng) => rng.choose(n, cfg.batchSize),
      steps: stopAt,
      // The schedule always spans the config's steps, so a run stopped by --steps and resumed equals a straight run.
      ...optimizerOptions(cfg, cfg.steps),
      seed: cfg.seed,
      ...job.trainOptions(files, cfg.checkpointEvery),
      config: { recipe: 'mlp-student', ...cfg, input: { ...cfg.input } },
    });
    if (summary.aborted) return job.interrupted(summary, cfg.steps);
    const after = await meanCosine(model, x, y);
    // Read asynchronously: webgpu in Node cannot read tensors synchronously.
    const weights = await readWeightsAsync(model.getWeights());
    const studentFile = join(options.out, 'student.safetensors');
    await writeFileAtomic(
      studentFile,
      writeSafetensors(
        weights,
        writeModelMetadata({
          type: MLP_STUDENT_TYPE,
          config: model.config,
          extra: { recipe: 'mlp-student', expert: cfg.input.expert, step: summary.step },
        }),
      ),
    );
    const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');
    io.stdout.write(
      `mlp-student: expert '${cfg.input.expert}' ` +
        `D_in=${model.inDim} -> hidden=${cfg.hidden} -> K=${model.outDim}, N=${n}\n`,
    );
    io.stdout.write(
      `steps ${summary.step - summary.stepsRun} -> ${summary.step} (of ${cfg.steps}), ` +
        `last loss ${fmt(summary.lastLoss)}\n`,
    );
    io.stdout.write(`mean cosine(student, target): ${fmt(after)} (before: ${fmt(before)})\n`);
    io.stdout.write(`wrote ${studentFile}, ${metricsFile} and checkpoints in ${ckDir}\n`);
    return 0;
  } finally {
    model.dispose();
    x.dispose();
    y.dispose();
  }
}

/** `geolip-train run mlp-student`: an MLP student on one expert's raw features, trained to the consensus targets. */
export const mlpStudent = defineRecipe<MlpStudentConfig>({
  name: 'mlp-student',
  description:
    "MLP (Linear -> GELU/ReLU -> Linear, L2-normalized) on one expert's raw features, " +
    'trained to the consensus targets with InfoNCE + MSE',
  help: `config {"consensus", "input": {"expert", "features"}, "hidden", "activation",
"steps", "batchSize", "lr", "warmupSteps", "weightDecay", "temperature",
"mseWeight", "seed", "checkpointEvery"}; writes <out>/student.safetensors.`,
  parse: parseMlpStudentConfig,
  run,
});
