// The error bound of @geolip/nn's float32 simplex volumes (packages/nn/README.md, "Geometry on the GPU"): relative
// V² error against @geolip/geometry's float64 Cayley–Menger path on the same float32 points, for pentachora whose last
// vertex sits at height ~eps from the others' hyperplane, on four paths: the WGSL kernel (webgpu), its float32
// reference twin (cpu), the composed tfjs ops (cpu) and a float32 Cayley–Menger determinant (for comparison); then
// the float32 noise floor of exactly degenerate pentachora (a vertex on an edge).
//
//   XDG_RUNTIME_DIR=/tmp VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json node tools/perf/simplex-volume-error.mjs
//   (lavapipe is enough: this measures arithmetic, not time; DIM=… sets the dimension, default 128)
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await import('@tensorflow/tfjs-backend-webgpu');
const geo = await import('@geolip/geometry');
const nn = await import('@geolip/nn');
const { registerKernels } = await import('@geolip/nn/backend');
await tf.setBackend('webgpu');
await registerKernels('webgpu');
const f = Math.fround;
// f32 Cayley–Menger (distances, bordered 6x6, LU partial pivoting) for comparison
function cmF32(pts, V, D) {
  const n = V + 1;
  const m = new Float32Array(n * n);
  for (let j = 1; j < n; j++) m[j] = m[j * n] = 1;
  for (let i = 0; i < V; i++)
    for (let j = i + 1; j < V; j++) {
      let s = 0;
      for (let t = 0; t < D; t++) {
        const d = f(pts[i * D + t] - pts[j * D + t]);
        s = f(s + f(d * d));
      }
      m[(i + 1) * n + j + 1] = m[(j + 1) * n + i + 1] = s;
    }
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (p !== c) {
      det = -det;
      for (let t = 0; t < n; t++) {
        const a = m[c * n + t];
        m[c * n + t] = m[p * n + t];
        m[p * n + t] = a;
      }
    }
    const piv = m[c * n + c];
    det = f(det * piv);
    if (piv === 0) return 0;
    for (let r = c + 1; r < n; r++) {
      const l = f(m[r * n + c] / piv);
      for (let t = c; t < n; t++) m[r * n + t] = f(m[r * n + t] - f(l * m[c * n + t]));
    }
  }
  return f(det * geo.cayleyMengerPrefactor(V - 1));
}
const D = Number(process.env.DIM ?? 128),
  V = 5,
  S = 400;
const rng = geo.createRng(9);
for (const eps of [1, 1e-1, 1e-2, 1e-3, 1e-4]) {
  // p0..p3 random on the sphere, p4 = normalize(p3 + eps * g) with g random: height ~ eps
  const data = new Float32Array(S * V * D);
  for (let s = 0; s < S; s++) {
    for (let v = 0; v < V; v++) {
      let norm = 0;
      const o = (s * V + v) * D;
      for (let t = 0; t < D; t++) {
        const x = v < 4 ? rng.normal() : data[o - D + t] + (eps * rng.normal()) / Math.sqrt(D);
        data[o + t] = x;
        norm += x * x;
      }
      for (let t = 0; t < D; t++) data[o + t] /= Math.sqrt(norm);
    }
  }
  const idx = Int32Array.from({ length: S * V }, (_, i) => i);
  const p = tf.tensor2d(data, [S * V, D]);
  const gpu = await nn.simplexVolumes(p, tf.tensor2d(idx, [S, V], 'int32'), { squared: true }).data();
  await tf.setBackend('cpu');
  nn.registerReferenceKernels('cpu');
  const pc = tf.tensor2d(data, [S * V, D]);
  const refk = nn.simplexVolumes(pc, tf.tensor2d(idx, [S, V], 'int32'), { squared: true }).dataSync();
  nn.unregisterReferenceKernels('cpu');
  const comp = nn.simplexVolumes(pc, tf.tensor2d(idx, [S, V], 'int32'), { squared: true }).dataSync();
  await tf.setBackend('webgpu');
  const errs = { gpu: [], ref: [], composed: [], cmF32: [] };
  for (let s = 0; s < S; s++) {
    const sl = data.subarray(s * V * D, (s + 1) * V * D);
    const simplex = Array.from({ length: V }, (_, v) => Array.from(sl.subarray(v * D, (v + 1) * D)));
    const ref = geo.simplexVolumeSquared(simplex);
    errs.gpu.push(Math.abs(gpu[s] - ref) / ref);
    errs.ref.push(Math.abs(refk[s] - ref) / ref);
    errs.composed.push(Math.abs(comp[s] - ref) / ref);
    errs.cmF32.push(Math.abs(cmF32(sl, V, D) - ref) / ref);
  }
  const q = (a) => {
    const b = [...a].sort((x, y) => x - y);
    return `med ${b[b.length >> 1].toExponential(1)} max ${b[b.length - 1].toExponential(1)}`;
  };
  const v2med = geo.simplexVolumeSquared(
    Array.from({ length: V }, (_, v) => Array.from(data.subarray(v * D, (v + 1) * D))),
  );
  console.log(
    `eps ${eps} (V² ~ ${v2med.toExponential(1)}): gpu ${q(errs.gpu)} | refkernel ${q(errs.ref)} | composed ${q(errs.composed)} | CM f32 ${q(errs.cmF32)}`,
  );
}

// exactly degenerate: p4 = a·p1 + (1 − a)·p2 (on the edge p1p2), float32 reference kernel vs float64
{
  await tf.setBackend('cpu');
  nn.registerReferenceKernels('cpu');
  const rng2 = geo.createRng(3);
  const data = new Float32Array(S * V * D);
  for (let s = 0; s < S; s++) {
    const o = s * V * D;
    for (let v = 0; v < 4; v++) {
      let norm = 0;
      for (let t = 0; t < D; t++) {
        data[o + v * D + t] = rng2.normal();
        norm += data[o + v * D + t] ** 2;
      }
      for (let t = 0; t < D; t++) data[o + v * D + t] /= Math.sqrt(norm);
    }
    const a = rng2.uniform();
    for (let t = 0; t < D; t++) data[o + 4 * D + t] = a * data[o + D + t] + (1 - a) * data[o + 2 * D + t];
  }
  const idx = Int32Array.from({ length: S * V }, (_, i) => i);
  const k = nn
    .simplexVolumes(tf.tensor2d(data, [S * V, D]), tf.tensor2d(idx, [S, V], 'int32'), { squared: true })
    .dataSync();
  nn.unregisterReferenceKernels('cpu');
  let mx = 0;
  let mx64 = 0;
  let zeros = 0;
  let valid = 0;
  for (let s = 0; s < S; s++) {
    mx = Math.max(mx, Math.abs(k[s]));
    if (k[s] === 0) zeros++;
    if (k[s] > 1e-20) valid++;
    const sl = data.subarray(s * V * D, (s + 1) * V * D);
    const simplex = Array.from({ length: V }, (_, v) => Array.from(sl.subarray(v * D, (v + 1) * D)));
    mx64 = Math.max(mx64, Math.abs(geo.simplexVolumeSquared(simplex)));
  }
  console.log(
    `exactly degenerate: float32 max |V²| ${mx.toExponential(2)} (zero ${zeros}/${S}, > 1e-20 ${valid}/${S}); ` +
      `float64 max |V²| ${mx64.toExponential(2)}`,
  );
}
