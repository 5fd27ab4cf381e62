// The Fashion-MNIST panel's pure parts: upload checks, decode sizes, base64, and the HTML of probabilities and anchors.
import { describe, expect, it } from 'vitest';

import samples from '../data/fmnist-samples.json';
import {
  MAX_UPLOAD_BYTES,
  anchorsHtml,
  decodeBase64,
  decodeProblem,
  decodeSize,
  probabilitiesHtml,
  uploadProblem,
} from '../src/vision-view.js';

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover'];
const prediction = {
  label: 2,
  className: 'Pullover',
  probabilities: Float32Array.from([0.25, 0.05, 0.7]),
  embedding: new Float32Array(2),
  nearestAnchors: [
    { anchor: 7, cos: 0.93125, label: { label: 2, share: 0.875, count: 1200 } },
    { anchor: 3, cos: 0.5, label: { label: -1, share: 0, count: 0 } },
    { anchor: 1, cos: -0.25, label: null },
  ],
};

describe('uploadProblem', () => {
  it('accepts images and files without a declared type', () => {
    expect(uploadProblem({ name: 'a.png', type: 'image/png', size: 10 })).toBeNull();
    expect(uploadProblem({ name: 'a', type: '', size: 10 })).toBeNull();
  });
  it('names a non-image, an empty and a too large file', () => {
    expect(uploadProblem({ name: 'notes.txt', type: 'text/plain', size: 10 })).toBe(
      '“notes.txt” is not an image (text/plain). Upload a PNG, JPEG, GIF, WebP or BMP picture.',
    );
    expect(uploadProblem({ name: 'e.png', type: 'image/png', size: 0 })).toBe('“e.png” is empty.');
    expect(uploadProblem({ name: 'big.png', type: 'image/png', size: MAX_UPLOAD_BYTES + 1 })).toBe(
      '“big.png” is 20.0 MB; the limit is 20 MB.',
    );
  });
  it('words a decoding failure', () => {
    expect(decodeProblem('x.png', new Error('The source image could not be decoded.'))).toBe(
      '“x.png” could not be read as an image (The source image could not be decoded.). Upload a PNG, JPEG, GIF, WebP or BMP picture.',
    );
  });
});

describe('decodeSize', () => {
  it('keeps small pictures and scales the longest side of large ones to 512', () => {
    expect(decodeSize(300, 200)).toEqual({ width: 300, height: 200 });
    expect(decodeSize(2048, 1024)).toEqual({ width: 512, height: 256 });
    expect(decodeSize(1000, 3000)).toEqual({ width: 171, height: 512 });
    expect(decodeSize(5000, 1)).toEqual({ width: 512, height: 1 });
  });
});

describe('the samples', () => {
  it('are 10 test images, one per class, 784 bytes each', () => {
    expect(samples.samples.map((s) => s.label)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const s of samples.samples) expect(decodeBase64(s.pixels).length).toBe(784);
    expect(Array.from(decodeBase64('AAH/'))).toEqual([0, 1, 255]);
  });
});

describe('HTML', () => {
  it('probabilities: best first, the top one marked, exact values in data-value', () => {
    const html = probabilitiesHtml(CLASSES, prediction);
    const classes = [...html.matchAll(/data-class="(\d)" data-value="([^"]+)"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(classes.map(([c]) => c)).toEqual([2, 0, 1]);
    expect(classes[0]![1]).toBe(prediction.probabilities[2]);
    expect(html).toContain('<div class="prob top" data-class="2"');
    expect(html).toContain('<span class="pct">70.0%</span>');
    expect(html).toContain('<span class="name">T-shirt/top</span>');
  });
  it('anchors: index, cosine, training label (or none)', () => {
    const html = anchorsHtml(CLASSES, prediction);
    expect(html).toContain(
      '<tr data-anchor="7" data-cos="0.93125"><td>A7</td><td>0.9313</td><td>Pullover (88% of 1,200)</td></tr>',
    );
    expect(html).toContain('<td>A3</td><td>0.5000</td><td>no training image</td>');
    expect(html).toContain('<td>A1</td><td>-0.2500</td><td>n/a</td>');
  });
});
