// The @geolip/anchors README example: a constellation on random data, triangulate, scan, print the report.
// Run: npm run build && node examples/anchors-scan.mjs
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@geolip/geometry/backend';
import { normalize, sampleSphere } from '@geolip/geometry';
import { Constellation, formatScan, geometricAutograd, scan } from '@geolip/anchors';

await initBackend({ log: () => {} });
const labels = Array.from({ length: 512 }, (_, i) => i % 4);
const centers = sampleSphere(4, 16, { seed: 1 }); // 4 class directions on S^15
const noise = sampleSphere(512, 16, { seed: 2 });
const x = normalize(tf.add(tf.gather(centers, labels), tf.mul(noise, 1.5))); // [512, 16] labelled data
const constellation = new Constellation({ anchors: 64, dim: 16, init: 'repulsion', seed: 0 });
const tri = constellation.triangulate(x); // [512, 64] = 1 − cos
console.log('triangulation', tri.shape, 'nearest-anchor distance of row 0:', tf.min(tri, 1).arraySync()[0].toFixed(4));
const e = geometricAutograd(x, constellation, { tangential: 1, separation: 0.1 }); // identity forward
const report = scan(e, { labels, anchors: constellation, name: 'random 4-class data' });
console.log(formatScan(report));
