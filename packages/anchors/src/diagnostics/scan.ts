import * as tf from '@tensorflow/tfjs-core';
import {
  InvalidArgumentError,
  Matrix,
  NonFiniteError,
  effectiveDimension,
  knnAccuracy,
  knnAccuracyAsync,
  pentachoronCV,
  sameDiffGap,
  sameDiffGapAsync,
  selfSimilarity,
  selfSimilarityAsync,
} from '@geolip/geometry';

import { CV_BAND, inCvBand } from './constants.js';
import {
  type AnchorSource,
  checkAnchorSource,
  checkInteger,
  checkLabels,
  checkMatrix,
  describeValue,
  readSync,
  unitAnchors,
} from './internal.js';
import {
  type AnchorUtilisation,
  anchorUtilisation,
  anchorUtilisationAsync,
  utilisationFromCounts,
} from './utilisation.js';

/** Classes with fewer members than this get no per-class CV (a pentachoron needs 5 points). */
const MIN_CLASS_SIZE = 5;

/** Options of {@link scan}. */
export interface ScanOptions {
  /** `[N]` integer class labels: enables the per-class CV, 1-NN accuracy and the same/diff gap. */
  labels?: Int32Array | readonly number[];
  /**
   * `[A, D]` anchors (raw or unit rows) or an object with `normalizedAnchors()`, A ≥ 2: enables anchor CV and
   * utilisation.
   */
  anchors?: AnchorSource;
  /** A name printed in the header of {@link formatScan}. */
  name?: string;
  /** Simplices sampled for every CV. Default 200 (the author's `cv_metric`). Integer ≥ 2. */
  samples?: number;
  /** Seed of every CV's simplex sampler. Default 0, so a scan is reproducible. Integer ≥ 0. */
  seed?: number;
}

/** One pentachoron CV in a {@link ScanReport}. */
export interface ScanCV {
  /** std/(mean + 1e-8) of the valid simplex volumes (`pentachoronCV`); NaN with fewer than 10 valid. */
  cv: number;
  /** Simplices with V² > 1e-20. */
  valid: number;
  /** Simplices sampled (0 when there were fewer than 5 points). */
  total: number;
  /** `cv` lies in {@link CV_BAND} [0.20, 0.23], inclusive (false for NaN). */
  inBand: boolean;
}

/** The CV of one class in {@link ScanLabelReport.classCV}. */
export interface ScanClassCV extends ScanCV {
  /** The class label. */
  label: number;
  /** Members of the class among the rows used. */
  count: number;
}

/** The anchor part of a {@link ScanReport} (when `anchors` was given). */
export interface ScanAnchorReport {
  /** A, the number of anchors. */
  count: number;
  /** CV of the row-normalized anchors as a point set (spec §2.4); null when A < 5. */
  cv: ScanCV | null;
  /** Anchors that are the nearest (argmax cosine) anchor of at least one row used (spec §4.4). */
  active: number;
  /** `[A]` the nearest-anchor histogram over the rows used. */
  counts: Int32Array;
  /** Normalized entropy of that histogram, % of ln A (see {@link anchorUtilisation}). */
  entropy: number;
  /** Gini coefficient of the counts, in [0, (A − 1)/A] (see {@link anchorUtilisation}). */
  gini: number;
}

/** The label part of a {@link ScanReport} (when `labels` was given). */
export interface ScanLabelReport {
  /** Distinct labels among the rows used. */
  classes: number;
  /** CV per class with ≥ 5 members, by ascending label. */
  classCV: ScanClassCV[];
  /** Classes left out of `classCV` because they have fewer than 5 members. */
  smallClasses: number;
  /** Leave-one-out 1-NN accuracy under cosine (`knnAccuracy`); NaN with fewer than 2 rows. */
  knnAccuracy: number;
  /**
   * The 1-NN accuracy expected if the neighbour were a uniformly random other row:
   * Σ_c n_c (n_c − 1) / (N (N − 1)) over the rows used (0.25 minus a little for 4 balanced classes).
   */
  chance: number;
  /** Mean cosine of same-class pairs (`sameDiffGap`). */
  same: number;
  /** Mean cosine of different-class pairs. */
  diff: number;
  /** `same − diff`. */
  gap: number;
}

/**
 * The plain-data form of a "SCAN" block of the dual-stream card (see {@link scan}); every number
 * is a JavaScript number (float64), every optional part `null` when its input was not given.
 */
export interface ScanReport {
  /** `options.name`, or null. */
  name: string | null;
  /** N, rows given. */
  n: number;
  /** D, the embedding width. */
  d: number;
  /** Rows holding NaN or ±Infinity: left out of every metric below. */
  nonFiniteRows: number;
  /** Rows used: N − nonFiniteRows. */
  rows: number;
  /** Row norms ‖e_i‖ before normalization (mean, min, max over the rows used). */
  norms: { mean: number; min: number; max: number };
  /** Off-diagonal cosine of the rows used (`selfSimilarity`): mean and max. NaN with fewer than 2 rows. */
  selfSimilarity: { mean: number; max: number };
  /** Participation ratio (Σσ)²/Σσ² of the centred, row-normalized rows (first 2000), in [1, D]; spec §2.5. */
  effectiveDimension: number;
  /** Pentachoron CV of the row-normalized rows (first 512 rows are eligible, spec §2.1). */
  cv: ScanCV;
  /** Anchor CV and utilisation, or null without `anchors`. */
  anchors: ScanAnchorReport | null;
  /** Per-class CV, 1-NN accuracy and same/diff gap, or null without `labels`. */
  labels: ScanLabelReport | null;
}

/**
 * A geometric health scan of an embedding set: the "SCAN" blocks of the dual-stream card as plain
 * data (spec §2.5). Print it with {@link formatScan}.
 *
 *     norms       ‖e_i‖ before normalization: mean, min, max
 *     ê_i = e_i / max(‖e_i‖, 1e-12)                        (float64 on the CPU)
 *     self-sim    mean and max of ⟨ê_i, ê_j⟩, i ≠ j         (selfSimilarity)
 *     eff_dim     (Σσ)² / Σσ², σ = singular values of the centred ê (first 2000 rows)
 *     CV          pentachoronCV(ê) with `samples`, `seed`; in band ⇔ 0.20 ≤ CV ≤ 0.23
 *     per class   pentachoronCV(ê of the class) for classes with ≥ 5 members
 *     anchors     pentachoronCV(Â) (A ≥ 5) and anchorUtilisation(e, Â): active/A, entropy %, gini
 *     labels      knnAccuracy (1-NN, cosine, leave-one-out) and sameDiffGap (same − diff)
 *
 * @param embeddings - `[N, D]` embeddings (any norm), float32, N ≥ 1.
 * @param options - `labels` `[N]`, `anchors` `[A, D]`, `name`, `samples` (default 200), `seed` (default 0).
 * @returns A {@link ScanReport}.
 *
 * @throws {ShapeError} If `embeddings` is not rank 2 with N ≥ 1, `labels` does not hold N entries,
 *   or the anchors are not `[A, D]` with the same D and A ≥ 2 (the error names `'anchors'`).
 * @throws {InvalidArgumentError} If an argument has the wrong type, a label is not an integer, or
 *   `samples` / `seed` is not a valid integer.
 * @throws {NonFiniteError} If the anchors hold NaN or ±Infinity (embeddings never make it throw).
 * @throws {BackendError} If the backend cannot read synchronously (webgpu in Node): use {@link scanAsync}.
 *
 * @remarks
 * - **Non-finite rows.** A row of `embeddings` with any NaN or ±Infinity entry is counted in
 *   `nonFiniteRows` and removed (with its label) before anything is measured, so the report equals
 *   the report of the finite rows alone: one bad row never poisons the others. With fewer finite
 *   rows than a metric needs (2 for the pairwise ones, 5 for a CV), that metric is NaN.
 * - Zero rows are kept: their norm counts as 0 and they stay zero after normalization.
 * - Which rows: the CVs use the first 512 rows used (per class: the class's first 512), and the
 *   effective dimension the first 2000, as the Python code does; shuffle ordered data first.
 * - The effective dimension is measured on the row-normalized embeddings [INFER: the card does not
 *   say; for points on the sphere it is what the CV band refers to]. A class of exactly 5 members
 *   has CV 0 (every sample is the same simplex).
 * - Cost: reads the whole `[N, D]` tensor once (`dataSync`) and the anchors once; the pairwise
 *   metrics run on the backend in row blocks (O(N²·D)); the SVD is float64 on the CPU, O(N·D²) for
 *   N ≤ 2000. Leaks no tensors.
 *
 * @example
 * const e = sampleSphere(512, 16, { seed: 1 });
 * const labels = Array.from({ length: 512 }, (_, i) => i % 4);
 * const report = scan(e, { labels, name: 'random S^15' });
 * report.cv;                    // { cv: ≈0.21, valid: 200, total: 200, inBand: true }
 * console.log(formatScan(report));
 *
 * @see {@link scanAsync} (no synchronous reads), {@link formatScan}.
 */
export function scan(embeddings: tf.Tensor2D, options: ScanOptions = {}): ScanReport {
  const op = 'scan';
  const p = prepare(op, embeddings, options);
  const hint = 'use scanAsync';
  try {
    const data = readSync(op, 'embeddings', embeddings, hint) as Float32Array;
    const anchorData = p.unit ? readSync(op, 'anchors', p.unit, hint) : null;
    const rows = cleanRows(p, data);
    const clean = rows.tensor ?? embeddings;
    try {
      const enough = rows.count >= 2;
      const sameDiff = p.labels && enough ? sameDiffGap(clean, rows.labels!) : null;
      const parts: TensorParts = {
        self: enough ? selfSimilarity(clean) : { mean: NaN, max: NaN },
        utilisation: p.unit
          ? rows.count >= 1
            ? anchorUtilisation(clean, p.unit)
            : emptyUtilisation(p.unit.shape[0])
          : null,
        knn: p.labels && enough ? knnAccuracy(clean, rows.labels!) : NaN,
        same: sameDiff?.same ?? NaN,
        diff: sameDiff?.diff ?? NaN,
      };
      return assemble(op, p, rows, anchorData, parts);
    } finally {
      rows.tensor?.dispose();
    }
  } finally {
    p.unit?.dispose();
  }
}

/**
 * {@link scan} reading every tensor with `await tensor.data()` and calling the `…Async`
 * diagnostics, so it works where synchronous reads do not (webgpu in Node). Same report.
 * @param embeddings - `[N, D]` embeddings, float32.
 * @param options - as {@link scan}.
 * @returns A promise of the {@link ScanReport}.
 * @throws {ShapeError} If the shapes disagree (see {@link scan}); the promise rejects with it.
 * @example
 * const report = await scanAsync(e, { labels, anchors });
 */
export async function scanAsync(embeddings: tf.Tensor2D, options: ScanOptions = {}): Promise<ScanReport> {
  const op = 'scanAsync';
  const p = prepare(op, embeddings, options);
  try {
    const [data, anchorData] = await Promise.all([
      embeddings.data() as Promise<Float32Array>,
      p.unit ? p.unit.data() : Promise.resolve(null),
    ]);
    const rows = cleanRows(p, data);
    const clean = rows.tensor ?? embeddings;
    try {
      const enough = rows.count >= 2;
      const [self, utilisation, knn, sameDiff] = await Promise.all([
        enough ? selfSimilarityAsync(clean) : { mean: NaN, max: NaN },
        p.unit ? (rows.count >= 1 ? anchorUtilisationAsync(clean, p.unit) : emptyUtilisation(p.unit.shape[0])) : null,
        p.labels && enough ? knnAccuracyAsync(clean, rows.labels!) : NaN,
        p.labels && enough ? sameDiffGapAsync(clean, rows.labels!) : null,
      ]);
      return assemble(op, p, rows, anchorData, {
        self,
        utilisation,
        knn,
        same: sameDiff?.same ?? NaN,
        diff: sameDiff?.diff ?? NaN,
      });
    } finally {
      rows.tensor?.dispose();
    }
  } finally {
    p.unit?.dispose();
  }
}

interface Prepared {
  n: number;
  d: number;
  name: string | null;
  samples: number;
  seed: number;
  labels: Float64Array | null;
  /** Unit anchors owned by the scan (disposed at the end), or null. */
  unit: tf.Tensor2D | null;
}

interface CleanRows {
  /** Rows used. */
  count: number;
  nonFinite: number;
  /** `[count, D]` the finite rows, when some rows were removed (owned); null when all rows are finite. */
  tensor: tf.Tensor2D | null;
  /** The labels of the rows used. */
  labels: number[] | null;
  /** `[count, D]` the row-normalized rows used, float64. */
  unit: Float64Array;
  norms: { mean: number; min: number; max: number };
}

interface TensorParts {
  self: { mean: number; max: number };
  utilisation: AnchorUtilisation | null;
  knn: number;
  same: number;
  diff: number;
}

function prepare(op: string, embeddings: tf.Tensor2D, options: ScanOptions): Prepared {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
  const [n, d] = checkMatrix(op, 'embeddings', embeddings, ['N', 'D']);
  const labels = options.labels === undefined ? null : checkLabels(op, options.labels, n);
  if (options.name !== undefined && typeof options.name !== 'string')
    throw new InvalidArgumentError(op, 'name', `must be a string, got ${describeValue(options.name)}`);
  const samples = checkInteger(op, 'samples', options.samples ?? 200, 2);
  const seed = checkInteger(op, 'seed', options.seed ?? 0, 0);
  if (options.anchors !== undefined) checkAnchorSource(op, options.anchors, { dim: d, minAnchors: 2 });
  const unit = options.anchors === undefined ? null : unitAnchors(op, options.anchors, { dim: d, minAnchors: 2 });
  return { n, d, name: options.name ?? null, samples, seed, labels, unit };
}

/** Splits finite from non-finite rows, and normalizes the finite ones in float64. */
function cleanRows(p: Prepared, data: ArrayLike<number>): CleanRows {
  const { n, d } = p;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (let j = i * d; j < (i + 1) * d; j++) {
      if (!Number.isFinite(data[j]!)) {
        ok = false;
        break;
      }
    }
    if (ok) keep.push(i);
  }
  const count = keep.length;
  const unit = new Float64Array(count * d);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  keep.forEach((row, k) => {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += data[row * d + j]! ** 2;
    const norm = Math.sqrt(sq);
    sum += norm;
    min = Math.min(min, norm);
    max = Math.max(max, norm);
    const scale = 1 / Math.max(norm, 1e-12);
    for (let j = 0; j < d; j++) unit[k * d + j] = data[row * d + j]! * scale;
  });
  let tensor: tf.Tensor2D | null = null;
  if (count < n && count > 0) {
    const kept = new Float32Array(count * d);
    keep.forEach((row, k) => {
      for (let j = 0; j < d; j++) kept[k * d + j] = data[row * d + j]!;
    });
    tensor = tf.tensor2d(kept, [count, d]);
  }
  return {
    count,
    nonFinite: n - count,
    tensor,
    labels: p.labels ? keep.map((row) => p.labels![row]!) : null,
    unit,
    norms: count > 0 ? { mean: sum / count, min, max } : { mean: NaN, min: NaN, max: NaN },
  };
}

function cvOf(data: Float64Array, rows: number, d: number, p: Prepared): ScanCV {
  if (rows < 5) return { cv: NaN, valid: 0, total: 0, inBand: false };
  const r = pentachoronCV(new Matrix(rows, d, data), { samples: p.samples, seed: p.seed });
  return { cv: r.cv, valid: r.valid, total: r.total, inBand: inCvBand(r.cv) };
}

function emptyUtilisation(a: number): AnchorUtilisation {
  return utilisationFromCounts(new Float64Array(a));
}

function assemble(
  op: string,
  p: Prepared,
  rows: CleanRows,
  anchorData: ArrayLike<number> | null,
  parts: TensorParts,
): ScanReport {
  const { d } = p;
  const effectiveDim = rows.count >= 1 ? effectiveDimension(new Matrix(rows.count, d, rows.unit)) : NaN;

  let anchors: ScanAnchorReport | null = null;
  if (p.unit && anchorData && parts.utilisation) {
    const a = p.unit.shape[0];
    const unit = new Float64Array(a * d);
    let bad = 0;
    let first = -1;
    for (let i = 0; i < a * d; i++) {
      const v = anchorData[i]!;
      if (!Number.isFinite(v)) {
        if (first < 0) first = i;
        bad++;
      }
    }
    if (bad > 0) throw new NonFiniteError(op, 'anchors', bad, first);
    for (let i = 0; i < a; i++) {
      let sq = 0;
      for (let j = 0; j < d; j++) sq += anchorData[i * d + j]! ** 2;
      const scale = 1 / Math.max(Math.sqrt(sq), 1e-12); // renormalize the float32 unit rows in float64
      for (let j = 0; j < d; j++) unit[i * d + j] = anchorData[i * d + j]! * scale;
    }
    const u = parts.utilisation;
    anchors = {
      count: a,
      cv: a >= 5 ? cvOf(unit, a, d, p) : null,
      active: u.active,
      counts: u.counts,
      entropy: u.entropy,
      gini: u.gini,
    };
  }

  let labels: ScanLabelReport | null = null;
  if (rows.labels) {
    const members = new Map<number, number[]>();
    rows.labels.forEach((label, k) => {
      const list = members.get(label);
      if (list) list.push(k);
      else members.set(label, [k]);
    });
    const classCV: ScanClassCV[] = [];
    let smallClasses = 0;
    let pairs = 0;
    for (const label of [...members.keys()].sort((x, y) => x - y)) {
      const list = members.get(label)!;
      pairs += list.length * (list.length - 1);
      if (list.length < MIN_CLASS_SIZE) {
        smallClasses++;
        continue;
      }
      const data = new Float64Array(list.length * d);
      list.forEach((k, i) => data.set(rows.unit.subarray(k * d, (k + 1) * d), i * d));
      classCV.push({ label, count: list.length, ...cvOf(data, list.length, d, p) });
    }
    const m = rows.count;
    labels = {
      classes: members.size,
      classCV,
      smallClasses,
      knnAccuracy: parts.knn,
      chance: m >= 2 ? pairs / (m * (m - 1)) : NaN,
      same: parts.same,
      diff: parts.diff,
      gap: parts.same - parts.diff,
    };
  }

  return {
    name: p.name,
    n: p.n,
    d,
    nonFiniteRows: rows.nonFinite,
    rows: rows.count,
    norms: rows.norms,
    selfSimilarity: parts.self,
    effectiveDimension: effectiveDim,
    cv: cvOf(rows.unit, rows.count, d, p),
    anchors,
    labels,
  };
}

/** Width of the label column of {@link formatScan}, after the two-space indent. */
const LABEL_WIDTH = 15;

function fixed(x: number, digits: number): string {
  return Number.isNaN(x) ? 'NaN' : x.toFixed(digits);
}

function bandText(): string {
  return `${CV_BAND[0].toFixed(2)}–${CV_BAND[1].toFixed(2)}`;
}

function cvText(c: ScanCV): string {
  const band = c.inBand ? '✓ in band' : '✗ out of band';
  return `${fixed(c.cv, 4)} [${c.valid}/${c.total} valid] ${band} ${bandText()}`;
}

/**
 * A {@link ScanReport} as a printable block of text: a header line, then one line per metric
 * with the label left-aligned in a 15-character column, e.g.
 *
 *     SCAN random S^15
 *       N × D          512 × 16
 *       non-finite     0 rows
 *       norms          mean 1.0000  min 1.0000  max 1.0000
 *       self-sim       mean 0.0007  max 0.8659
 *       eff_dim        15.88 / 16
 *       CV (global)    0.2085 [200/200 valid] ✓ in band 0.20–0.23
 *       CV class 0     0.2072 [200/200 valid] ✓ in band 0.20–0.23  (n=128)
 *       CV class 1     0.1984 [200/200 valid] ✗ out of band 0.20–0.23  (n=128)
 *       …
 *       anchor CV      0.2059 [200/200 valid] ✓ in band 0.20–0.23
 *       anchor use     active 64/64  entropy 97.9%  gini 0.2310
 *       1-NN acc       0.2324  (chance 0.2485, 4 classes)
 *       same/diff      same -0.0004  diff 0.0010  gap -0.0015
 *
 * (`sampleSphere(512, 16, { seed: 1 })`, labels i mod 4, anchors `sampleSphere(64, 16, { seed: 100 })`.)
 * Anchor lines appear only with anchors, label lines only with labels; a line "classes < 5"
 * counts classes too small for a CV when there are any. NaN prints as `NaN`.
 *
 * @param report - A report from {@link scan} or {@link scanAsync}.
 * @returns The lines joined with `\n` (no trailing newline).
 * @throws {InvalidArgumentError} If `report` is not an object.
 * @example
 * console.log(formatScan(scan(embeddings, { labels, anchors, name: 'emb' })));
 */
export function formatScan(report: ScanReport): string {
  if (typeof report !== 'object' || report === null)
    throw new InvalidArgumentError('formatScan', 'report', `must be a ScanReport, got ${describeValue(report)}`);
  const lines: string[] = [report.name ? `SCAN ${report.name}` : 'SCAN'];
  const line = (label: string, value: string): void => {
    lines.push(`  ${label.padEnd(LABEL_WIDTH - 1)} ${value}`);
  };
  line('N × D', `${report.n} × ${report.d}`);
  line(
    'non-finite',
    `${report.nonFiniteRows} row${report.nonFiniteRows === 1 ? '' : 's'}` +
      (report.nonFiniteRows > 0 ? ' (excluded)' : ''),
  );
  line(
    'norms',
    `mean ${fixed(report.norms.mean, 4)}  min ${fixed(report.norms.min, 4)}  max ${fixed(report.norms.max, 4)}`,
  );
  line('self-sim', `mean ${fixed(report.selfSimilarity.mean, 4)}  max ${fixed(report.selfSimilarity.max, 4)}`);
  line('eff_dim', `${fixed(report.effectiveDimension, 2)} / ${report.d}`);
  line('CV (global)', cvText(report.cv));
  if (report.labels) {
    for (const c of report.labels.classCV) line(`CV class ${c.label}`, `${cvText(c)}  (n=${c.count})`);
    if (report.labels.smallClasses > 0) line('classes < 5', `${report.labels.smallClasses} without a CV`);
  }
  if (report.anchors) {
    const a = report.anchors;
    line('anchor CV', a.cv ? cvText(a.cv) : `n/a (A = ${a.count} < 5)`);
    line('anchor use', `active ${a.active}/${a.count}  entropy ${fixed(a.entropy, 1)}%  gini ${fixed(a.gini, 4)}`);
  }
  if (report.labels) {
    const l = report.labels;
    line(
      '1-NN acc',
      `${fixed(l.knnAccuracy, 4)}  (chance ${fixed(l.chance, 4)}, ${l.classes} class${l.classes === 1 ? '' : 'es'})`,
    );
    line('same/diff', `same ${fixed(l.same, 4)}  diff ${fixed(l.diff, 4)}  gap ${fixed(l.gap, 4)}`);
  }
  return lines.join('\n');
}
