// Reads the transformer parity fixtures (numpy: transformer-numpy.safetensors; PyTorch:
// transformer.safetensors) and turns their entries into tfjs tensors and state dicts.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { entryToTensor, readSafetensors } from '@geolip/io';
import type { SafetensorEntry } from '@geolip/io';

export const fixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

export const fixtureExists = (name: string): boolean => existsSync(fixturePath(name));

export interface TransformerFixture {
  config: Record<string, Record<string, unknown>>;
  metadata: Record<string, string>;
  has(key: string): boolean;
  /** A new tensor (caller disposes). */
  tensor(key: string): tf.Tensor;
  /** Every `<case>/<group>/<name>` entry as name → new tensor. */
  group(caseName: string, group: string): Record<string, tf.Tensor>;
}

export function loadTransformerFixture(name: string): TransformerFixture {
  const { tensors, metadata } = readSafetensors(readFileSync(fixturePath(name)), { copy: true });
  const entry = (key: string): SafetensorEntry => {
    const e = tensors[key];
    if (!e) throw new Error(`fixture ${name} has no key '${key}'`);
    return e;
  };
  return {
    config: JSON.parse(metadata.config ?? '{}') as Record<string, Record<string, unknown>>,
    metadata,
    has: (key) => key in tensors,
    tensor: (key) => entryToTensor(entry(key)),
    group: (caseName, group) => {
      const prefix = `${caseName}/${group}/`;
      const out: Record<string, tf.Tensor> = {};
      for (const key of Object.keys(tensors))
        if (key.startsWith(prefix)) out[key.slice(prefix.length)] = entryToTensor(entry(key));
      return out;
    },
  };
}

export function disposeAll(dict: Record<string, tf.Tensor>): void {
  for (const t of Object.values(dict)) t.dispose();
}
