// The browser side of packages.browser.test.ts: registers the cpu and webgl backends, lets initBackend choose (the
// browser order webgpu → webgl → wasm → cpu), then runs packages-entry.ts on the chosen backend and on cpu.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { initBackend } from '@geolip/nn/backend';

import { runPackages } from './packages-entry.js';
import { pretrainedDigests } from './pretrained-entry.js';

(globalThis as Record<string, unknown>).geolipRunPackages = async (vocabText: string) => {
  const auto = await initBackend({ log: () => {} });
  const onAuto = await runPackages(vocabText);
  await initBackend({ prefer: ['cpu'], log: () => {} });
  const onCpu = await runPackages(vocabText);
  return { backend: auto.name, skipped: auto.skipped, onAuto, onCpu };
};

// fromPretrained on the shipped weights, fetched from URLs the test serves, on cpu (exact float32 readback).
(globalThis as Record<string, unknown>).geolipFromPretrained = async (sources: { text: string; vision: string }) => {
  await initBackend({ prefer: ['cpu'], log: () => {} });
  return pretrainedDigests(sources);
};
