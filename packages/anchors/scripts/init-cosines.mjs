#!/usr/bin/env node
// The pairwise-cosine ranges of the anchor inits quoted in the README (seed 0): `npm run build`, then
//   node packages/anchors/scripts/init-cosines.mjs
import { initializeAnchors } from '@geolip/anchors';

for (const [k, d] of [
  [64, 128],
  [256, 128],
]) {
  for (const init of ['orthogonal', 'repulsion']) {
    const m = initializeAnchors(k, d, { seed: 0, init });
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        let c = 0;
        for (let t = 0; t < d; t++) c += m.data[i * d + t] * m.data[j * d + t];
        lo = Math.min(lo, c);
        hi = Math.max(hi, c);
      }
    }
    console.log(`K = ${k}, D = ${d}, ${init}: pairwise cosines in [${lo.toFixed(3)}, ${hi.toFixed(3)}]`);
  }
}
