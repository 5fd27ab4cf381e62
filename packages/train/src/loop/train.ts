import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { createProgress } from '@geolip/cli';
import { createRng, FormatError, InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { assertInteger, assertNumber } from '@geolip/geometry/checks';

import { assignWeights, loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint.js';
import type { JsonValue } from '../checkpoint/checkpoint.js';
import { AdamW } from './adamw.js';
import type { AdamWOptions } from './adamw.js';
import { formatProgress } from './progress.js';
import { clipScale, constantLr, globalNorm } from './schedule.js';
import type { LrSchedule } from './schedule.js';
import { readWeightsAsync } from '../io/read-weights.js';

/** What {@link TrainableModel.loss} receives besides the batch. */
export interface StepContext {
  /** 0-based index of the optimizer step being computed. */
  step: number;
  /** 0-based micro-batch index within the step (always 0 without accumulation). */
  micro: number;
  training: true;
  /** A generator for this micro-batch only (dropout, noise); derived from the run's seed and step. */
  rng: Rng;
}

/** The interface {@link train} needs from a model. */
export interface TrainableModel<B = unknown> {
  /** Every trainable parameter by a stable name (the same names on every call and every run). */
  getWeights(): Record<string, tf.Variable>;
  /** `[]` the loss of one (micro-)batch; called inside `tf.variableGrads`, so intermediates are freed. */
  loss(batch: B, ctx: StepContext): tf.Scalar;
  /**
   * Parameters excluded from weight decay. Default: rank ≤ 1 (biases, norm scales). Names containing
   * `anchor` are always excluded, whatever this returns.
   */
  noWeightDecay?(name: string): boolean;
}

/** One JSON-lines record (also passed to `log`). */
export type TrainRecord =
  | { type: 'step'; step: number; loss: number; lr: number; gradNorm: number; stepsPerSec: number; elapsedMs: number }
  | { type: 'eval'; step: number; metrics: Record<string, number> }
  | { type: 'checkpoint'; step: number; dir: string }
  /**
   * The run continued from the checkpoint `dir` at `step`. `compact`: it had no optimizer state, so AdamW started
   * fresh. `rewarm`: the learning rate is multiplied by (s − from + 1)/steps at step s < from + steps (null: none).
   */
  | { type: 'resume'; step: number; dir: string; compact: boolean; rewarm: { from: number; steps: number } | null }
  | { type: 'early_stop'; step: number; metric: string; best: number };

/** A learning-rate re-warm-up window (see {@link TrainOptions.rewarmSteps}). */
interface Rewarm {
  from: number;
  steps: number;
}

/** Early stopping on an evaluation metric. */
export interface EarlyStopOptions {
  /** Key of the `evaluate` result to watch. */
  metric: string;
  /** Whether smaller or larger is better. */
  mode: 'min' | 'max';
  /** Evaluations without improvement before stopping. ≥ 1. */
  patience: number;
  /** Improvement smaller than this does not count. Default 0. */
  minDelta?: number;
}

/** Options of {@link train}. */
export interface TrainOptions<B> {
  model: TrainableModel<B>;
  /** Produces the batch for (step, micro-batch); must draw randomness only from `rng` to be reproducible. */
  data: (step: number, rng: Rng, micro: number) => B;
  /** Total optimizer steps (a resumed run continues from the checkpoint's step up to this). ≥ 1. */
  steps: number;
  optimizer?: AdamWOptions;
  /** Learning rate per step. Default: constant `optimizer.lr` (1e-3). */
  schedule?: LrSchedule;
  /** Global-norm clip threshold; none when omitted. */
  clipNorm?: number;
  /** Micro-batches per optimizer step (gradients are averaged). Default 1. */
  accumulate?: number;
  /** Seed of the run's RNG. Default 0. */
  seed?: number;
  /** Call `evaluate` every this many steps (and after the last). Default: never. */
  evalEvery?: number;
  evaluate?: (step: number) => Promise<Record<string, number>> | Record<string, number>;
  earlyStop?: EarlyStopOptions;
  /**
   * Save a checkpoint to `dir` every `every` steps and at the end, keeping `keep` (default 2). `compact`: F16 weights
   * and no optimizer state (see `saveCheckpoint`), which resume with a re-warm-up, not exactly. Default false.
   */
  checkpoint?: { dir: string; every: number; keep?: number; compact?: boolean };
  /**
   * Resume from a checkpoint directory (root or step directory). A full checkpoint continues exactly; a compact one
   * restores the weights, step, RNG and extra state, starts AdamW fresh (step count 0, zero moments) and re-warms the
   * learning rate over `rewarmSteps`.
   */
  resumeFrom?: string;
  /**
   * After resuming a compact checkpoint at step s0: the schedule's learning rate is multiplied by (s − s0 + 1)/R for
   * the first R steps (1/R, 2/R, …, 1), so the fresh AdamW's first updates are small. Ignored for a full checkpoint
   * (one saved during a re-warm-up continues it, as the checkpoint records). Default 100; 0 for none. Integer ≥ 0.
   */
  rewarmSteps?: number;
  /** Stored in checkpoints and compared on resume (an error names the first key that differs). */
  config?: JsonValue;
  /** JSON saved with each checkpoint (e.g. `() => queue.state()`). */
  extraState?: () => JsonValue;
  /** Receives the `extra` of the checkpoint resumed from. */
  onResume?: (extra: JsonValue) => void;
  log?: (record: TrainRecord) => void;
  /** Append every record as one JSON line to this file. */
  metricsFile?: string;
  /** Report progress on stderr (a bar redrawn in place on a terminal, a line per 10% otherwise). Default false. */
  progress?: boolean;
  /**
   * Stops the run between steps once aborted: the step in flight finishes, a checkpoint is saved (when
   * `checkpoint` is set) and the summary has `aborted: true`; `--resume` then continues exactly.
   */
  signal?: AbortSignal;
  /** Called after every step (after its `step` record, before evaluation and checkpointing); may be async. */
  afterStep?: (step: number) => Promise<void> | void;
}

/** What {@link train} returns. */
export interface TrainSummary {
  /** Steps completed in total (including those before a resume). */
  step: number;
  /** Steps run by this call. */
  stepsRun: number;
  /** Loss of the last step (NaN if no step ran). */
  lastLoss: number;
  stoppedEarly: boolean;
  /** True when `signal` stopped the run before `steps`. */
  aborted: boolean;
  /** Best value of the early-stop metric, if any. */
  best?: number;
  /** Last evaluation result, if any. */
  lastEval?: Record<string, number>;
  /** The last checkpoint written, if any. */
  lastCheckpoint?: string;
  elapsedMs: number;
}

/** A non-finite loss in the train loop: {@link NonFiniteError} with the step and the last good checkpoint. */
export class TrainNonFiniteError extends NonFiniteError {
  readonly step: number;
  readonly lastCheckpoint: string | undefined;

  constructor(step: number, value: number, lastCheckpoint: string | undefined) {
    super('train', 'loss', 1, 0);
    this.step = step;
    this.lastCheckpoint = lastCheckpoint;
    const where = lastCheckpoint ? `; last good checkpoint: ${lastCheckpoint}` : ' (no checkpoint written yet)';
    this.message = `train: loss is ${value} at step ${step}${where}`;
  }
}

/** The re-warm-up a full checkpoint records (`extra.__rewarm`), checked: null when there is none. */
function readRewarm(value: unknown): Rewarm | null {
  if (value === undefined || value === null) return null;
  const r = value as Partial<Rewarm>;
  if (!Number.isInteger(r.from) || r.from! < 0 || !Number.isInteger(r.steps) || r.steps! < 1)
    throw new FormatError(
      'train',
      'extra.__rewarm',
      `must be { from: integer >= 0, steps: integer >= 1 }, got ${JSON.stringify(value)}`,
    );
  return { from: r.from!, steps: r.steps! };
}

const yieldToEventLoop = (): Promise<void> =>
  new Promise((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));

/**
 * Trains `model` with AdamW, an optional schedule, global-norm clipping and gradient accumulation.
 *
 * Each step: for each of k micro-batches, `tf.variableGrads` of `model.loss` (inside `tf.tidy`);
 * gradients are summed and divided by k; clipped to `clipNorm` (the factor c / max(‖g‖, c) is applied inside the
 * AdamW update, as `AdamW.step`'s `gradScale`); one AdamW update. The loss and
 * gradient norm are read to the CPU once per step (the only sync), checked with `Number.isFinite`.
 *
 * @remarks
 * - Reproducible: the run's RNG (seeded by `seed`) only draws one 32-bit seed per micro-batch
 *   (`uniform()`), and `data` and `loss` get a fresh generator built from it. The run RNG's state
 *   is therefore fully captured by `rng.state()` (Box–Muller's spare normal never sits in it), so
 *   N steps, checkpoint, resume, M steps equals N+M steps, bit for bit on the cpu backend.
 * - Memory: every tensor made in a step is disposed in that step; the count of live tensors is
 *   constant from step to step (tested over 100 steps).
 * - Early stop state (best, evaluations without improvement) is saved in checkpoints under
 *   `extra.__earlyStop`; user `extraState` goes under `extra.user`; a re-warm-up in progress under `extra.__rewarm`.
 * - A compact checkpoint (`checkpoint.compact`, or `compactCheckpoint` of a full one) resumes with the same weights
 *   (rounded to float16), step, RNG and extra state, but a fresh AdamW and {@link TrainOptions.rewarmSteps} of
 *   learning-rate re-warm-up: close to, not equal to, a straight run. A `resume` record says which kind it was.
 * @throws {TrainNonFiniteError} (a {@link NonFiniteError}) when a loss is NaN or ±Infinity.
 * @throws {InvalidArgumentError} for bad options, or a resume checkpoint from another config.
 */
export async function train<B>(options: TrainOptions<B>): Promise<TrainSummary> {
  const op = 'train';
  const { model, data } = options;
  if (!model || typeof model.getWeights !== 'function' || typeof model.loss !== 'function') {
    throw new InvalidArgumentError(op, 'options.model', 'must implement getWeights() and loss()');
  }
  if (typeof data !== 'function')
    throw new InvalidArgumentError(op, 'options.data', 'must be a function (step, rng, micro) => batch');
  const steps = assertInteger(op, 'options.steps', options.steps, 1);
  const accumulate = assertInteger(op, 'options.accumulate', options.accumulate ?? 1, 1);
  const seed = assertNumber(op, 'options.seed', options.seed ?? 0);
  const clipNorm =
    options.clipNorm === undefined
      ? undefined
      : assertNumber(op, 'options.clipNorm', options.clipNorm, Number.MIN_VALUE);
  const evalEvery =
    options.evalEvery === undefined ? undefined : assertInteger(op, 'options.evalEvery', options.evalEvery, 1);
  if (options.earlyStop) {
    assertInteger(op, 'options.earlyStop.patience', options.earlyStop.patience, 1);
    if (options.earlyStop.mode !== 'min' && options.earlyStop.mode !== 'max')
      throw new InvalidArgumentError(
        op,
        'options.earlyStop.mode',
        `must be 'min' or 'max', got ${String(options.earlyStop.mode)}`,
      );
    if (!options.evaluate || evalEvery === undefined)
      throw new InvalidArgumentError(op, 'options.earlyStop', 'needs evaluate and evalEvery');
  }
  if (options.checkpoint) assertInteger(op, 'options.checkpoint.every', options.checkpoint.every, 1);
  const rewarmSteps = assertInteger(op, 'options.rewarmSteps', options.rewarmSteps ?? 100, 0);
  if (options.afterStep !== undefined && typeof options.afterStep !== 'function')
    throw new InvalidArgumentError(op, 'options.afterStep', 'must be a function (step) => void');

  const weights = model.getWeights();
  const names = Object.keys(weights);
  const varList = names.map((n) => weights[n]!);
  const optimizer = new AdamW(weights, {
    ...options.optimizer,
    noWeightDecay:
      options.optimizer?.noWeightDecay ??
      (model.noWeightDecay ? (name: string) => model.noWeightDecay!(name) : undefined),
  });
  const schedule = options.schedule ?? constantLr(optimizer.lr);
  let rng = createRng(seed);
  let start = 0;
  let best: number | undefined;
  let bad = 0;
  let lastCheckpoint: string | undefined;
  let savedStep = -1;
  // The learning-rate re-warm-up after a compact resume: steps [from, from + steps) get lr·(s − from + 1)/steps.
  let rewarm: Rewarm | null = null;
  let resumed: TrainRecord | undefined;

  if (options.resumeFrom) {
    const ck = loadCheckpoint(options.resumeFrom, { expectWeights: weights, expectConfig: options.config });
    assignWeights(weights, ck.weights);
    const extra = (ck.extra ?? {}) as {
      __earlyStop?: { best: number | null; bad: number };
      __rewarm?: Rewarm;
      user?: JsonValue;
    };
    // A compact checkpoint has no moments: AdamW stays as constructed (t = 0, zero moments), so its bias correction
    // restarts as from scratch, and a new re-warm-up starts here. A full one restores AdamW and any re-warm-up in
    // progress, so it continues exactly.
    if (ck.compact) rewarm = rewarmSteps > 0 ? { from: ck.step, steps: rewarmSteps } : null;
    else {
      optimizer.setState(ck.optimizer);
      rewarm = readRewarm(extra.__rewarm);
    }
    rng = createRng(ck.rng.seed, ck.rng.state);
    start = ck.step;
    lastCheckpoint = ck.dir;
    if (extra.__earlyStop) {
      best = extra.__earlyStop.best ?? undefined;
      bad = extra.__earlyStop.bad;
    }
    resumed = { type: 'resume', step: ck.step, dir: ck.dir, compact: ck.compact, rewarm };
    options.onResume?.(extra.user ?? null);
  }
  const learningRate = (step: number): number =>
    rewarm !== null && step < rewarm.from + rewarm.steps
      ? schedule(step) * ((step - rewarm.from + 1) / rewarm.steps)
      : schedule(step);

  let metricsFd: number | undefined;
  if (options.metricsFile) {
    mkdirSync(dirname(options.metricsFile), { recursive: true });
    // On resume, the records of the steps after the checkpoint (logged before the run stopped) are dropped: those
    // steps run again and log again, and would otherwise be in the file twice.
    if (resumed && existsSync(options.metricsFile)) dropRecordsAfter(options.metricsFile, start);
    metricsFd = openSync(options.metricsFile, 'a');
  }
  const emit = (record: TrainRecord): void => {
    options.log?.(record);
    if (metricsFd !== undefined) writeSync(metricsFd, `${JSON.stringify(record)}\n`);
  };
  if (resumed) emit(resumed);

  const save = async (step: number): Promise<void> => {
    if (!options.checkpoint) return;
    const compact = options.checkpoint.compact ?? false;
    const extra: JsonValue = {
      __earlyStop: { best: best ?? null, bad },
      // Only while a re-warm-up is in progress (the checkpoints of other runs are unchanged).
      ...(rewarm !== null && step < rewarm.from + rewarm.steps ? { __rewarm: { ...rewarm } } : {}),
      user: options.extraState?.() ?? null,
    };
    // Read asynchronously (webgpu in Node cannot read synchronously), then write atomically.
    const host = await readWeightsAsync(weights);
    lastCheckpoint = saveCheckpoint(
      options.checkpoint.dir,
      {
        weights: host,
        optimizer: compact ? null : await optimizer.getStateAsync(),
        step,
        rng: { seed, state: rng.state() },
        config: options.config ?? null,
        extra,
      },
      { keep: options.checkpoint.keep, compact },
    );
    savedStep = step;
    emit({ type: 'checkpoint', step, dir: lastCheckpoint });
  };

  // The CLIs' one progress reporter: redrawn in place on a terminal, a line per 10% in a log.
  const progress = options.progress ? createProgress(process.stderr, 'train') : undefined;
  const t0 = performance.now();
  let lastLoss = NaN;
  let stoppedEarly = false;
  let aborted = false;
  let lastEval: Record<string, number> | undefined;
  let step = start;
  try {
    while (step < steps) {
      // Yield to the event loop once per step so timers and signal handlers can abort (the cpu backend's reads resolve
      // as microtasks and would otherwise never let them run).
      if (options.signal) await yieldToEventLoop();
      if (options.signal?.aborted) {
        aborted = true;
        if (step > start && savedStep !== step) await save(step);
        break;
      }
      const lr = learningRate(step);
      let sum: Record<string, tf.Tensor> | undefined;
      let lossSum: tf.Tensor | undefined;
      for (let micro = 0; micro < accumulate; micro++) {
        const microRng = createRng(Math.floor(rng.uniform() * 4294967296));
        const batch = data(step, microRng, micro);
        const ctx: StepContext = { step, micro, training: true, rng: microRng };
        const { value, grads: byVarName } = tf.variableGrads(() => model.loss(batch, ctx), varList);
        // tf keys gradients by tf.Variable.name; the optimizer and checkpoints use the model's names.
        const grads: Record<string, tf.Tensor> = {};
        for (const n of names) {
          const g = byVarName[weights[n]!.name];
          if (g) grads[n] = g;
        }
        const prevSum = sum;
        const prevLoss = lossSum;
        sum = prevSum
          ? tf.tidy(() =>
              Object.fromEntries(
                Object.entries(grads).map(([n, g]) => [n, prevSum[n] ? tf.add(prevSum[n]!, g) : g.clone()]),
              ),
            )
          : grads;
        lossSum = prevLoss ? tf.add(prevLoss, value) : value;
        if (prevSum) {
          // Keep grads of parameters that only had gradients in earlier micro-batches.
          for (const [n, g] of Object.entries(prevSum)) if (!(n in sum)) sum[n] = g;
          tf.dispose(
            Object.entries(prevSum)
              .filter(([n]) => sum![n] !== prevSum[n])
              .map(([, g]) => g),
          );
          tf.dispose(grads);
        }
        if (prevLoss) {
          prevLoss.dispose();
          value.dispose();
        }
      }
      const accumulated = sum!;
      const readback = tf.tidy(() => {
        const avg: Record<string, tf.Tensor> = {};
        for (const [n, g] of Object.entries(accumulated)) avg[n] = accumulate === 1 ? g : tf.div(g, accumulate);
        const norm = globalNorm(avg);
        const read = tf.keep(tf.stack([tf.div(lossSum!, accumulate), norm]));
        // Clipping folded into the update: AdamW multiplies each gradient by c / max(‖g‖, c) (in the in-place
        // update's shader on webgpu), the values of clipByGlobalNorm's clipped gradients without making them.
        optimizer.step(avg, lr, clipNorm === undefined ? {} : { gradScale: clipScale(norm, clipNorm) });
        return read;
      });
      // An asynchronous read (webgpu in Node cannot read synchronously); the values predate the update.
      const values = await readback.data();
      readback.dispose();
      const lossValue = values[0]!;
      const normValue = values[1]!;
      tf.dispose(accumulated);
      lossSum!.dispose();
      if (!Number.isFinite(lossValue)) throw new TrainNonFiniteError(step, lossValue, lastCheckpoint);
      step += 1;
      lastLoss = lossValue;
      const elapsedMs = performance.now() - t0;
      const stepsPerSec = ((step - start) * 1000) / Math.max(elapsedMs, 1e-9);
      emit({ type: 'step', step, loss: lossValue, lr, gradNorm: normValue, stepsPerSec, elapsedMs });
      progress?.update(step, steps, formatProgress(step, steps, lossValue, stepsPerSec));
      await options.afterStep?.(step);

      if (options.evaluate && evalEvery !== undefined && (step % evalEvery === 0 || step === steps)) {
        lastEval = await options.evaluate(step);
        emit({ type: 'eval', step, metrics: lastEval });
        const es = options.earlyStop;
        if (es) {
          const value = lastEval[es.metric];
          if (typeof value !== 'number')
            throw new InvalidArgumentError(
              op,
              'options.earlyStop.metric',
              `'${es.metric}' is not in the evaluate() result (keys: ${Object.keys(lastEval).join(', ')})`,
            );
          const delta = es.minDelta ?? 0;
          const improved = best === undefined || (es.mode === 'min' ? value < best - delta : value > best + delta);
          if (improved) {
            best = value;
            bad = 0;
          } else {
            bad += 1;
          }
          if (bad >= es.patience) {
            stoppedEarly = true;
            emit({ type: 'early_stop', step, metric: es.metric, best: best! });
          }
        }
      }
      if (options.checkpoint && (step % options.checkpoint.every === 0 || step === steps || stoppedEarly))
        await save(step);
      if (stoppedEarly) break;
    }
  } finally {
    progress?.end();
    if (metricsFd !== undefined) closeSync(metricsFd);
    optimizer.dispose();
  }
  return {
    step,
    stepsRun: step - start,
    lastLoss,
    stoppedEarly,
    aborted,
    best,
    lastEval,
    lastCheckpoint,
    elapsedMs: performance.now() - t0,
  };
}

/**
 * Rewrites a metrics JSON-lines file without the records of steps after `step` (and without a line cut short by a
 * crash, which is not JSON).
 */
function dropRecordsAfter(file: string, step: number): void {
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.trim() === '') return false;
      try {
        const record = JSON.parse(line) as { step?: unknown };
        return !(typeof record.step === 'number' && record.step > step);
      } catch {
        return false;
      }
    });
  writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
}
