// Writes david-weights.json for gen_david_fixture.py: a small GeoFractalDavid's state dict at seed 5, with the class
// prototypes, geo weights and fusion weights perturbed (seeded) so every logit term is non-trivial, plus features.
// Run from packages/vision after `npx tsup`: node test/david/gen-david-weights.mjs
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '@geolip/geometry';
import { GeoFractalDavid } from '../../dist/index.js';

const config = { featureDim: 12, numClasses: 4, k: 2, scales: [6, 8], tau: 0.25, levels: 12 };
const model = new GeoFractalDavid(config, { seed: 5 });
const rng = createRng(77);
const params = {};
for (const [name, t] of Object.entries(model.stateDict())) {
  let v = Array.from(t.dataSync());
  if (/class_prototypes|geo_weights|fusion_weights|alpha/.test(name)) v = v.map((x) => x + 0.3 * rng.normal());
  params[name] = t.rank === 0 ? v[0] : tf.tensor(v, t.shape).arraySync();
}
const features = Array.from({ length: 5 }, () => Array.from({ length: 12 }, () => rng.normal()));
writeFileSync(new URL('./david-weights.json', import.meta.url), JSON.stringify({ config, params, features }));
console.log('ok');
