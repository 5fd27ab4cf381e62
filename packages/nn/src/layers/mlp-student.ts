import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, ShapeError, createRng } from '@geolip/geometry';
import { assertFloatTensor } from '@geolip/geometry/checks';

import { Module } from '../module.js';
import { checkChoice, checkSize } from './checks.js';

/** The hidden activations of {@link MlpStudent}: tanh-form GELU or ReLU. */
export type MlpStudentActivation = 'gelu' | 'relu';

/** Sizes of an {@link MlpStudent} (what its weights file stores as `geolip.config`). */
export interface MlpStudentConfig {
  /** D_in, the input (expert feature) width. */
  inDim: number;
  /** The hidden width. */
  hidden: number;
  /** K, the output (consensus) width. */
  outDim: number;
  /** The hidden activation. */
  activation: MlpStudentActivation;
}

/** The registry key of {@link MlpStudent} (`geolip.type` of the `mlp-student` recipe's `student.safetensors`). */
export const MLP_STUDENT_TYPE = 'nn/mlp-student';

const ACTIVATIONS: readonly MlpStudentActivation[] = Object.freeze(['gelu', 'relu']);

/**
 * The consensus student MLP of the `mlp-student` recipe: one expert's features to unit rows of the consensus space.
 *
 *     y = normalize( fc2( act( fc1(x) ) ) )        fc1: D_in → hidden,  fc2: hidden → K,  act: tanh-GELU or ReLU
 *
 * Parameters (PyTorch layout, as `nn.Linear`): `fc1.weight` `[hidden, D_in]`, `fc1.bias`, `fc2.weight`
 * `[K, hidden]`, `fc2.bias`; all drawn U(−1/√fan_in, 1/√fan_in) from one stream seeded by `seed`, in that order.
 *
 * @example
 * const student = new MlpStudent({ inDim: 384, hidden: 512, outDim: 128, activation: 'gelu' }, 0);
 * const y = student.forward(x); // [B, 128] unit rows
 */
export class MlpStudent extends Module {
  readonly config: Readonly<MlpStudentConfig>;

  /**
   * @param config - the sizes and the activation.
   * @param seed - seeds the initialization. Default 0.
   * @throws {InvalidArgumentError} naming `MlpStudent` and the field: a config that is not an object, a size that
   *   is not a positive integer, an unknown activation.
   */
  constructor(config: MlpStudentConfig, seed = 0) {
    super();
    const op = 'MlpStudent';
    if (typeof config !== 'object' || config === null)
      throw new InvalidArgumentError(op, 'config', 'must be an object { inDim, hidden, outDim, activation }');
    const inDim = checkSize(op, 'config.inDim', config.inDim);
    const hidden = checkSize(op, 'config.hidden', config.hidden);
    const outDim = checkSize(op, 'config.outDim', config.outDim);
    const activation = checkChoice(op, 'config.activation', config.activation, ACTIVATIONS);
    this.config = Object.freeze({ inDim, hidden, outDim, activation });
    // PyTorch nn.Linear default init: weight and bias ~ U(−1/√fan_in, 1/√fan_in).
    const rng = createRng(seed);
    const uniform = (shape: [number] | [number, number], fanIn: number): tf.Tensor => {
      const bound = 1 / Math.sqrt(fanIn);
      const n = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(
        Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound),
        shape,
      );
    };
    this.addParameter('fc1.weight', uniform([hidden, inDim], inDim));
    this.addParameter('fc1.bias', uniform([hidden], inDim));
    this.addParameter('fc2.weight', uniform([outDim, hidden], hidden));
    this.addParameter('fc2.bias', uniform([outDim], hidden));
  }

  /** D_in. */
  get inDim(): number {
    return this.config.inDim;
  }

  /** K. */
  get outDim(): number {
    return this.config.outDim;
  }

  /**
   * @param x - `[B, D_in]` float32.
   * @returns `[B, K]` unit rows (a zero row stays near zero).
   * @throws {ShapeError} naming `MlpStudent.forward` and `x` when it is not `[B, D_in]`.
   */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    const op = 'MlpStudent.forward';
    this.assertLive('forward');
    assertFloatTensor(op, 'x', x, 2);
    if (x.rank !== 2 || x.shape[1] !== this.config.inDim)
      throw new ShapeError(op, 'x', `[B, ${this.config.inDim}]`, x.shape);
    return tf.tidy(() => {
      const v = this.getWeights();
      const pre = tf.add(tf.matMul(x, v['fc1.weight']!, false, true), v['fc1.bias']!) as tf.Tensor2D;
      const h = this.config.activation === 'relu' ? tf.relu(pre) : geluTanh(pre);
      const out = tf.add(tf.matMul(h, v['fc2.weight']!, false, true), v['fc2.bias']!);
      return tf.mul(out, tf.rsqrt(tf.add(tf.sum(tf.square(out), 1, true), 1e-12))) as tf.Tensor2D;
    });
  }
}

/**
 * Checks a config read from a weights file (the `mlp-student` recipe's, or an older file's JSON blob that also holds
 * the recipe name, the expert and the step).
 * @throws {FormatError} naming `parseMlpStudentConfig` and `config` when it is not an object with the four fields.
 */
export function parseMlpStudentConfig(json: unknown): MlpStudentConfig {
  const op = 'parseMlpStudentConfig';
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new FormatError(op, 'config', "metadata 'geolip.config' must be a JSON object");
  const c = json as Record<string, unknown>;
  for (const key of ['inDim', 'hidden', 'outDim'])
    if (typeof c[key] !== 'number') throw new FormatError(op, 'config', `'${key}' must be a number`);
  if (!(ACTIVATIONS as readonly unknown[]).includes(c.activation))
    throw new FormatError(op, 'config', `'activation' must be one of ${ACTIVATIONS.join(', ')}`);
  return {
    inDim: c.inDim as number,
    hidden: c.hidden as number,
    outDim: c.outDim as number,
    activation: c.activation as MlpStudentActivation,
  };
}

/** GELU, tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(
      tf.mul(0.5, x),
      tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
    ),
  );
}
