import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';

import type { TrainableModel } from '../../src/loop/index.js';

export interface Batch {
  x: Float32Array;
  y: Float32Array;
  n: number;
}

export const IN = 4;
export const OUT = 3;
const HID = 8;

/** A fixed random linear map to learn. */
const target = (() => {
  const r = createRng(123);
  return Float32Array.from({ length: IN * OUT }, () => r.normal());
})();

export function makeBatch(rng: Rng, n = 16): Batch {
  const x = Float32Array.from({ length: n * IN }, () => rng.normal());
  const y = new Float32Array(n * OUT);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < OUT; o++) {
      let s = 0;
      for (let k = 0; k < IN; k++) s += x[i * IN + k]! * target[k * OUT + o]!;
      y[i * OUT + o] = s;
    }
  return { x, y, n };
}

/** A tiny MLP plus an `anchors` variable that only enters the loss as 0·Σanchors (zero gradient). */
export function makeModel(
  seed = 1,
  hidden = HID,
): TrainableModel<Batch> & { vars: Record<string, tf.Variable>; dispose(): void } {
  const r = createRng(seed);
  const init = (shape: number[], scale: number) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal() * scale),
      shape,
    );
  const vars: Record<string, tf.Variable> = {
    'l1.weight': tf.variable(init([IN, hidden], 0.5), true, `l1w${Math.random()}`),
    'l1.bias': tf.variable(tf.zeros([hidden]), true, `l1b${Math.random()}`),
    'l2.weight': tf.variable(init([hidden, OUT], 0.5), true, `l2w${Math.random()}`),
    anchors: tf.variable(init([5, OUT], 1), true, `anc${Math.random()}`),
  };
  return {
    vars,
    getWeights: () => vars,
    loss: (b) =>
      tf.tidy(() => {
        const x = tf.tensor2d(b.x, [b.n, IN]);
        const y = tf.tensor2d(b.y, [b.n, OUT]);
        const h = tf.relu(tf.add(tf.matMul(x, vars['l1.weight']!), vars['l1.bias']!));
        const pred = tf.matMul(h, vars['l2.weight']!);
        return tf.add(tf.mean(tf.square(tf.sub(pred, y))), tf.mul(0, tf.sum(vars.anchors!))) as tf.Scalar;
      }),
    dispose: () => Object.values(vars).forEach((v) => v.dispose()),
  };
}

export function snapshot(vars: Record<string, tf.Variable>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, (v.dataSync() as Float32Array).slice()]));
}

export const isCpu = () => tf.getBackend() === 'cpu';
