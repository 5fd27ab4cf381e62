// The README's example (examples/anchors-scan.mjs at the repo root), run against the sources.
import * as tf from '@tensorflow/tfjs-core';
import { normalize, sampleSphere } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { Constellation, formatScan, geometricAutograd, scan } from '../src/index.js';

describe('README example', () => {
  it('builds a constellation on labelled random data, triangulates, scans and prints the report', () => {
    const labels = Array.from({ length: 512 }, (_, i) => i % 4);
    const centers = sampleSphere(4, 16, { seed: 1 });
    const noise = sampleSphere(512, 16, { seed: 2 });
    const x = normalize(tf.add(tf.gather(centers, labels), tf.mul(noise, 1.5))) as tf.Tensor2D;
    const constellation = new Constellation({ anchors: 64, dim: 16, init: 'repulsion', seed: 0 });
    const tri = constellation.triangulate(x);
    expect(tri.shape).toEqual([512, 64]);
    const e = geometricAutograd(x, constellation, { tangential: 1, separation: 0.1 });
    const report = scan(e, { labels, anchors: constellation, name: 'random 4-class data' });
    expect(report.n).toBe(512);
    expect(report.anchors?.count).toBe(64);
    expect(report.labels?.knnAccuracy).toBeGreaterThan(0.5); // clusters are separable: far above chance 0.25
    const text = formatScan(report);
    expect(text).toMatch(/^SCAN random 4-class data/);
    expect(text).toMatch(/eff_dim\s+\d+\.\d+ \/ 16/);
    expect(text).toMatch(/CV \(global\)\s+0\.\d{4} \[200\/200 valid\]/);
    expect(text).toMatch(/anchor use\s+active \d+\/64/);
    tf.dispose([centers, noise, x, tri, e]);
    constellation.dispose();
  });
});
