// Pair-task evaluation: embed every unique sentence once, score each pair by cosine similarity,
// then compare with the gold scores (STS-B, SICK-R) or labels (MRPC).
import type { PairDataset } from '@geolip/text/data';
import { cosineRows, embedAll, type Embedder } from './embedder.js';
import { bestThreshold, classificationAt, pearson, rocAuc, spearman } from '@geolip/metrics';

export type PairTask = PairDataset['task'];

/** Tasks scored by rank/linear correlation against a graded gold score. */
export const REGRESSION_TASKS: readonly PairTask[] = ['stsb', 'sick'];
/** Tasks scored as binary classification (paraphrase or not). */
export const CLASSIFICATION_TASKS: readonly PairTask[] = ['mrpc'];
export const PAIR_TASKS: readonly PairTask[] = ['stsb', 'sick', 'mrpc'];

export interface EvaluateOptions {
  /**
   * Split on which the MRPC decision threshold is fitted (by F1). Without it the threshold is
   * fitted on the evaluated split itself and `thresholdFittedOn` says so (an optimistic number).
   * Ignored for STS-B and SICK.
   */
  fit?: PairDataset;
  /** Sentences per `embed` call. Default 64. */
  batchSize?: number;
  /** Called as sentences are embedded: (done, total) over the unique sentences. */
  onProgress?: (done: number, total: number) => void;
}

interface ResultBase {
  model: string;
  params?: number;
  dim: number;
  task: PairTask;
  split: string;
  file: string;
  /** Pairs evaluated. */
  n: number;
  /** Malformed rows the loader dropped. */
  dropped: number;
  /** Distinct sentences embedded (eval split plus fit split). */
  uniqueSentences: number;
  /** Wall-clock seconds: embedding plus scoring. */
  seconds: number;
  /** Seconds spent in the embedder. */
  embedSeconds: number;
  /** Unique sentences embedded per second of `embedSeconds`. */
  itemsPerSecond: number;
  /** Gold score (STS-B, SICK) or label 0/1 (MRPC) per evaluated pair, for plots. */
  gold: number[];
  /** Cosine similarity per evaluated pair. */
  predicted: number[];
}

export interface RegressionResult extends ResultBase {
  kind: 'regression';
  spearman: number;
  pearson: number;
}

export interface ClassificationResult extends ResultBase {
  kind: 'classification';
  /** Metrics on the evaluated split at `threshold`. */
  f1: number;
  accuracy: number;
  precision: number;
  recall: number;
  /** Cosine threshold chosen by best F1 on the fit split (`thresholdFittedOn`). */
  threshold: number;
  thresholdFittedOn: { split: string; n: number; f1: number };
  auc: number;
  /** Best threshold on the evaluated split itself: an upper bound, not a fair score. */
  oracle: { threshold: number; f1: number; accuracy: number };
  /** Predict-all-paraphrase baseline on the evaluated split. */
  trivialF1: number;
  trivialAccuracy: number;
  positives: number;
}

export type PairTaskResult = RegressionResult | ClassificationResult;

function requireScores(dataset: PairDataset): number[] {
  return dataset.pairs.map((p, i) => {
    if (typeof p.score !== 'number' || !Number.isFinite(p.score)) {
      throw new Error(`${dataset.file}: pair ${i} (line ${p.line}) has no numeric score`);
    }
    return p.score;
  });
}

function requireLabels(dataset: PairDataset): (0 | 1)[] {
  return dataset.pairs.map((p, i) => {
    if (p.label !== 0 && p.label !== 1) {
      throw new Error(`${dataset.file}: pair ${i} (line ${p.line}) has no 0/1 label`);
    }
    return p.label;
  });
}

/** The per-pair cosines of {@link scorePairs}: what a shard of `geolip-bench run --shard i/N` carries. */
export interface PairScores {
  /** Cosine similarity per evaluated pair. */
  predicted: number[];
  /** Cosine similarity per pair of the fit split (MRPC with `options.fit`). */
  fitPredicted?: number[];
  /** Distinct sentences embedded. */
  uniqueSentences: number;
  /** Seconds spent in the embedder. */
  embedSeconds: number;
}

/** The pairs a shard scores: `[start, end)` of the evaluated split and of the fit split. */
export interface PairSlice {
  eval: { start: number; end: number };
  fit?: { start: number; end: number };
}

/**
 * Embeds every distinct sentence of `dataset` (and `fit`) once and returns the cosine of each pair, in pair order.
 * The per-item half of {@link evaluatePairTask}; {@link pairTaskResult} is the other half.
 *
 * With `slice` (a shard) only those pairs are scored, and their sentences are embedded in exactly the batches the
 * whole run embeds them in (the distinct sentences of both splits, in order of first appearance, cut every
 * `batchSize`): a shard embeds each batch that holds one of its sentences, whole. So a shard's cosines equal the
 * whole run's bit for bit even for a model whose rows depend on their batch (padding to the longest sentence).
 */
export async function scorePairs(
  embedder: Embedder,
  dataset: PairDataset,
  fit: PairDataset | undefined,
  options: EvaluateOptions & { slice?: PairSlice } = {},
): Promise<PairScores> {
  const index = new Map<string, number>();
  const unique: string[] = [];
  const idOf = (s: string): number => {
    let id = index.get(s);
    if (id === undefined) {
      id = unique.length;
      index.set(s, id);
      unique.push(s);
    }
    return id;
  };
  let evalIds = dataset.pairs.map((p) => [idOf(p.a), idOf(p.b)] as const);
  let fitIds = fit?.pairs.map((p) => [idOf(p.a), idOf(p.b)] as const);
  const batchSize = options.batchSize ?? 64;
  const d = embedder.dim;
  const tEmbed = performance.now();
  let embeddings: Float32Array;
  const { slice } = options;
  if (slice === undefined) {
    embeddings = await embedAll(embedder, unique, {
      batchSize,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } else {
    evalIds = evalIds.slice(slice.eval.start, slice.eval.end);
    fitIds = fitIds?.slice(slice.fit?.start ?? 0, slice.fit?.end ?? 0);
    const batches = new Set<number>();
    for (const [a, b] of [...evalIds, ...(fitIds ?? [])])
      batches.add(Math.floor(a / batchSize)).add(Math.floor(b / batchSize));
    const order = [...batches].sort((x, y) => x - y);
    embeddings = new Float32Array(unique.length * d);
    let done = 0;
    for (const k of order) {
      const batch = unique.slice(k * batchSize, (k + 1) * batchSize);
      embeddings.set(await embedAll(embedder, batch, { batchSize }), k * batchSize * d);
      done += batch.length;
      options.onProgress?.(done, order.length * batchSize);
    }
  }
  const embedSeconds = (performance.now() - tEmbed) / 1000;

  const similarities = (ids: readonly (readonly [number, number])[]): number[] => {
    const n = ids.length;
    const a = new Float32Array(n * d);
    const b = new Float32Array(n * d);
    ids.forEach(([ia, ib], r) => {
      a.set(embeddings.subarray(ia * d, (ia + 1) * d), r * d);
      b.set(embeddings.subarray(ib * d, (ib + 1) * d), r * d);
    });
    return Array.from(cosineRows(a, b, n, d));
  };
  return {
    predicted: similarities(evalIds),
    ...(fitIds ? { fitPredicted: similarities(fitIds) } : {}),
    uniqueSentences: unique.length,
    embedSeconds,
  };
}

/** What {@link pairTaskResult} needs besides the scores: the model and the dataset's description. */
export interface PairResultBase {
  model: string;
  params?: number;
  dim: number;
}

/**
 * The metrics of a pair task from every pair's cosine (all of them: Spearman, the F1 threshold and AUC need every
 * score, which is why shards carry scores and the metrics are computed after the merge).
 */
export function pairTaskResult(
  model: PairResultBase,
  dataset: PairDataset,
  fit: PairDataset | undefined,
  scores: PairScores,
  seconds: number,
): PairTaskResult {
  const { predicted, embedSeconds, uniqueSentences } = scores;
  const base = {
    model: model.model,
    ...(model.params !== undefined ? { params: model.params } : {}),
    dim: model.dim,
    task: dataset.task,
    split: dataset.split,
    file: dataset.file,
    n: dataset.pairs.length,
    dropped: dataset.dropped,
    uniqueSentences,
    embedSeconds,
    itemsPerSecond: embedSeconds > 0 ? uniqueSentences / embedSeconds : Number.POSITIVE_INFINITY,
    predicted,
  };
  if (predicted.length !== dataset.pairs.length)
    throw new Error(`${dataset.file}: ${predicted.length} scores for ${dataset.pairs.length} pairs`);

  if (dataset.task !== 'mrpc') {
    const gold = requireScores(dataset);
    const result: RegressionResult = {
      kind: 'regression',
      ...base,
      gold,
      spearman: spearman(predicted, gold),
      pearson: pearson(predicted, gold),
      seconds,
    };
    return result;
  }

  const labels = requireLabels(dataset);
  const fitScores = fit ? scores.fitPredicted! : predicted;
  const fitLabels = fit ? requireLabels(fit) : labels;
  const fitted = bestThreshold(fitScores, fitLabels, { metric: 'f1' });
  const at = classificationAt(predicted, labels, fitted.threshold);
  const oracle = bestThreshold(predicted, labels, { metric: 'f1' });
  const positives = labels.reduce<number>((s, l) => s + l, 0);
  const n = labels.length;
  const result: ClassificationResult = {
    kind: 'classification',
    ...base,
    gold: labels.slice(),
    f1: at.f1,
    accuracy: at.accuracy,
    precision: at.precision,
    recall: at.recall,
    threshold: fitted.threshold,
    thresholdFittedOn: { split: fit ? fit.split : dataset.split, n: fitLabels.length, f1: fitted.f1 },
    auc: rocAuc(predicted, labels),
    oracle: { threshold: oracle.threshold, f1: oracle.f1, accuracy: oracle.accuracy },
    trivialF1: positives === 0 ? 0 : (2 * positives) / (positives + n),
    trivialAccuracy: positives / n,
    positives,
    seconds,
  };
  return result;
}

/**
 * Evaluates `embedder` on a sentence-pair dataset.
 *
 * - STS-B / SICK: Spearman and Pearson correlation between cosine similarity and the gold score.
 * - MRPC: F1 / accuracy at a threshold fitted on `options.fit` (best F1), ROC-AUC, the oracle
 *   threshold on the evaluated split, and the all-paraphrase baseline.
 *
 * Every distinct sentence (over the evaluated and fit splits) is embedded exactly once.
 */
export async function evaluatePairTask(
  embedder: Embedder,
  dataset: PairDataset,
  options: EvaluateOptions = {},
): Promise<PairTaskResult> {
  if (dataset.pairs.length === 0) throw new Error(`${dataset.file}: no pairs to evaluate`);
  const fit = dataset.task === 'mrpc' ? options.fit : undefined;
  if (fit !== undefined && fit.pairs.length === 0) throw new Error(`${fit.file}: the fit split has no pairs`);
  const t0 = performance.now();
  const scores = await scorePairs(embedder, dataset, fit, options);
  return pairTaskResult(
    { model: embedder.name, ...(embedder.params !== undefined ? { params: embedder.params } : {}), dim: embedder.dim },
    dataset,
    fit,
    scores,
    (performance.now() - t0) / 1000,
  );
}
