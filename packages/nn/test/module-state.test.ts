// Module: a child whose stored layout differs from PyTorch's (stacked over items) under a parent, buffers
// (persistent, non-persistent, optional), dotted parameter names, Container, atomic loads, memory.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { FormatError, InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { Container, Linear, Module } from '../src/index.js';
import type { StateDict, StateDictKey } from '../src/index.js';

/** Stores `n` Linear(in → out) weights stacked as one `[n, out, in]` variable; PyTorch has `items.{k}.weight`. */
class Stacked extends Module {
  readonly weight: tf.Variable;
  constructor(
    readonly n: number,
    readonly inDim: number,
    readonly outDim: number,
  ) {
    super();
    const data = Float32Array.from({ length: n * outDim * inDim }, (_, i) => i / 10);
    this.weight = this.addParameter('stacked_weight', tf.tensor3d(data, [n, outDim, inDim]));
  }
  protected override ownStateKeys(): StateDictKey[] {
    return Array.from({ length: this.n }, (_, k) => ({
      name: `items.${k}.weight`,
      shape: [this.outDim, this.inDim],
      optional: false,
    }));
  }
  protected override ownStateDict(): StateDict {
    return tf.tidy(() => {
      const out: StateDict = {};
      tf.unstack(this.weight).forEach((t, k) => (out[`items.${k}.weight`] = t));
      return out;
    });
  }
  protected override loadOwnState(dict: Record<string, tf.Tensor>): void {
    tf.tidy(() =>
      this.weight.assign(
        tf.stack(Array.from({ length: this.n }, (_, k) => tf.cast(dict[`items.${k}.weight`]!, 'float32'))),
      ),
    );
  }
}

/** A parent: a Linear, the stacked child, a persistent and a non-persistent buffer, an optional buffer. */
class Parent extends Module {
  readonly fc: Linear;
  readonly stacked: Stacked;
  constructor() {
    super();
    this.addParameter('scale', tf.ones([2]));
    this.addBuffer('running', tf.zeros([2]));
    this.addBuffer('cache', tf.ones([3]), { persistent: false });
    this.addBuffer('home', null, { optional: true, shape: [2, 2] });
    this.fc = this.addModule('fc', new Linear(2, 3, { seed: 1 }));
    this.stacked = this.addModule('stacked', new Stacked(3, 2, 2));
  }
  snapshot(): void {
    this.setBuffer('home', tf.eye(2));
  }
  get home(): tf.Tensor | null {
    return this.getBuffer('home');
  }
}

const WITH_HOME = [
  'scale',
  'running',
  'home',
  'fc.weight',
  'fc.bias',
  'stacked.items.0.weight',
  'stacked.items.1.weight',
  'stacked.items.2.weight',
];
const NAMES = [
  'scale',
  'running',
  'fc.weight',
  'fc.bias',
  'stacked.items.0.weight',
  'stacked.items.1.weight',
  'stacked.items.2.weight',
];

describe('Module: a child with its own state layout', () => {
  it('contributes PyTorch names to the parent stateDict; getWeights keeps the stored variables', () => {
    const before = tf.memory().numTensors;
    const m = new Parent();
    expect(Object.keys(m.getWeights())).toEqual(['scale', 'fc.weight', 'fc.bias', 'stacked.stacked_weight']);
    expect(m.paramCount()).toBe(2 + 6 + 3 + 12);
    expect(m.stateDictKeys().map((k) => k.name)).toEqual(WITH_HOME);
    expect(m.stateDictKeys().find((k) => k.name === 'home')).toEqual({ name: 'home', shape: [2, 2], optional: true });
    const sd = m.stateDict();
    expect(Object.keys(sd)).toEqual(NAMES);
    expect(sd['stacked.items.1.weight']!.shape).toEqual([2, 2]);
    expect(Array.from(sd['stacked.items.1.weight']!.dataSync())).toEqual(
      [0.4, 0.5, 0.6, 0.7].map((v) => Math.fround(v)),
    );
    expect(sd['fc.weight']!.shape).toEqual([3, 2]); // PyTorch [out, in]
    tf.dispose(Object.values(sd));
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('round trips through loadStateDict, and copies rather than keeps the caller tensors', () => {
    const a = new Parent();
    const b = new Parent();
    a.snapshot();
    const sd = tf.tidy(() => {
      const raw = a.stateDict();
      return Object.fromEntries(Object.entries(raw).map(([k, t]) => [k, tf.add(t, 1)]));
    });
    sd.home = tf.tidy(() => tf.mul(tf.eye(2), 3));
    b.loadStateDict(sd);
    const back = b.stateDict();
    expect(Object.keys(back)).toEqual(WITH_HOME);
    for (const k of Object.keys(sd)) expect(Array.from(back[k]!.dataSync())).toEqual(Array.from(sd[k]!.dataSync()));
    tf.dispose(Object.values(sd));
    expect(Array.from(b.home!.dataSync())).toEqual([3, 0, 0, 3]);
    tf.dispose(Object.values(back));
    a.dispose();
    b.dispose();
  });

  it('fails atomically: a bad key anywhere leaves every weight and buffer unchanged, and leaks nothing', () => {
    const m = new Parent();
    const good = m.stateDict();
    const read = () => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]));
    const original = tf.tidy(() => read());
    const changed = tf.tidy(() => Object.fromEntries(Object.entries(good).map(([k, t]) => [k, tf.keep(tf.add(t, 5))])));
    const before = tf.memory().numTensors;
    const { ['stacked.items.2.weight']: _gone, ...missing } = changed;
    expect(() => m.loadStateDict(missing)).toThrow(FormatError);
    expect(() => m.loadStateDict(missing)).toThrow(/Parent.loadStateDict: 'dict' has no key 'stacked.items.2.weight'/);
    const wrong = tf.zeros([2, 3]);
    expect(() => m.loadStateDict({ ...changed, 'stacked.items.1.weight': wrong })).toThrow(ShapeError);
    const extra = tf.zeros([1]);
    expect(() => m.loadStateDict({ ...changed, extra })).toThrow(/unexpected key 'extra'/);
    expect(() => m.loadStateDict({ ...changed, home: tf.keep(tf.zeros([3, 3])) })).toThrow(
      /'dict\['home'\]' must have shape \[2, 2\]/,
    );
    expect(() => m.loadStateDict(null as never)).toThrow(InvalidArgumentError);
    expect(tf.memory().numTensors).toBe(before + 3); // wrong, extra and the bad home: the caller's
    expect(tf.tidy(() => read())).toEqual(original);
    expect(m.home).toBeNull();
    m.loadStateDict({ ...changed, extra }, { strict: false });
    expect(tf.tidy(() => read())['stacked.items.0.weight']).toEqual(
      original['stacked.items.0.weight']!.map((v) => Math.fround(v + 5)),
    );
    tf.dispose([wrong, extra, ...Object.values(good), ...Object.values(changed)]);
    m.dispose();
  });

  it('buffers: not parameters, disposed with the module; setBuffer replaces and frees; dispose is recursive and idempotent', () => {
    const before = tf.memory().numTensors;
    const m = new Parent();
    expect(tf.memory().numTensors).toBe(before + 2 + 2 + 1 + 1);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['running', 'cache']);
    m.snapshot();
    m.snapshot();
    expect(tf.memory().numTensors).toBe(before + 7);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['running', 'cache', 'home']);
    expect(m.trainableVariables).toHaveLength(4);
    m.dispose();
    m.dispose();
    expect(m.isDisposed).toBe(true);
    expect(m.fc.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => m.stateDict()).toThrow(/disposed/);
  });

  it('accepts dotted parameter names and refuses names that clash', () => {
    class Flat extends Module {
      constructor() {
        super();
        this.addParameter('projection.weight', tf.zeros([2, 2]));
        this.addParameter('rotations.0', tf.eye(2));
        this.addParameter('anchors', tf.ones([3, 2]));
      }
      tryParam(name: string) {
        this.addParameter(name, tf.zeros([1]));
      }
      tryModule(name: string) {
        this.addModule(name, new Container());
      }
    }
    const f = new Flat();
    expect(Object.keys(f.getWeights())).toEqual(['projection.weight', 'rotations.0', 'anchors']);
    for (const bad of ['projection', 'projection.weight', 'anchors.x', 'a..b', '.a', 'a-b']) {
      expect(() => f.tryParam(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => f.tryModule('rotations')).toThrow(/'rotations' is not a fresh identifier/);
    f.dispose();
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });

  it('Container names children as its owner chooses', () => {
    const c = new Container();
    c.add('0', new Linear(2, 2, { seed: 0 }));
    c.add('2', new Linear(2, 1, { seed: 1 }));
    expect(Object.keys(c.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(() => c.add('2', new Container())).toThrow(InvalidArgumentError);
    c.dispose();
  });
});
