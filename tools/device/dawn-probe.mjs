// What Dawn's adapter exposes on the GPU machine for issue 19's mixed-precision and subgroup levers: the adapter's
// features and limits, then, for each feature of interest, whether a device can be created with it (and the
// toggles tried). Packed by tools/device/pack.mjs (needs navigator.gpu):
//
//   node tools/device/pack.mjs tools/device/dawn-probe.mjs --out .device/probe
//   (GPU machine)  bash .device/probe/run.sh --out $OUT/dawn-probe.json
//
// Writes the JSON (temp file, then rename) and prints a summary.
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const args = process.argv.slice(2);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
const WANTED = [
  'shader-f16',
  'subgroups',
  'subgroups-f16',
  'chromium-experimental-subgroup-matrix',
  'chromium-experimental-subgroups',
  'timestamp-query',
  'chromium-experimental-timestamp-query-inside-passes',
];

const gpu = globalThis.navigator?.gpu;
if (!gpu) throw new Error('dawn-probe: navigator.gpu is missing (run through tools/device/pack.mjs)');
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('dawn-probe: no WebGPU adapter');
const info = adapter.info ?? {};
const limits = {};
for (const k in adapter.limits) limits[k] = adapter.limits[k];
const features = [...adapter.features].sort();
const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
  dawnFlags: process.env.GEOLIP_DAWN_FLAGS ?? '',
  adapter: {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: adapter.isFallbackAdapter ?? info.isFallbackAdapter,
  },
  features,
  limits,
  probes: {},
};

for (const name of WANTED) {
  const exposed = features.includes(name);
  const probe = { exposed };
  if (exposed) {
    try {
      // An adapter makes one device: ask for a fresh one per probe.
      const fresh = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      const device = await fresh.requestDevice({ requiredFeatures: [name] });
      probe.device = 'created';
      probe.shader = await shaderCheck(device, name);
      device.destroy();
    } catch (e) {
      probe.device = `failed: ${e.message}`;
    }
  }
  report.probes[name] = probe;
}

/** Compiles a tiny compute shader that uses the feature (f16 arithmetic, a subgroup sum) and runs it once. */
async function shaderCheck(device, name) {
  let code;
  if (name === 'shader-f16') {
    code = `enable f16;
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let h = f16(g.x) * 0.5h; y[g.x] = f32(h);
}`;
  } else if (name === 'subgroups') {
    code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  y[g.x] = subgroupAdd(1.0);
}`;
  } else return 'not checked';
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const size = 64 * 4;
  const buf = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    }),
  );
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, size);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  await read.mapAsync(GPUMapMode.READ);
  const v = [...new Float32Array(read.getMappedRange()).slice(0, 4)];
  read.unmap();
  return { messages: info.messages.map((m) => m.message), error: err?.message ?? null, first: v };
}

console.log(JSON.stringify({ adapter: report.adapter, probes: report.probes }, null, 1));
console.log(`features: ${features.join(', ')}`);
if (out) {
  writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${out}.tmp`, out);
}
process.exit(0);
