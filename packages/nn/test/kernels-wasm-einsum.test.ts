// Parity of the wasm Einsum kernel (src/kernels/wasm/einsum.ts) with the cpu backend. wasm project only.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';

const onWasm = process.env.GEOLIP_BACKEND === 'wasm';

function data(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.91 + seed));
}

async function einsumOn(backend: string, equation: string, shapes: number[][]) {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const xs = shapes.map((s, i) =>
        tf.tensor(
          data(
            s.reduce((p, d) => p * d, 1),
            i,
          ),
          s,
        ),
      );
      const y = tf.einsum(equation, ...xs);
      return { shape: y.shape, values: y.dataSync().slice() };
    });
  } finally {
    await tf.setBackend(before);
  }
}

describe.skipIf(!onWasm)('wasm Einsum kernel (vs cpu)', () => {
  it('hand case: ij,jk->ik', () => {
    const y = tf.einsum(
      'ij,jk->ik',
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      tf.tensor2d([
        [5, 6],
        [7, 8],
      ]),
    );
    expect(Array.from(y.dataSync())).toEqual([19, 22, 43, 50]);
  });

  it.each([
    [
      'ij,jk->ik',
      [
        [7, 5],
        [5, 3],
      ],
    ],
    [
      'bij,bjk->bik',
      [
        [2, 4, 6],
        [2, 6, 3],
      ],
    ],
    [
      'bhqd,bhkd->bhqk',
      [
        [2, 3, 5, 4],
        [2, 3, 6, 4],
      ],
    ],
    ['i,j->ij', [[4], [3]]],
    ['i,i->', [[9], [9]]],
    ['ij->ji', [[3, 5]]],
    ['ij->i', [[4, 6]]],
  ] as [string, number[][]][])('%s', async (equation, shapes) => {
    const w = await einsumOn('wasm', equation, shapes);
    const c = await einsumOn('cpu', equation, shapes);
    expect(w.shape).toEqual(c.shape);
    for (let i = 0; i < c.values.length; i++) {
      expect(Math.abs(w.values[i]! - c.values[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(c.values[i]!)));
    }
  });

  it('leaves no intermediate tensors behind', () => {
    const a = tf.ones([3, 4]);
    const b = tf.ones([4, 5]);
    tf.einsum('ij,jk->ik', a, b).dispose();
    const before = tf.memory();
    for (let i = 0; i < 3; i++) tf.einsum('ij,jk->ik', a, b).dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});
