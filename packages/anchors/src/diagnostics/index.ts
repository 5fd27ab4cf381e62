/**
 * Anchor diagnostics (spec §2.2, §2.5, §4.4–4.5): nearest-anchor utilisation (active anchors,
 * entropy %, Gini), anchor drift and its summary around the 0.29154 binding constant, and the
 * SCAN report of an embedding set with its text form.
 */
export { BINDING_CONSTANT, CV_BAND, SEPARATION_COMPLEMENT, inCvBand } from './constants.js';
export type { AnchorSource } from './internal.js';
export { anchorUtilisation, anchorUtilisationAsync, utilisationFromCounts } from './utilisation.js';
export type { AnchorUtilisation, AnchorUtilisationOptions } from './utilisation.js';
export { anchorDrift, anchorDriftAsync, driftSummary } from './drift.js';
export type { DriftSummary, DriftSummaryOptions } from './drift.js';
export { formatScan, scan, scanAsync } from './scan.js';
export type { ScanAnchorReport, ScanClassCV, ScanCV, ScanLabelReport, ScanOptions, ScanReport } from './scan.js';
