// Constellation, Patchwork and AnchorBank as @geolip/nn Modules: getWeights is live, stateDict copies,
// loadStateDict is atomic, paramCount is nn's, and they nest in a parent model with PyTorch names.
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, ShapeError } from '@geolip/geometry';
import { Module } from '@geolip/nn';
import { describe, expect, it } from 'vitest';

import { AnchorBank } from '../src/anchor-bank.js';
import { Constellation } from '../src/constellation.js';
import { Patchwork } from '../src/patchwork.js';

/** A model that holds the anchors objects directly as child modules. */
class Model extends Module {
  readonly constellation: Constellation;
  readonly patchwork: Patchwork;
  readonly bank: AnchorBank;
  constructor() {
    super();
    this.constellation = this.addModule('constellation', new Constellation({ anchors: 8, dim: 4, init: 'xavier' }));
    this.patchwork = this.addModule(
      'patchwork',
      new Patchwork({ anchors: 8, compartments: 2, compartmentDim: 3, activation: 'star-relu', seed: 1 }),
    );
    this.bank = this.addModule('bank', new AnchorBank({ inputDim: 6, bankDim: 4, experts: 2, anchors: 5 }));
  }
}

const values = (m: Module) =>
  tf.tidy(() => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())])));

describe('anchors objects are nn Modules', () => {
  it('are instances of Module; paramCount is the documented count (84,480 for the README pair)', () => {
    const c = new Constellation({ anchors: 64, dim: 128, init: 'xavier' });
    const p = new Patchwork({ anchors: 64, compartments: 8, compartmentDim: 64 });
    const b = new AnchorBank();
    for (const m of [c, p, b]) expect(m).toBeInstanceOf(Module);
    expect(c.paramCount()).toBe(8192);
    expect(c.paramCount() + p.paramCount()).toBe(84_480);
    expect(b.paramCount()).toBe(245_888);
    for (const m of [c, p, b]) m.dispose();
  });

  it('getWeights returns the live variables: assigning through them changes the model', () => {
    const c = new Constellation({ anchors: 3, dim: 2, init: 'xavier' });
    const w = c.getWeights();
    expect(Object.keys(w)).toEqual(['anchors']);
    expect(w.anchors).toBe(c.anchors);
    w.anchors!.assign(
      tf.tensor2d([
        [1, 0],
        [0, 1],
        [-1, 0],
      ]),
    );
    expect(Array.from(c.triangulate(tf.tensor2d([[0, 2]])).dataSync())).toEqual([1, 0, 1]);

    const p = new Patchwork({ anchors: 4, compartments: 2, compartmentDim: 2, activation: 'star-relu' });
    expect(Object.keys(p.getWeights())).toEqual([
      'stacked.0.weight',
      'stacked.0.bias',
      'stacked.2.weight',
      'stacked.2.bias',
      'stacked.3.weight',
      'stacked.3.bias',
      'stacked.1.scale',
      'stacked.1.bias',
    ]);
    const before = p.apply(tf.ones([1, 4]) as tf.Tensor2D).arraySync();
    p.getWeights()['stacked.3.bias']!.assign(tf.fill([2, 2], 7));
    expect(p.apply(tf.ones([1, 4]) as tf.Tensor2D).arraySync()).not.toEqual(before);
    expect(Array.from(p.stateDict()['compartments.1.3.bias']!.dataSync())).toEqual([7, 7]);

    const b = new AnchorBank({ inputDim: 3, bankDim: 2, experts: 1, anchors: 2 });
    b.getWeights().anchors!.assign(
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
    );
    expect(b.stateDict().anchors!.arraySync()).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(b.trainableVariables[3]).toBe(b.getWeights().anchors);
    for (const m of [c, p, b]) m.dispose();
  });

  it('nest in a parent model under PyTorch names, round trip, and load atomically without leaks', () => {
    const start = tf.memory().numTensors;
    const a = new Model();
    const b = new Model();
    a.constellation.saveHome();
    const sd = a.stateDict();
    expect(Object.keys(sd).filter((k) => k.startsWith('constellation.'))).toEqual([
      'constellation.anchors',
      'constellation.home',
    ]);
    expect(Object.keys(sd).filter((k) => k.startsWith('patchwork.compartments.1.'))).toEqual([
      'patchwork.compartments.1.0.weight',
      'patchwork.compartments.1.0.bias',
      'patchwork.compartments.1.1.scale',
      'patchwork.compartments.1.1.bias',
      'patchwork.compartments.1.2.weight',
      'patchwork.compartments.1.2.bias',
      'patchwork.compartments.1.3.weight',
      'patchwork.compartments.1.3.bias',
    ]);
    expect(Object.keys(sd).filter((k) => k.startsWith('bank.'))).toEqual([
      'bank.projection.weight',
      'bank.projection.bias',
      'bank.rotations.0',
      'bank.rotations.1',
      'bank.anchors',
    ]);
    expect(Object.keys(a.getWeights()).filter((k) => k.startsWith('patchwork.'))).toHaveLength(8);

    const original = values(b);
    const mark = tf.memory().numTensors;
    const { ['patchwork.compartments.1.2.bias']: _gone, ...missing } = sd;
    expect(() => b.loadStateDict(missing)).toThrow(FormatError);
    const bad = tf.zeros([3, 3]);
    expect(() => b.loadStateDict({ ...sd, 'bank.anchors': bad })).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(mark + 1);
    expect(values(b)).toEqual(original);
    expect(b.constellation.home).toBeNull();

    b.loadStateDict(sd);
    expect(values(b)).toEqual(values(a));
    expect(b.constellation.home).not.toBeNull();
    const x = tf.tensor2d([[0.3, -1, 2, 0.5]]);
    const run = (m: Model) => tf.tidy(() => Array.from(m.patchwork.apply(m.constellation.triangulate(x)).dataSync()));
    expect(run(b)).toEqual(run(a));
    tf.dispose([bad, x, ...Object.values(sd)]);
    a.dispose();
    b.dispose();
    expect(a.constellation.isDisposed && a.patchwork.isDisposed && a.bank.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(start);
  });
});
