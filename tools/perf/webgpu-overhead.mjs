// Per-dispatch cost on WebGPU in Node (Dawn): raw WebGPU versus tfjs, to find where tfjs-webgpu's ~1 ms per
// kernel goes. Needs navigator.gpu (run through tools/device/pack.mjs on the GPU machine).
//
//   node tools/device/pack.mjs tools/perf/webgpu-overhead.mjs --out .device/overhead
//   (GPU machine)  bash .device/overhead/run.sh --out $OUT/overhead.json
import { renameSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
const N = 500;
const report = { flags: process.env.GEOLIP_DAWN_FLAGS ?? '', raw: {}, tfjs: {} };

const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
const device = await adapter.requestDevice();
const n = 128 * 32 * 384;
const code = `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> u: vec4<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x + g.y * 65535u * 64u;
  if (i < ${n}u) { y[i] = x[i] + u.x; }
}`;
const pipeline = device.createComputePipeline({
  layout: 'auto',
  compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
});
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const bufs = [device.createBuffer({ size: n * 4, usage }), device.createBuffer({ size: n * 4, usage })];
const uni = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const groups = Math.ceil(n / 64);
const dispatch = [Math.min(groups, 65535), Math.ceil(groups / 65535), 1];

async function variant(name, { perDispatchBindGroup, perDispatchUniform, batch, freshUniformBuffer }) {
  const times = [];
  for (let rep = 0; rep < 4; rep++) {
    const t0 = performance.now();
    let enc = device.createCommandEncoder();
    let pass = enc.beginComputePass();
    let inPass = 0;
    let fixed;
    for (let i = 0; i < N; i++) {
      let ub = uni;
      if (freshUniformBuffer)
        ub = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      if (perDispatchUniform) device.queue.writeBuffer(ub, 0, new Float32Array([1, 0, 0, 0]));
      let bg;
      if (perDispatchBindGroup || !fixed) {
        bg = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: bufs[(i + 1) % 2] } },
            { binding: 1, resource: { buffer: bufs[i % 2] } },
            { binding: 2, resource: { buffer: ub } },
          ],
        });
        if (!perDispatchBindGroup) fixed = bg;
      } else bg = fixed;
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(...dispatch);
      if (++inPass >= batch) {
        pass.end();
        device.queue.submit([enc.finish()]);
        enc = device.createCommandEncoder();
        pass = enc.beginComputePass();
        inPass = 0;
      }
    }
    pass.end();
    device.queue.submit([enc.finish()]);
    const tRecord = performance.now() - t0;
    await device.queue.onSubmittedWorkDone();
    times.push({ recordMs: tRecord, totalMs: performance.now() - t0 });
  }
  const best = times.slice(1).sort((a, b) => a.totalMs - b.totalMs)[0];
  report.raw[name] = { ...best, usPerDispatch: (best.totalMs * 1000) / N };
  console.log(name, JSON.stringify(report.raw[name]));
}
await variant('bindgroup+uniform per dispatch, submit/15 (what tfjs does)', {
  perDispatchBindGroup: true,
  perDispatchUniform: true,
  batch: 15,
});
await variant('bindgroup+uniform per dispatch, one submit', {
  perDispatchBindGroup: true,
  perDispatchUniform: true,
  batch: 1e9,
});
await variant('fixed bindgroup, no uniform write, one submit', {
  perDispatchBindGroup: false,
  perDispatchUniform: false,
  batch: 1e9,
});
await variant('fresh uniform buffer + bindgroup per dispatch, submit/15', {
  perDispatchBindGroup: true,
  perDispatchUniform: true,
  batch: 15,
  freshUniformBuffer: true,
});
await variant('fixed bindgroup, submit every dispatch', {
  perDispatchBindGroup: false,
  perDispatchUniform: false,
  batch: 1,
});

// tfjs, same device process (its own device).
const tf = await import('@tensorflow/tfjs-core');
await tf.setBackend('webgpu');
await tf.ready();
const x = tf.randomNormal([128, 32, 384]);
const one = tf.scalar(1);
for (const [name, fn] of [
  ['tfjs add scalar-literal', (t) => tf.add(t, 1)],
  ['tfjs add scalar-tensor', (t) => tf.add(t, one)],
  ['tfjs add tensor', (t) => tf.add(t, x)],
  ['tfjs relu', (t) => tf.relu(t)],
]) {
  const ts = [];
  for (let rep = 0; rep < 4; rep++) {
    const t0 = performance.now();
    const y = tf.tidy(() => {
      let t = x;
      for (let i = 0; i < N; i++) t = fn(t);
      return t;
    });
    const tRecord = performance.now() - t0;
    await y.data();
    ts.push({ recordMs: tRecord, totalMs: performance.now() - t0 });
    y.dispose();
  }
  const best = ts.slice(1).sort((a, b) => a.totalMs - b.totalMs)[0];
  report.tfjs[name] = { ...best, usPerOp: (best.totalMs * 1000) / N };
  console.log(name, JSON.stringify(report.tfjs[name]));
}
// JS-only engine cost: the same chain on the cpu backend at a tiny shape.
if (out) {
  writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${out}.tmp`, out);
}
