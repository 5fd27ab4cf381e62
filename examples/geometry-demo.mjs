// The main job until @geolip/bench exists: a tour of @geolip/geometry on real numbers.
// Run: npm run demo   (builds the package, then runs this file)
import {
  createRng,
  gpa,
  linalg,
  pentachoronCV,
  procrustes,
  sampleSphere,
  simplexVolume,
  targetCV,
  effectiveDimension,
} from '@geolip/geometry';
import { initBackend } from '@geolip/geometry/backend';
import { readSafetensors, writeSafetensors } from '@geolip/io';

const t0 = performance.now();
const backend = await initBackend({ log: () => {} });
console.log(
  `GeoLIP geometry demo — tfjs backend: ${backend.name}${backend.skipped.length ? ` (skipped: ${backend.skipped.map((s) => s.name).join(', ')})` : ''}\n`,
);

// 1. Cayley–Menger volumes (spec §1.4)
const regular = [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? Math.SQRT1_2 : 0)));
const ortho = [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 1 : 0)));
console.log('Simplex volumes (float64 Cayley–Menger)');
console.log(
  `  regular 4-simplex, unit edges : ${simplexVolume(regular).toFixed(10)}   (√5/96 = ${(Math.sqrt(5) / 96).toFixed(10)})`,
);
console.log(
  `  five orthonormal vectors      : ${simplexVolume(ortho).toFixed(10)}   (√5/24 = ${(Math.sqrt(5) / 24).toFixed(10)})\n`,
);

// 2. Pentachoron CV of uniform points: the "CV ≈ 0.20 is the geometry of S^15" claim (spec §2.2)
console.log('Pentachoron CV of uniform points on S^(D−1) (512 points, 200 pentachora, mean of 20 trials)');
for (const d of [16, 128, 768])
  console.log(`  D = ${String(d).padStart(3)} : ${targetCV(512, d, { seed: 1 }).toFixed(4)}`);
const x = sampleSphere(2000, 16, { seed: 7 });
const cv = pentachoronCV(x, { seed: 7 });
console.log(
  `  one sample on S^15: cv ${cv.cv.toFixed(4)}, ${cv.valid}/${cv.total} valid; effective dimension ${effectiveDimension(x).toFixed(2)}\n`,
);
x.dispose();

// 3. Procrustes recovers a random rotation; GPA recovers a shared shape
const rng = createRng(3);
const n = 500;
const d = 32;
const shape = linalg.Matrix.fromArray(Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal())));
const randomRotation = () =>
  linalg.qr(linalg.Matrix.fromArray(Array.from({ length: d }, () => Array.from({ length: d }, () => rng.normal())))).q;
const rotation = randomRotation();
const rotated = linalg.matmul(shape, rotation);
const fit = procrustes(shape, rotated);
let maxErr = 0;
for (let i = 0; i < d * d; i++) maxErr = Math.max(maxErr, Math.abs(fit.rotation.data[i] - rotation.data[i]));
console.log(`Procrustes (N=${n}, D=${d}): max |R_fit − R_true| = ${maxErr.toExponential(2)}`);
const views = [0, 1, 2].map(() => {
  const noisy = shape.clone();
  for (let i = 0; i < noisy.data.length; i++) noisy.data[i] += 0.05 * rng.normal();
  return linalg.matmul(noisy, randomRotation());
});
const g = gpa(views, { iterations: 5 });
console.log(
  `GPA of 3 rotated noisy copies: per-view cosine to consensus ${g.diagnostics.cosineToConsensus.map((c) => c.toFixed(4)).join(', ')}; equidistance ${g.diagnostics.equidistance.toExponential(2)}\n`,
);

// 4. safetensors round trip
const bytes = writeSafetensors(
  { anchors: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) } },
  { format: 'pt' },
);
const back = readSafetensors(bytes);
console.log(
  `safetensors: wrote ${bytes.length} bytes, read back ${Object.keys(back.tensors).join(', ')} [${back.tensors.anchors.shape}] = ${Array.from(back.tensors.anchors.data).join(', ')}`,
);
console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
