/**
 * Constants of the GeoLIP geometry that the diagnostics compare against (spec §2.2, §4.5).
 * They are measured reference values from the author's code (`core/util.py`), not derived here.
 */

/**
 * The "binding constant" 0.29154 (radians when compared with anchor drift): the card of the
 * diffusion prototype reports that 46% of anchors drifted to within ±0.05 of it (spec §4.5,
 * `BINDING_BOUNDARY` in geolip-core). A measurement, never a loss.
 */
export const BINDING_CONSTANT = 0.29154;

/** 1 − {@link BINDING_CONSTANT} = 0.70846 (`SEPARATION_COMPLEMENT` in geolip-core, spec §4.5). */
export const SEPARATION_COMPLEMENT = 0.70846;

/**
 * The pentachoron CV band [0.20, 0.23] (`CV_PENTACHORON_BAND` in geolip-core, spec §2.2), inclusive
 * at both ends. Uniform points on S^15 give CV ≈ 0.20, the lower edge.
 */
export const CV_BAND: readonly [number, number] = Object.freeze([0.2, 0.23] as const);

/** True when `cv` lies in {@link CV_BAND} (inclusive); false for NaN. */
export function inCvBand(cv: number): boolean {
  return cv >= CV_BAND[0] && cv <= CV_BAND[1];
}
