// Synthetic experts and file writers shared by the CLI and recipe tests. The seeded Gaussian sources are the engine's
// (packages/train/test/helpers.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import * as tf from '@tensorflow/tfjs-core';
import { Matrix, linalg } from '@geolip/geometry';
import { readModelMetadata, readSafetensors, toFloat32 } from '@geolip/io';
import type { Module } from '@geolip/nn';
import { expect } from 'vitest';

import { fromPretrained } from '../src/models.js';

import { orthogonal } from '../../train/test/helpers.js';

export { gaussian, gaussianSource, orthogonal } from '../../train/test/helpers.js';

/** Expert view of `base` [N, D₀]: pad with zeros to width d, add noise·N(0, 1), rotate by a random orthogonal matrix. */
export function expertView(r: () => number, base: Matrix, d: number, noise: number): Matrix {
  const padded = new Matrix(base.rows, d);
  for (let i = 0; i < base.rows; i++) {
    for (let j = 0; j < d; j++)
      padded.data[i * d + j] = (j < base.cols ? base.data[i * base.cols + j]! : 0) + noise * r();
  }
  return linalg.matmul(padded, orthogonal(r, d));
}

/** A `.npy` v1.0 file holding `m` as little-endian float64 (C order). */
export function npyF8(m: Matrix): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + m.data.length * 8);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(Float64Array.from(m.data).buffer), 10 + header.length);
  return out;
}

/** A gzip IDX file (big-endian magic and dims, then the bytes), as Fashion-MNIST ships them. */
export function idxGz(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, Buffer.from(data)]));
}

/**
 * Writes a synthetic Fashion-MNIST split (`<prefix>-images-idx3-ubyte.gz`, `<prefix>-labels-idx1-ubyte.gz`, prefix
 * `train` or `t10k`) into `dir`: image i has label i mod 10 and is dark except a bright horizontal band at rows 2c+4, 2c+5.
 */
export async function writeFashionMnistSplit(dir: string, prefix: 'train' | 't10k', n: number): Promise<void> {
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    for (let x = 0; x < 28; x++) {
      images[i * 784 + (2 * c + 4) * 28 + x] = 255;
      images[i * 784 + (2 * c + 5) * 28 + x] = 200;
    }
  }
  await writeFile(join(dir, `${prefix}-images-idx3-ubyte.gz`), idxGz(0x803, [n, 28, 28], images));
  await writeFile(join(dir, `${prefix}-labels-idx1-ubyte.gz`), idxGz(0x801, [n], labels));
}

/**
 * Runs `geolip-train run <recipe>` in-process: writes `config` to `<dir>/<out>.json`, outputs to `<dir>/<out>`, and
 * returns the exit code with what the CLI wrote.
 */
export async function runRecipe(
  recipe: string,
  dir: string,
  config: unknown,
  out: string,
  extra: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../src/cli.js');
  let stdout = '';
  let stderr = '';
  const path = join(dir, `${out}.json`);
  await writeFile(path, JSON.stringify(config));
  const code = await main(['run', recipe, '--config', path, '--out', join(dir, out), ...extra], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/**
 * Loads a model file a recipe wrote with `fromPretrained` of `allModels`, by its metadata alone, and checks it: the
 * contract's type (`geolip.type`, format 1), the class, a parameter count equal to the file's non-buffer tensors, and
 * every tensor of the loaded model's `stateDict()` bit-identical to the file's (F16 files: to their float32 values).
 * Returns the parameter count.
 */
export async function expectLoadsByMetadata(
  file: string,
  type: string,
  cls: abstract new (...args: never[]) => Module,
): Promise<number> {
  const bytes = new Uint8Array(await readFile(file));
  const { tensors, metadata } = readSafetensors(bytes, { copy: true });
  const meta = readModelMetadata(metadata);
  expect(meta.type, file).toBe(type);
  expect(meta.format, file).toBe('1');
  const model = await fromPretrained(bytes);
  try {
    expect(model, file).toBeInstanceOf(cls);
    // The file's elements less its buffers' (e.g. a saved anchor snapshot) are the model's parameters.
    const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
    const buffers = new Set(model.namedBuffers().map(([name]) => name));
    const count = Object.entries(tensors).reduce((n, [name, t]) => n + (buffers.has(name) ? 0 : size(t.shape)), 0);
    expect(model.paramCount(), file).toBe(count);
    const state = model.stateDict();
    try {
      expect(Object.keys(state).sort(), file).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(state)) {
        expect(t.shape, name).toEqual(tensors[name]!.shape);
        const a = Buffer.from(Float32Array.from(t.dataSync() as Float32Array).buffer);
        const b = Buffer.from(toFloat32(tensors[name]!).buffer);
        expect(a.equals(b), `${file}: ${name}`).toBe(true);
      }
    } finally {
      tf.dispose(Object.values(state));
    }
    return count;
  } finally {
    model.dispose();
  }
}
