// Unit tests of the conv blocks: hand cases, shapes, parameter counts and names, state dicts, errors,
// gradients (every file runs on cpu and on wasm). Parity with numpy / PyTorch: parity-conv*.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';
import { float32ToFloat16Bits, readSafetensors, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import { ClassEmbedding, Conv2d, ConvResBlock, Downsample, GroupNorm, TimeEmbedding, Upsample } from '../src/index.js';
import type { Module } from '../src/index.js';
import { conv2dComposedGrad } from '../src/layers/conv2d.js';
import { upsampleNearest2x } from '../src/layers/up-down.js';

const rand = (shape: number[], seed = 1) => tf.randomNormal(shape, 0, 1, 'float32', seed);
const x4 = (shape: number[], seed = 1) => rand(shape, seed) as tf.Tensor4D;

/** Runs `fn` and checks it leaves exactly `outputs` new tensors behind. */
function expectNoLeak<T>(fn: () => T, outputs = 1): T {
  const before = tf.memory().numTensors;
  const out = fn();
  expect(tf.memory().numTensors - before).toBe(outputs);
  return out;
}

describe('Conv2d', () => {
  it('1×1 convolution is a matmul over channels plus bias', () => {
    const conv = new Conv2d(3, 5, 1, { seed: 3 });
    const x = x4([2, 4, 4, 3]);
    const y = conv.forward(x);
    const w = tf.reshape(conv.weight, [3, 5]) as tf.Tensor2D;
    const ref = tf.reshape(tf.add(tf.matMul(tf.reshape(x, [-1, 3]) as tf.Tensor2D, w), conv.bias!), [2, 4, 4, 5]);
    expectTensorClose(y, ref);
    tf.dispose([x, y, w, ref]);
    conv.dispose();
  });

  it('3×3 ones kernel with padding 1 sums each 3×3 neighbourhood (hand values)', () => {
    const conv = new Conv2d(1, 1, 3, { padding: 1, bias: false });
    conv.loadStateDict({ weight: tf.ones([1, 1, 3, 3]) });
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const y = conv.forward(x);
    expectTensorClose(y, tf.tensor4d([12, 21, 16, 27, 45, 33, 24, 39, 28], [1, 3, 3, 1]));
    tf.dispose([x, y]);
    conv.dispose();
  });

  it.each([
    // kernel, stride, padding, H×W in, H'×W' out
    [3, 1, 1, [8, 8], [8, 8]],
    [3, 2, 1, [8, 8], [4, 4]],
    [3, 2, 0, [8, 8], [3, 3]],
    [3, 1, 'same', [5, 7], [5, 7]],
    [4, 1, 'same', [8, 8], [8, 8]],
    [3, 1, 0, [5, 7], [3, 5]],
    [5, 3, 2, [9, 9], [3, 3]],
    [3, 2, 1, [7, 7], [4, 4]],
  ] as const)('k=%i stride=%i padding=%s maps %j to %j (PyTorch sizes)', (k, s, p, hw, out) => {
    const conv = new Conv2d(2, 3, k, { stride: s, padding: p });
    const y = conv.forward(tf.zeros([1, hw[0], hw[1], 2]) as tf.Tensor4D);
    expect(y.shape).toEqual([1, out[0], out[1], 3]);
    expect(conv.outputSize(hw[0], hw[1])).toEqual(out);
    tf.dispose(y);
    conv.dispose();
  });

  it('padding "same" with an even kernel pads the extra row/column at the bottom/right (as PyTorch)', () => {
    // A kernel with a single 1 at tap (0, 0): y[i, j] = xpad[i, j] = x[i − 1, j − 1] (top/left pad 1, bottom/right 2).
    const conv = new Conv2d(1, 1, 4, { padding: 'same', bias: false });
    const w = new Float32Array(16);
    w[0] = 1;
    conv.loadStateDict({ weight: tf.tensor4d(w, [1, 1, 4, 4]) });
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = conv.forward(x);
    expectTensorClose(y, tf.tensor4d([0, 0, 0, 1], [1, 2, 2, 1]));
    tf.dispose([x, y]);
    conv.dispose();
  });

  it('loadSafetensorEntries: F16 file entries load like loadStateDict and leave no tensors behind, also on failure', () => {
    const a = new Conv2d(2, 3, 2, { seed: 7 });
    const b = new Conv2d(2, 3, 2, { seed: 8 });
    const sd = a.stateDict();
    const entries = readSafetensors(writeSafetensors(sd)).tensors;
    const half = Object.fromEntries(
      Object.entries(entries).map(([k, e]) => [
        k,
        { dtype: 'F16' as const, shape: e.shape, data: Uint16Array.from(e.data as Float32Array, float32ToFloat16Bits) },
      ]),
    );
    const before = tf.memory().numTensors;
    b.loadSafetensorEntries(entries);
    expect(tf.memory().numTensors).toBe(before);
    const exact = b.stateDict();
    expectTensorClose(exact.weight!, sd.weight!, { atol: 0, rtol: 0 });
    b.loadSafetensorEntries(half);
    const rounded = b.stateDict();
    expectTensorClose(rounded.weight!, sd.weight!, { atol: 2e-3, rtol: 2e-3 });
    tf.dispose([...Object.values(exact), ...Object.values(rounded)]);
    const { weight: _dropped, ...noWeight } = entries;
    expect(() => b.loadSafetensorEntries(noWeight)).toThrow(/has no key 'weight'/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(sd));
    a.dispose();
    b.dispose();
  });

  it('counts parameters, names them, initializes U(±1/√fanIn) deterministically per seed', () => {
    const a = new Conv2d(8, 16, 3, { seed: 5 });
    const b = new Conv2d(8, 16, 3, { seed: 5 });
    const c = new Conv2d(8, 16, 3, { seed: 6 });
    expect(a.paramCount()).toBe(16 * 8 * 9 + 16);
    expect(new Conv2d(8, 16, 3, { bias: false }).paramCount()).toBe(16 * 8 * 9);
    expect(a.namedParameters().map(([n, , l]) => [n, l])).toEqual([
      ['weight', 'conv2d'],
      ['bias', 'same'],
    ]);
    const bound = 1 / Math.sqrt(8 * 9);
    const w = a.weight.dataSync();
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.max(...Array.from(a.bias!.dataSync(), Math.abs))).toBeLessThanOrEqual(bound);
    expectTensorClose(a.weight, b.weight, { atol: 0, rtol: 0 });
    expect(tf.sum(tf.abs(tf.sub(a.weight, c.weight))).dataSync()[0]).toBeGreaterThan(0);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('state dict is PyTorch layout [out, in, kh, kw] and round-trips', () => {
    const a = new Conv2d(3, 4, [3, 2], { seed: 1 });
    const b = new Conv2d(3, 4, [3, 2], { seed: 2 });
    const sd = a.stateDict();
    expect(sd.weight!.shape).toEqual([4, 3, 3, 2]);
    b.loadStateDict(sd);
    const x = x4([1, 5, 5, 3]);
    const ya = a.forward(x);
    const yb = b.forward(x);
    expectTensorClose(yb, ya, { atol: 0, rtol: 0 });
    tf.dispose([x, ya, yb, ...Object.values(sd)]);
    a.dispose();
    b.dispose();
  });

  it('forward leaves exactly one tensor', () => {
    const conv = new Conv2d(4, 4, 3, { stride: 2, padding: 1 });
    const x = x4([1, 6, 6, 4]);
    tf.dispose(expectNoLeak(() => conv.forward(x)));
    x.dispose();
    conv.dispose();
  });

  it("composed weight gradient (used on every backend) equals tfjs's Conv2D gradient", () => {
    const backend = tf.getBackend();
    if (tf.getKernel('Conv2DBackpropFilter', backend) === undefined) {
      // wasm: no reference kernel here; parity-conv-numpy.test.ts checks these gradients by finite differences.
      expect(backend).toBe('wasm');
      return;
    }
    for (const [h, k, s] of [
      [6, 3, 1],
      [8, 3, 2],
      [7, 3, 2],
      [9, 4, 3],
    ] as const) {
      const x = x4([2, h, h, 3], 2);
      const w = x4([k, k, 3, 5], 3);
      const probe = rand(tf.conv2d(x, w, s, 'valid').shape, 4);
      const loss = (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), probe)));
      const [dxRef, dwRef] = loss((a, b) => tf.conv2d(a, b, s, 'valid'))([x, w]);
      const [dx, dw] = loss((a, b) => conv2dComposedGrad(a, b, s))([x, w]);
      expectTensorClose(dx!, dxRef!, { atol: 1e-5, rtol: 1e-5 });
      expectTensorClose(dw!, dwRef!, { atol: 1e-4, rtol: 1e-5 });
      tf.dispose([x, w, probe, dxRef!, dwRef!, dx!, dw!]);
    }
  });

  it('rejects bad arguments with typed errors naming the argument', () => {
    expect(() => new Conv2d(0, 4, 3)).toThrow(InvalidArgumentError);
    expect(() => new Conv2d(2, 4, 3, { stride: 2, padding: 'same' })).toThrow(
      /Conv2d: 'padding' 'same' requires stride 1/,
    );
    expect(() => new Conv2d(2, 4, 3, { padding: -1 })).toThrow(/Conv2d: 'padding'/);
    expect(() => new Conv2d(2, 4, 1.5)).toThrow(/Conv2d: 'kernelSize'/);
    const conv = new Conv2d(2, 4, 3);
    expect(() => conv.forward(tf.zeros([1, 5, 5, 3]) as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => conv.forward(tf.zeros([1, 5, 5, 3]) as tf.Tensor4D)).toThrow(
      /Conv2d.forward: 'x' must have shape \[B, H, W, 2\], got \[1, 5, 5, 3\]/,
    );
    expect(() => conv.forward(tf.zeros([5, 5, 2]) as unknown as tf.Tensor4D)).toThrow(/'x' must have shape/);
    expect(() => conv.forward(tf.zeros([1, 2, 2, 2]) as tf.Tensor4D)).toThrow(/H \+ padding >= 3/);
    expect(() => conv.forward(tf.zeros([1, 5, 5, 2], 'int32') as tf.Tensor4D)).toThrow(/'x' must have dtype float32/);
    conv.dispose();
    expect(() => conv.forward(tf.zeros([1, 5, 5, 2]) as tf.Tensor4D)).toThrow(
      /Conv2d.forward: 'this' the module was disposed/,
    );
  });
});

describe('GroupNorm', () => {
  it('with one group is a layer norm over (H, W, C) followed by the per-channel affine', () => {
    const gn = new GroupNorm(1, 6);
    gn.loadStateDict({ weight: tf.linspace(0.5, 1.5, 6), bias: tf.linspace(-1, 1, 6) });
    const x = x4([2, 3, 4, 6]);
    const { mean, variance } = tf.moments(x, [1, 2, 3], true);
    const ref = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gn.weight), gn.bias);
    expectTensorClose(gn.forward(x), ref);
    tf.dispose([x, mean, variance, ref]);
    gn.dispose();
  });

  it('normalizes each (sample, group) to mean 0 and variance 1 at init, for any [B, ..., C]', () => {
    const gn = new GroupNorm(4, 8);
    const x = tf.add(tf.mul(rand([3, 10, 8]), 5), 2);
    const y = gn.forward(x);
    const grouped = tf.reshape(y, [3, 10, 4, 2]);
    const { mean, variance } = tf.moments(grouped, [1, 3]);
    expectTensorClose(mean, tf.zeros([3, 4]), { atol: 1e-5 });
    expectTensorClose(variance, tf.ones([3, 4]), { atol: 1e-3 });
    tf.dispose([x, y, grouped, mean, variance]);
    gn.dispose();
  });

  it('has weight and bias [C] and 2C parameters', () => {
    const gn = new GroupNorm(4, 16);
    expect(gn.paramCount()).toBe(32);
    expect(gn.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ['weight', [16]],
      ['bias', [16]],
    ]);
    gn.dispose();
  });

  it('rejects channels not divisible by groups, bad eps, wrong channel count', () => {
    expect(() => new GroupNorm(3, 16)).toThrow(/GroupNorm: 'groups' must divide channels \(16\), got 3/);
    expect(() => new GroupNorm(4, 16, { eps: 0 })).toThrow(InvalidArgumentError);
    const gn = new GroupNorm(4, 16);
    expect(() => gn.forward(tf.zeros([2, 4, 4, 8]))).toThrow(
      /GroupNorm.forward: 'x' must have shape \[B, \.\.\., 16\]/,
    );
    expect(() => gn.forward(tf.zeros([16]))).toThrow(ShapeError);
    gn.dispose();
  });
});

describe('ConvResBlock', () => {
  it('counts parameters as computed by hand', () => {
    // norm1 2·8 + conv1 (9·8·16 + 16) + cond_proj (12·16 + 16) + norm2 2·16 + conv2 (9·16·16 + 16) + skip (8·16 + 16)
    const add = 16 + 1168 + 208 + 32 + 2320 + 144;
    expect(new ConvResBlock(8, 16, { groups: 4, condDim: 12 }).paramCount()).toBe(add);
    expect(new ConvResBlock(8, 16, { groups: 4, condDim: 12, condMode: 'scale_shift' }).paramCount()).toBe(
      add - 208 + (12 * 32 + 32),
    );
    expect(new ConvResBlock(16, 16, { groups: 4 }).paramCount()).toBe(32 + 2320 + 32 + 2320);
  });

  it('names its parameters like the PyTorch module of gen_conv_fixtures.py', () => {
    const block = new ConvResBlock(8, 16, { groups: 4, condDim: 12, condMode: 'scale_shift' });
    const sd = block.stateDict();
    expect(Object.entries(sd).map(([n, t]) => [n, t.shape])).toEqual([
      ['norm1.weight', [8]],
      ['norm1.bias', [8]],
      ['conv1.weight', [16, 8, 3, 3]],
      ['conv1.bias', [16]],
      ['cond_proj.weight', [32, 12]],
      ['cond_proj.bias', [32]],
      ['norm2.weight', [16]],
      ['norm2.bias', [16]],
      ['conv2.weight', [16, 16, 3, 3]],
      ['conv2.bias', [16]],
      ['skip.weight', [16, 8, 1, 1]],
      ['skip.bias', [16]],
    ]);
    tf.dispose(Object.values(sd));
    const same = new ConvResBlock(16, 16, { groups: 4 });
    expect(same.namedParameters().map(([n]) => n)).toEqual([
      'norm1.weight',
      'norm1.bias',
      'conv1.weight',
      'conv1.bias',
      'norm2.weight',
      'norm2.bias',
      'conv2.weight',
      'conv2.bias',
    ]);
    block.dispose();
    same.dispose();
  });

  it('is the identity when conv2 is zero and inC = outC', () => {
    const block = new ConvResBlock(8, 8, { groups: 2, condDim: 4 });
    for (const [name, v] of block.namedParameters()) if (name.startsWith('conv2.')) v.assign(tf.zerosLike(v));
    const x = x4([2, 5, 5, 8]);
    const c = rand([2, 4]) as tf.Tensor2D;
    const y = block.forward(x, c);
    expectTensorClose(y, x, { atol: 0, rtol: 0 });
    tf.dispose([x, c, y]);
    block.dispose();
  });

  it('both modes reduce to the unconditioned block when cond_proj is zero (scale 0, shift 0 / add 0)', () => {
    const plain = new ConvResBlock(4, 8, { groups: 2, seed: 9 });
    const x = x4([2, 6, 6, 4]);
    const c = rand([2, 3]) as tf.Tensor2D;
    const ref = plain.forward(x);
    for (const condMode of ['add', 'scale_shift'] as const) {
      const block = new ConvResBlock(4, 8, { groups: 2, condDim: 3, condMode, seed: 1 });
      const sd = plain.stateDict();
      const k = condMode === 'add' ? 8 : 16;
      block.loadStateDict({ ...sd, 'cond_proj.weight': tf.zeros([k, 3]), 'cond_proj.bias': tf.zeros([k]) });
      const y = block.forward(x, c);
      expectTensorClose(y, ref, { atol: 1e-6, rtol: 1e-6 });
      tf.dispose([y, ...Object.values(sd)]);
      block.dispose();
    }
    tf.dispose([x, c, ref]);
    plain.dispose();
  });

  it('forward leaves exactly one tensor', () => {
    const block = new ConvResBlock(4, 8, { groups: 2, condDim: 3, condMode: 'scale_shift' });
    const x = x4([1, 4, 4, 4]);
    const c = rand([1, 3]) as tf.Tensor2D;
    tf.dispose(expectNoLeak(() => block.forward(x, c)));
    tf.dispose([x, c]);
    block.dispose();
  });

  it('rejects bad configurations and inputs with typed errors', () => {
    expect(() => new ConvResBlock(8, 12, { groups: 8 })).toThrow(
      /ConvResBlock: 'groups' must divide outChannels \(12\), got 8/,
    );
    expect(() => new ConvResBlock(6, 8, { groups: 4 })).toThrow(/must divide inChannels/);
    expect(() => new ConvResBlock(8, 8, { groups: 4, condMode: 'film' as never })).toThrow(
      /'condMode' must be one of 'add', 'scale_shift'/,
    );
    expect(() => new ConvResBlock(8, 8, { groups: 4, activation: 'relu' as never })).toThrow(
      /'activation' must be 'silu'/,
    );
    expect(() => new ConvResBlock(8, 8, { groups: 4, condDim: 0 })).toThrow(/'condDim'/);
    const cond = new ConvResBlock(8, 16, { groups: 4, condDim: 12 });
    const plain = new ConvResBlock(8, 16, { groups: 4 });
    const x = tf.zeros([2, 4, 4, 8]) as tf.Tensor4D;
    expect(() => cond.forward(x)).toThrow(/ConvResBlock.forward: 'cond' is required/);
    expect(() => plain.forward(x, tf.zeros([2, 12]) as tf.Tensor2D)).toThrow(
      /'cond' was given, but the block was built without condDim/,
    );
    expect(() => cond.forward(x, tf.zeros([3, 12]) as tf.Tensor2D)).toThrow(
      /'cond' must have shape \[B=2, 12\], got \[3, 12\]/,
    );
    expect(() => cond.forward(x, tf.zeros([2, 11]) as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => cond.forward(tf.zeros([2, 4, 4, 16]) as tf.Tensor4D, tf.zeros([2, 12]) as tf.Tensor2D)).toThrow(
      /'x' must have shape \[B, H, W, 8\]/,
    );
    cond.dispose();
    plain.dispose();
  });
});

describe('Downsample / Upsample', () => {
  it('halve (ceil) and double H and W; 9C² + C parameters named conv.*', () => {
    const down = new Downsample(4);
    const up = new Upsample(4);
    for (const [h, w, oh, ow] of [
      [8, 8, 4, 4],
      [7, 5, 4, 3],
    ] as const) {
      const y = down.forward(tf.zeros([1, h, w, 4]) as tf.Tensor4D);
      expect(y.shape).toEqual([1, oh, ow, 4]);
      y.dispose();
    }
    const y = up.forward(tf.zeros([2, 3, 5, 4]) as tf.Tensor4D);
    expect(y.shape).toEqual([2, 6, 10, 4]);
    y.dispose();
    for (const m of [down, up]) {
      expect(m.paramCount()).toBe(9 * 16 + 4);
      expect(m.namedParameters().map(([n]) => n)).toEqual(['conv.weight', 'conv.bias']);
      m.dispose();
    }
  });

  it('nearest ×2 repeats each pixel in a 2×2 block (hand values)', () => {
    const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]); // channel 0: [[1, 2], [3, 4]]; channel 1: 10×
    const y = upsampleNearest2x(x);
    const c0 = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4];
    expectTensorClose(tf.squeeze(tf.slice(y, [0, 0, 0, 0], [1, 4, 4, 1])), tf.tensor2d(c0, [4, 4]));
    expectTensorClose(
      tf.squeeze(tf.slice(y, [0, 0, 0, 1], [1, 4, 4, 1])),
      tf.tensor2d(
        c0.map((v) => 10 * v),
        [4, 4],
      ),
    );
    tf.dispose([x, y]);
  });

  it('reject wrong rank or channel count', () => {
    const down = new Downsample(4);
    const up = new Upsample(4);
    expect(() => down.forward(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D)).toThrow(
      /Downsample.forward: 'x' must have shape \[B, H, W, 4\]/,
    );
    expect(() => up.forward(tf.zeros([8, 8, 4]) as unknown as tf.Tensor4D)).toThrow(
      /Upsample.forward: 'x' must have shape/,
    );
    expect(() => new Upsample(0)).toThrow(InvalidArgumentError);
    down.dispose();
    up.dispose();
  });
});

describe('TimeEmbedding', () => {
  it('is sinusoids [cos | sin] of 1000·t through Linear → SiLU → Linear', () => {
    const te = new TimeEmbedding(4, 3, { seed: 2 });
    expect(te.paramCount()).toBe(4 * 3 + 3 + 3 * 3 + 3);
    expect(te.namedParameters().map(([n]) => n)).toEqual([
      'linear1.weight',
      'linear1.bias',
      'linear2.weight',
      'linear2.bias',
    ]);
    const t = tf.tensor1d([0, 0.25]);
    // half = 2: frequencies 1 and 10000^(−1/2) = 0.01; arguments 1000·t·f.
    const e = tf.tensor2d([
      [1, 1, 0, 0],
      [Math.cos(250), Math.cos(2.5), Math.sin(250), Math.sin(2.5)],
    ]);
    const w = te.getWeights();
    const h = tf.add(tf.matMul(e, w['linear1.weight'] as tf.Tensor2D), w['linear1.bias']!);
    const ref = tf.add(tf.matMul(tf.mul(h, tf.sigmoid(h)), w['linear2.weight'] as tf.Tensor2D), w['linear2.bias']!);
    expectTensorClose(te.forward(t), ref, { atol: 2e-5 });
    tf.dispose([t, e, h, ref]);
    te.dispose();
  });

  it('rejects odd dim and non-[B] times', () => {
    expect(() => new TimeEmbedding(5, 8)).toThrow(/TimeEmbedding: 'dim' must be even, got 5/);
    const te = new TimeEmbedding(4, 8);
    expect(() => te.forward(tf.zeros([2, 1]) as unknown as tf.Tensor1D)).toThrow(
      /TimeEmbedding.forward: 't' must have shape \[B\]/,
    );
    te.dispose();
  });
});

describe('ClassEmbedding', () => {
  it('looks up rows, with an extra null row for classifier-free guidance', () => {
    const ce = new ClassEmbedding(10, 6, { nullClass: true, seed: 4 });
    expect(ce.weight.shape).toEqual([11, 6]);
    expect(ce.paramCount()).toBe(66);
    expect(ce.nullLabel).toBe(10);
    const labels = tf.tensor1d([3, ce.nullLabel, 0, 3], 'int32');
    const y = ce.forward(labels);
    const table = ce.weight.arraySync() as number[][];
    expectTensorClose(y, [table[3]!, table[10]!, table[0]!, table[3]!], { atol: 0, rtol: 0 });
    tf.dispose([labels, y]);
    expect(() => new ClassEmbedding(10, 6).nullLabel).toThrow(/ClassEmbedding.nullLabel: 'nullClass' was not enabled/);
    ce.dispose();
  });

  it('rejects float labels and non-[B] labels', () => {
    const ce = new ClassEmbedding(4, 2);
    expect(() => ce.forward(tf.tensor1d([1, 2]))).toThrow(
      /ClassEmbedding.forward: 'labels' must have dtype int32, got float32/,
    );
    expect(() => ce.forward(tf.zeros([2, 1], 'int32') as unknown as tf.Tensor1D)).toThrow(ShapeError);
    ce.dispose();
  });
});

describe('gradients reach every input and parameter (this backend)', () => {
  const cases: [string, () => Module, () => tf.Tensor[], (m: Module, ins: tf.Tensor[]) => tf.Tensor][] = [
    [
      'Conv2d s2 p1',
      () => new Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
      () => [x4([2, 5, 5, 3])],
      (m, [x]) => (m as Conv2d).forward(x as tf.Tensor4D),
    ],
    ['GroupNorm', () => new GroupNorm(2, 4), () => [x4([2, 3, 3, 4])], (m, [x]) => (m as GroupNorm).forward(x!)],
    [
      'ConvResBlock add',
      () => new ConvResBlock(4, 8, { groups: 2, condDim: 3 }),
      () => [x4([2, 4, 4, 4]), rand([2, 3])],
      (m, [x, c]) => (m as ConvResBlock).forward(x as tf.Tensor4D, c as tf.Tensor2D),
    ],
    [
      'ConvResBlock scale_shift',
      () => new ConvResBlock(4, 4, { groups: 2, condDim: 3, condMode: 'scale_shift' }),
      () => [x4([2, 4, 4, 4]), rand([2, 3])],
      (m, [x, c]) => (m as ConvResBlock).forward(x as tf.Tensor4D, c as tf.Tensor2D),
    ],
    [
      'Downsample',
      () => new Downsample(3),
      () => [x4([1, 6, 6, 3])],
      (m, [x]) => (m as Downsample).forward(x as tf.Tensor4D),
    ],
    [
      'Upsample',
      () => new Upsample(3),
      () => [x4([1, 3, 3, 3])],
      (m, [x]) => (m as Upsample).forward(x as tf.Tensor4D),
    ],
    [
      'TimeEmbedding',
      () => new TimeEmbedding(8, 6),
      () => [tf.tensor1d([0.1, 0.7])],
      (m, [t]) => (m as TimeEmbedding).forward(t as tf.Tensor1D),
    ],
  ];

  it.each(cases)('%s', (_name, make, inputs, run) => {
    const block = make();
    const xs = inputs();
    const probe = rand(run(block, xs).shape, 7);
    const f = (...args: tf.Tensor[]) => tf.sum(tf.mul(run(block, args), probe));
    const dxs = tf.grads(f)(xs);
    const { value, grads } = tf.variableGrads(() => f(...xs) as tf.Scalar);
    for (const [i, g] of dxs.entries()) {
      expect(g.shape).toEqual(xs[i]!.shape);
      expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
    }
    for (const [name, v] of block.namedParameters()) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(g!.shape).toEqual(v.shape);
      expect(tf.any(tf.notEqual(g!, 0)).dataSync()[0], `${name} gradient is all zero`).toBe(1);
    }
    tf.dispose([...xs, probe, ...dxs, value, ...Object.values(grads)]);
    block.dispose();
  });

  it('ClassEmbedding (one-hot matmul: no gather gradient needed)', () => {
    const ce = new ClassEmbedding(5, 3, { nullClass: true });
    const labels = tf.tensor1d([0, 5, 2, 2], 'int32');
    const { value, grads } = tf.variableGrads(() => tf.sum(ce.forward(labels)) as tf.Scalar);
    // d(sum)/dW[r] = (count of r in labels) · 1.
    expectTensorClose(grads[ce.weight.name]!, [
      [1, 1, 1],
      [0, 0, 0],
      [2, 2, 2],
      [0, 0, 0],
      [0, 0, 0],
      [1, 1, 1],
    ]);
    tf.dispose([labels, value, ...Object.values(grads)]);
    ce.dispose();
  });
});
