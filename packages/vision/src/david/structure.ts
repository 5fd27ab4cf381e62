/**
 * The learned structure of a GeoFractalDavid, as the Basin-k12 card reports it (its "Learned Structure" section): the
 * staircase's α, and per scale the fusion weight, the mix of the three logits and the distribution of the class Cantor
 * prototypes.
 */

/** Equal-width bins over `[lo, hi)` (the last bin also holds `hi`); values outside are counted in `below` / `above`. */
export interface PrototypeHistogram {
  lo: number;
  hi: number;
  /** `[bins]` counts. */
  counts: number[];
  below: number;
  above: number;
}

/** Summary of the C Cantor prototypes π_c of one scale. */
export interface CantorPrototypeSummary {
  mean: number;
  /** Standard deviation with n − 1 (torch's `std()`, which the card's table most likely used [INFER]). */
  std: number;
  min: number;
  max: number;
  histogram: PrototypeHistogram;
  /** `[C]` π_c in class order (only with `values: true`). */
  values?: number[];
}

/** One scale's learned weights. */
export interface GeoFractalDavidScaleStructure {
  scale: number;
  /** softmax(fusion_weights) at this scale: its share of the fused logits. */
  fusionWeight: number;
  /** softmax(geo_weights): the share of the feature, cantor and crystal logits in this scale's logits. */
  geoWeights: { feature: number; cantor: number; crystal: number };
  cantorPrototypes: CantorPrototypeSummary;
}

/** What {@link GeoFractalDavid.structure} returns (plain numbers). */
export interface GeoFractalDavidStructure {
  /** α of the shared Cantor staircase (unconstrained; it weights the middle third). */
  alpha: number;
  scales: GeoFractalDavidScaleStructure[];
}

/** Options of {@link GeoFractalDavid.structure}. */
export interface StructureOptions {
  /** Histogram bins of the Cantor prototypes. Default 20. */
  bins?: number;
  /** Histogram range. Default [−0.5, 1.5]: bins of 0.1 around the init range [0, 1] and beyond it on both sides. */
  range?: readonly [number, number];
  /** Also list every class's π_c. Default false (C values per scale). */
  values?: boolean;
}

/** Mean, std (n − 1), min, max and histogram of `values`. */
export function summarizePrototypes(values: ArrayLike<number>, options: StructureOptions = {}): CantorPrototypeSummary {
  const { bins = 20, range = [-0.5, 1.5], values: keep = false } = options;
  const [lo, hi] = range;
  const n = values.length;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  const width = (hi - lo) / bins;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < lo) below++;
    else if (v > hi) above++;
    else counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
  }
  return {
    mean,
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
    min,
    max,
    histogram: { lo, hi, counts, below, above },
    ...(keep ? { values: Array.from(values) } : {}),
  };
}
