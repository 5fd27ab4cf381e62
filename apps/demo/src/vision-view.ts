// The Fashion-MNIST panel's pure parts (no DOM, tested in Node): upload checks, sample decoding, and the HTML of the
// probabilities and of the nearest anchors.
import type { FashionMnistPrediction } from '@geolip/vision';

import { errorText } from './dom.js';

/** Uploads above this size are refused before decoding. */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
/** Decoded pictures larger than this (either side) are scaled down to it before preprocessing. */
const MAX_DECODE_SIDE = 512;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A message for an upload that cannot be a picture (by size or declared type), or null to go on and decode it. */
export function uploadProblem(file: { name: string; type: string; size: number }): string | null {
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > MAX_UPLOAD_BYTES) {
    const mb = (file.size / 2 ** 20).toFixed(1);
    return `“${file.name}” is ${mb} MB; the limit is ${MAX_UPLOAD_BYTES / 2 ** 20} MB.`;
  }
  if (file.type !== '' && !file.type.startsWith('image/'))
    return `“${file.name}” is not an image (${file.type}). Upload a PNG, JPEG, GIF, WebP or BMP picture.`;
  return null;
}

/** The message when the browser cannot decode an upload. */
export function decodeProblem(name: string, error: unknown): string {
  const why = errorText(error);
  return (
    `“${name}” could not be read as an image${why ? ` (${why})` : ''}. ` +
    'Upload a PNG, JPEG, GIF, WebP or BMP picture.'
  );
}

/** Size to decode a `width × height` picture at: at most {@link MAX_DECODE_SIDE} on its longest side, aspect kept. */
export function decodeSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, MAX_DECODE_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Base64 → bytes (the samples' pixels). */
export function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Probabilities as labelled bars, best first; each row carries `data-class` and the exact `data-value`. */
export function probabilitiesHtml(classes: readonly string[], p: FashionMnistPrediction): string {
  const order = Array.from(p.probabilities.keys()).sort((a, b) => p.probabilities[b]! - p.probabilities[a]!);
  return order
    .map((c) => {
      const v = p.probabilities[c]!;
      return (
        `<div class="prob${c === p.label ? ' top' : ''}" data-class="${c}" data-value="${v}">` +
        `<span class="name">${esc(classes[c]!)}</span>` +
        `<span class="bar"><span style="width:${(100 * v).toFixed(1)}%"></span></span>` +
        `<span class="pct">${(100 * v).toFixed(1)}%</span></div>`
      );
    })
    .join('');
}

/** The nearest anchors as table rows: anchor, cosine, and the class of the training images nearest to it. */
export function anchorsHtml(classes: readonly string[], p: FashionMnistPrediction): string {
  const rows = p.nearestAnchors.map(({ anchor, cos, label }) => {
    const trained =
      label === null
        ? 'n/a'
        : label.label < 0
          ? 'no training image'
          : `${esc(classes[label.label]!)} ` +
            `(${(100 * label.share).toFixed(0)}% of ${label.count.toLocaleString('en-US')})`;
    return (
      `<tr data-anchor="${anchor}" data-cos="${cos}"><td>A${anchor}</td>` +
      `<td>${cos.toFixed(4)}</td><td>${trained}</td></tr>`
    );
  });
  return (
    '<thead><tr><th>anchor</th><th>cosine</th><th>training images nearest to it</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody>`
  );
}
