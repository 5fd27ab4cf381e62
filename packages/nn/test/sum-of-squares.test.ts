// sumOfSquares (the squared global norm of gradient clipping): the GeolipSumSquares reference kernel against the
// composed ops and a float64 sum on this backend; the webgpu kernel's passes (groups of at most 7 inputs, then the
// partial sums) on a stand-in backend that runs each SumSquaresProgram in JS. The WGSL itself is checked against
// cpu by tools/device/gpu-suite.mjs and tools/perf/nn/clip-webgpu.mjs (on the GPU machine or lavapipe).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import {
  KERNELS,
  hasKernel,
  registerReferenceKernels,
  sumOfSquares,
  unregisterReferenceKernels,
} from '../src/index.js';
import { sumSquaresWebGPU } from '../src/kernels/webgpu/index.js';
import { SumSquaresProgram } from '../src/kernels/webgpu/programs.js';

/** Tensors of the given shapes with values in about [−2, 2] (deterministic). */
function tensors(shapes: number[][], seed = 1): tf.Tensor[] {
  return shapes.map((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(
      Float32Array.from({ length: n }, (_, i) => 2 * Math.sin(seed * 7.1 + k * 3.3 + i * 0.917)),
      shape,
    );
  });
}

/** Σ x² in float64 over the float32 squares. */
function exact(ts: tf.Tensor[]): number {
  let s = 0;
  for (const t of ts) for (const v of t.dataSync()) s += Math.fround(v * v);
  return s;
}

/** The composed ops (no kernel): one square and one sum per tensor, then addN in groups of 7. */
function composed(ts: tf.Tensor[]): number {
  const had = hasKernel(KERNELS.sumSquares);
  if (had) unregisterReferenceKernels();
  const r = sumOfSquares(ts);
  const v = r.dataSync()[0]!;
  r.dispose();
  if (had) registerReferenceKernels();
  return v;
}

const ODD = [[3], [5, 7], [1], [11, 13], [2, 3, 5], [97], [1, 1], [4, 0], [31, 1], [8193], [6, 6], [17]];

describe('sumOfSquares', () => {
  afterEach(() => unregisterReferenceKernels());

  const cases: Record<string, number[][]> = {
    'many tensors (> 7) of odd sizes, one empty': ODD,
    '50 tensors (three levels of 7)': Array.from({ length: 50 }, (_, i) => [1 + ((i * 37) % 101)]),
    'a single tensor': [[33, 65]],
    'exactly 7 tensors': ODD.slice(0, 7),
  };
  for (const [name, shapes] of Object.entries(cases)) {
    it(`reference kernel = composed ops = float64 sum: ${name}`, () => {
      const ts = tensors(shapes);
      const want = exact(ts);
      const viaOps = composed(ts);
      registerReferenceKernels();
      expect(hasKernel(KERNELS.sumSquares)).toBe(true);
      const r = sumOfSquares(ts);
      expect(r.shape).toEqual([]);
      expect(r.dtype).toBe('float32');
      const got = r.dataSync()[0]!;
      expect(got).toBe(Math.fround(want)); // the reference rounds the float64 sum once
      // float32 sums (wasm adds a tensor's squares one after another: ~1e-6 relative over a few thousand)
      expect(Math.abs(viaOps - want)).toBeLessThanOrEqual(2e-5 * want);
      tf.dispose([r, ...ts]);
    });
  }

  it('an empty list is 0, with or without the kernel; so is a list of empty tensors', () => {
    for (const kernel of [false, true]) {
      if (kernel) registerReferenceKernels();
      const empty = [tf.zeros([0]), tf.zeros([3, 0])];
      for (const list of [[], empty]) {
        const r = sumOfSquares(list);
        expect(r.shape).toEqual([]);
        expect(r.dataSync()[0]).toBe(0);
        r.dispose();
      }
      tf.dispose(empty);
    }
  });

  it('hand values: [3, 4] and [[12]] give 169', () => {
    registerReferenceKernels();
    const ts = [tf.tensor([3, 4]), tf.tensor([[12]])];
    expect(sumOfSquares(ts).dataSync()[0]).toBe(169);
    unregisterReferenceKernels();
    expect(sumOfSquares(ts).dataSync()[0]).toBe(169);
    tf.dispose(ts);
  });

  it('takes one kernel with GeolipSumSquares, two per tensor plus the addN groups without', async () => {
    const ts = tensors(ODD);
    const count = async () => {
      const info = await tf.profile(() => sumOfSquares(ts));
      const n = info.kernels.length; // the engine reuses the profile object: read it before the next profile
      tf.dispose(info.result as tf.Tensor);
      return n;
    };
    const without = await count();
    registerReferenceKernels();
    const withKernel = await count();
    expect(withKernel).toBe(1);
    expect(without).toBeGreaterThanOrEqual(2 * ODD.length);
    tf.dispose(ts);
  });

  it('non-float32 tensors take the composed ops', () => {
    registerReferenceKernels();
    const t = tf.tensor([1, 2, 3], [3], 'int32');
    const r = sumOfSquares([t]);
    expect(r.dataSync()[0]).toBe(14);
    tf.dispose([t, r]);
  });

  it('refuses what is not an array of tensors', () => {
    expect(() => sumOfSquares(tf.scalar(1) as never)).toThrow(/sumOfSquares: 'tensors' must be an array/);
    expect(() => sumOfSquares([tf.scalar(1), 2] as never)).toThrow(/sumOfSquares: 'tensors\[1\]' must be a tf.Tensor/);
  });
});

/**
 * A stand-in for tfjs-webgpu's backend: `runWebGPUProgram` runs a {@link SumSquaresProgram} in JS from its uniforms
 * (workgroup w sums chunk w of the concatenated inputs), recording each dispatch.
 */
function fakeBackend(storageLimit = 8) {
  const data = new Map<object, Float64Array>();
  const runs: { inputs: number; workgroups: number; square: boolean; outShape: number[] }[] = [];
  const disposed: object[] = [];
  const info = (values: Float64Array, shape: number[]): tf.TensorInfo => {
    const dataId = {};
    data.set(dataId, values);
    return { dataId, shape, dtype: 'float32' };
  };
  const backend = {
    device: { limits: { maxStorageBuffersPerShaderStage: storageLimit } },
    makeTensorInfo: (shape: number[], _dtype: string, values: Float32Array) => info(Float64Array.from(values), shape),
    disposeData: (dataId: object) => {
      disposed.push(dataId);
      return data.delete(dataId);
    },
    runWebGPUProgram(
      program: SumSquaresProgram,
      inputs: tf.TensorInfo[],
      _dtype: string,
      uniforms: { data: number[] }[],
    ): tf.TensorInfo {
      const [count, chunk, ...ends] = uniforms.map((u) => u.data[0]!);
      const square = program.shaderKey.endsWith('_sq');
      expect(inputs.length).toBe(program.variableNames.length);
      expect(inputs.length).toBeLessThanOrEqual(storageLimit - 1);
      expect(ends).toHaveLength(inputs.length);
      inputs.forEach((t) => expect(t.shape).toHaveLength(1)); // flattened
      const flat = inputs.flatMap((t) => Array.from(data.get(t.dataId)!));
      expect(flat.length).toBe(ends.at(-1));
      const out = new Float64Array(count!);
      for (let i = 0; i < flat.length; i++) {
        const w = Math.floor(i / chunk!);
        out[w] = out[w]! + (square ? flat[i]! * flat[i]! : flat[i]!);
      }
      runs.push({ inputs: inputs.length, workgroups: count!, square, outShape: program.outputShape });
      expect(program.dispatch[0]).toBe(count);
      return info(out, program.outputShape);
    },
  };
  return {
    backend,
    runs,
    disposed,
    data,
    input: (values: number[]) => info(Float64Array.from(values), [values.length]),
  };
}

describe('GeolipSumSquares on webgpu: the passes', () => {
  it('120 small tensors: 18 groups of ≤ 7, then 3, then 1 — 22 dispatches, a [] result, temporaries freed', () => {
    const f = fakeBackend();
    const xs = Array.from({ length: 120 }, (_, i) => f.input([i % 5, 1, (i % 3) - 1]));
    const out = sumSquaresWebGPU(xs, f.backend);
    expect(f.runs.map((r) => r.inputs)).toEqual([...Array(17).fill(7), 1, 7, 7, 4, 3]);
    expect(f.runs.map((r) => r.square)).toEqual([...Array(18).fill(true), false, false, false, false]);
    expect(out.shape).toEqual([]);
    expect(f.runs.at(-1)!.outShape).toEqual([]);
    let want = 0;
    for (let i = 0; i < 120; i++) want += (i % 5) ** 2 + 1 + ((i % 3) - 1) ** 2;
    expect(f.data.get(out.dataId)![0]).toBe(want);
    expect(f.disposed).toHaveLength(21); // every output but the result
    expect(f.data.size).toBe(120 + 1); // the inputs and the result
  });

  it('one large tensor: partial sums per 8192 elements, then one pass over them', () => {
    const f = fakeBackend();
    const n = 3 * 8192 + 5;
    const out = sumSquaresWebGPU([f.input(Array.from({ length: n }, (_, i) => (i % 7) - 3))], f.backend);
    expect(f.runs.map((r) => [r.inputs, r.workgroups, r.square])).toEqual([
      [1, 4, true],
      [1, 1, false],
    ]);
    let want = 0;
    for (let i = 0; i < n; i++) want += ((i % 7) - 3) ** 2;
    expect(f.data.get(out.dataId)![0]).toBe(want);
    expect(out.shape).toEqual([]);
  });

  it('a single small tensor: one dispatch straight to []', () => {
    const f = fakeBackend();
    const out = sumSquaresWebGPU([f.input([1, 2, 2])], f.backend);
    expect(f.runs).toEqual([{ inputs: 1, workgroups: 1, square: true, outShape: [] }]);
    expect(f.data.get(out.dataId)![0]).toBe(9);
  });

  it('respects a smaller storage-buffer limit, skips empty inputs, gives 0 for none', () => {
    const f = fakeBackend(4);
    const xs = [[1], [], [2], [3], [4], [5]].map((v) => f.input(v));
    const out = sumSquaresWebGPU(xs, f.backend);
    expect(f.runs.map((r) => r.inputs)).toEqual([3, 2, 2]);
    expect(f.data.get(out.dataId)![0]).toBe(55);
    const none = sumSquaresWebGPU([f.input([])], f.backend);
    expect(none.shape).toEqual([]);
    expect(f.data.get(none.dataId)![0]).toBe(0);
  });
});

describe('SumSquaresProgram', () => {
  it('binds one array per input and declares where each ends', () => {
    const p = new SumSquaresProgram(3, 5, true, false);
    expect(p.variableNames).toEqual(['x0', 'x1', 'x2']);
    expect(p.outputShape).toEqual([5]);
    expect(p.uniforms).toMatch(/count : i32, chunk : i32, end0 : i32, end1 : i32, end2 : i32,/);
    const code = p.getUserCode();
    expect(code).toContain('acc = acc + v * v;');
    expect(new SumSquaresProgram(2, 1, false, true).getUserCode()).toContain('acc = acc + v;');
    expect(new SumSquaresProgram(2, 1, false, true).outputShape).toEqual([]);
  });
});
