// Checks @geolip/geometry on a real GPU: initBackend() must pick WebGPU on a hardware adapter by
// default, and the tensor paths must agree with the cpu backend. Packed and run
// on the GPU machine (Node + Dawn, no network): `node tools/device/pack.mjs tools/device/webgpu-check.mjs --out
// .device/check`, then there `bash .device/check/run.sh` (see docs/gpu-machine.md); writes $OUT/webgpu-check.json.
import { writeFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import {
  cvLoss,
  pairwiseCosine,
  pentachoronCV,
  pentachoronCVAsync,
  sampleSphere,
  simplexVolume,
} from '@geolip/geometry';
import { initBackend } from '@geolip/geometry/backend';

const report = { node: process.version };
const logs = [];
delete process.env.GEOLIP_BACKEND;
const info = await initBackend({ log: (m) => logs.push(m) });
report.defaultChoice = info;
report.logs = logs;

async function compute() {
  const x = sampleSphere(1024, 16, { seed: 1 });
  const pts = tf.reshape(sampleSphere(4000 * 5, 16, { seed: 2 }), [4000, 5, 16]);
  const vol = await simplexVolume(pts).data();
  const loss = (await cvLoss(x, 0.1, { seed: 3 }).data())[0];
  const grad = await tf
    .grad((t) => cvLoss(t, 0.1, { seed: 3 }))(x)
    .data();
  const cos = await pairwiseCosine(x, x).data();
  const cv = (await pentachoronCVAsync(x, { seed: 4 })).cv;
  let syncRead;
  try {
    pentachoronCV(x, { seed: 4 });
    syncRead = 'ok';
  } catch (e) {
    syncRead = String(e.message ?? e);
  }
  const t0 = performance.now();
  for (let i = 0; i < 20; i++)
    await tf
      .grad((t) => cvLoss(t, 0.1, { seed: i }))(x)
      .data();
  const msPerLossStep = (performance.now() - t0) / 20;
  return { vol, loss, grad, cos, cv, msPerLossStep, syncRead };
}

const gpu = await compute();
await initBackend({ prefer: ['cpu'], log: () => {} });
const cpu = await compute();
const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
report.backendUsed = info.name;
report.compare = {
  volumeMaxAbsDiff: maxAbs(gpu.vol, cpu.vol),
  volumeMean: cpu.vol.reduce((s, v) => s + v, 0) / cpu.vol.length,
  cvLossGpu: gpu.loss,
  cvLossCpu: cpu.loss,
  gradMaxAbsDiff: maxAbs(gpu.grad, cpu.grad),
  gradMaxAbs: cpu.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
  cosineMaxAbsDiff: maxAbs(gpu.cos, cpu.cos),
  pentachoronCVGpu: gpu.cv,
  pentachoronCVCpu: cpu.cv,
  msPerCvLossStepGpu: gpu.msPerLossStep,
  msPerCvLossStepCpu: cpu.msPerLossStep,
  syncReadGpu: gpu.syncRead,
};
const out = `${process.env.OUT ?? '.'}/webgpu-check.json`;
writeFileSync(out, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
process.exit(0);
