// The per-epoch geometry diagnostics of `fmnist-vit` that need more than the validation pass itself: the pentachoron
// CV of the validation embeddings, as a whole and per class (spec §2.1, §13.4: cv_metric, 200 samples, per class).
import { Matrix, pentachoronCV } from '@geolip/geometry';

/** The CVs {@link embeddingCvs} reports (NaN where too few rows or valid simplices). */
export interface EmbeddingCvs {
  /** CV of all rows (the first 512 are eligible, spec §2.1). */
  cv: number;
  /** Mean, min and max of the per-class CVs over the classes that have one. */
  classMean: number;
  classMin: number;
  classMax: number;
  /** Classes with a CV: ≥ 5 rows and ≥ 10 valid simplices. */
  classes: number;
}

/**
 * The pentachoron CV (`pentachoronCV` of `@geolip/geometry`: 200 simplices of 5 of the first 512 rows, float64, seeded)
 * of `[N, dim]` row-major embeddings, and of each class's rows alone (spec §13.4: "per-class CV, cv_metric on each
 * class's embeddings, 200 samples"), summarized as their mean, min and max.
 *
 * @param emb - `N·dim` values, row-major (unit rows; not normalized here).
 * @param dim - the width D.
 * @param labels - `[N]` class ids.
 * @param seed - the seed of every CV's sampler (the same simplices for a class from epoch to epoch).
 * @returns see {@link EmbeddingCvs}: a class with fewer than 5 rows, or a CV that is NaN (fewer than 10 valid
 *   simplices), is left out; NaN summaries when no class has a CV.
 */
export function embeddingCvs(
  emb: ArrayLike<number>,
  dim: number,
  labels: ArrayLike<number>,
  seed: number,
): EmbeddingCvs {
  const n = labels.length;
  const cvOf = (rows: number[]): number => {
    if (rows.length < 5) return NaN;
    const use = rows.slice(0, 512);
    const data = new Float64Array(use.length * dim);
    use.forEach((r, i) => {
      for (let k = 0; k < dim; k++) data[i * dim + k] = emb[r * dim + k]!;
    });
    return pentachoronCV(new Matrix(use.length, dim, data), { seed }).cv;
  };
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const rows = byClass.get(labels[i]!) ?? [];
    rows.push(i);
    byClass.set(labels[i]!, rows);
  }
  const per = [...byClass.keys()]
    .sort((a, b) => a - b)
    .map((c) => cvOf(byClass.get(c)!))
    .filter((v) => Number.isFinite(v));
  return {
    cv: cvOf(Array.from({ length: n }, (_, i) => i)),
    classMean: per.length > 0 ? per.reduce((a, b) => a + b, 0) / per.length : NaN,
    classMin: per.length > 0 ? Math.min(...per) : NaN,
    classMax: per.length > 0 ? Math.max(...per) : NaN,
    classes: per.length,
  };
}
