import * as tf from '@tensorflow/tfjs-core';
import { FormatError, InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { writeModelMetadata, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { MLP_STUDENT_TYPE, MlpStudent, nnModels, parseMlpStudentConfig } from '../../src/index.js';

const CONFIG = { inDim: 5, hidden: 7, outDim: 3, activation: 'gelu' as const };

describe('MlpStudent', () => {
  it('has the PyTorch parameters, unit output rows and a seeded init', () => {
    const m = new MlpStudent(CONFIG, 4);
    expect(Object.keys(m.getWeights())).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(m.getWeights()['fc1.weight']!.shape).toEqual([7, 5]);
    expect(m.paramCount()).toBe(7 * 5 + 7 + 3 * 7 + 3);
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 2) as tf.Tensor2D;
    const y = m.forward(x);
    const norms = tf.sqrt(tf.sum(tf.square(y), 1));
    for (const n of norms.dataSync()) expect(n).toBeCloseTo(1, 5);
    const again = new MlpStudent(CONFIG, 4);
    expect(Array.from(again.getWeights()['fc2.bias']!.dataSync())).toEqual(
      Array.from(m.getWeights()['fc2.bias']!.dataSync()),
    );
    tf.dispose([x, y, norms]);
    m.dispose();
    again.dispose();
  });

  it('names the function and argument in its errors', () => {
    expect(() => new MlpStudent({ ...CONFIG, hidden: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MlpStudent({ ...CONFIG, activation: 'tanh' as never })).toThrow(/config.activation/);
    expect(() => new MlpStudent(null as never)).toThrow(/MlpStudent: 'config'/);
    const m = new MlpStudent(CONFIG);
    expect(() => m.forward(tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(ShapeError);
    m.dispose();
    expect(() => parseMlpStudentConfig({ inDim: 1 })).toThrow(FormatError);
  });

  it('loads by its metadata alone through nnModels, with the same output', async () => {
    const m = new MlpStudent({ ...CONFIG, activation: 'relu' }, 9);
    const state = m.stateDict();
    const entries = Object.fromEntries(
      Object.entries(state).map(([k, t]) => [
        k,
        { dtype: 'F32' as const, shape: t.shape, data: t.dataSync() as Float32Array },
      ]),
    );
    const bytes = writeSafetensors(entries, writeModelMetadata({ type: MLP_STUDENT_TYPE, config: m.config }));
    const loaded = await nnModels.fromPretrained<MlpStudent>(bytes);
    expect(loaded).toBeInstanceOf(MlpStudent);
    expect(loaded.config).toEqual(m.config);
    const x = tf.randomNormal([3, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
    const [a, b] = [m.forward(x), loaded.forward(x)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b, ...Object.values(state)]);
    m.dispose();
    loaded.dispose();
  });
});
