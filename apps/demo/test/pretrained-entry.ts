// fromPretrained on every shipped model, by its metadata alone, reduced to a digest: packages.browser.test.ts runs
// this in headless Chromium (the weights fetched from URLs) and in Node (read from the files); the digests must be
// equal, bit for bit. No backend is imported here: the caller registers and selects one.
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@geolip/nn';
import { fromPretrained as textFromPretrained } from '@geolip/text';
import { fromPretrained as visionFromPretrained } from '@geolip/vision';

/** Per model: [parameter count, tensor count, FNV-1a of every parameter's float32 bits in name order]. */
export type PretrainedDigests = Record<string, number[]>;

function digest(model: Module): number[] {
  const dict = model.stateDict();
  try {
    let h = 0x811c9dc5;
    const names = Object.keys(dict).sort();
    for (const name of names) {
      const bits = new Uint32Array((dict[name]!.dataSync() as Float32Array).slice().buffer);
      for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 0x01000193) >>> 0;
    }
    return [model.paramCount(), names.length, h];
  } finally {
    tf.dispose(Object.values(dict));
  }
}

/** Loads each shipped model with its package's `fromPretrained` (a path in Node, a URL in a browser). */
export async function pretrainedDigests(sources: { text: string; vision: string }): Promise<PretrainedDigests> {
  const out: PretrainedDigests = {};
  for (const [key, load] of [
    ['text.geolip-text', () => textFromPretrained(sources.text)],
    ['vision.fmnist-dual-stream', () => visionFromPretrained(sources.vision)],
  ] as const) {
    const model = await load();
    try {
      out[`${key}:${model.constructor.name}`] = digest(model);
    } finally {
      model.dispose();
    }
  }
  return out;
}
