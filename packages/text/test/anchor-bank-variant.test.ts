// The AnchorBank-anchored CaptionEncoder (spec §6): forward = concat(student embedding, bank feature), the bank's
// parameters under `bank.` in the state dict, the exact parameter count at the card config, encoder-only weight
// files (the PyTorch-written fixtures) still loading, and the bank's losses training through the exposed bank.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { AnchorBank } from '@geolip/anchors';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { entryToTensor, readSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import {
  CAPTION_BERT_BANK_CONFIG,
  CAPTION_BERT_CONFIG,
  CaptionEncoder,
  loadBertUncasedTokenizer,
  toTensors,
} from '../src/index.js';
import type { CaptionEncoderConfig } from '../src/index.js';

const dir = join(__dirname, 'fixtures');
const io = readSafetensors(readFileSync(join(dir, 'caption-io.safetensors')), { copy: true });
/** The fixture's config (written by PyTorch 2.11): vocab 100, d 32, 4 heads, 2 layers, outDim 48; 23,568 params. */
const small: CaptionEncoderConfig = JSON.parse(io.metadata.config!);
const smallBank = { bankDim: 8, experts: 2, anchors: 6 };

function inputs(): { ids: tf.Tensor2D; mask: tf.Tensor } {
  return { ids: entryToTensor(io.tensors.ids!) as tf.Tensor2D, mask: entryToTensor(io.tensors.mask!) };
}

function rowNorms(t: tf.Tensor2D): number[] {
  const [rows, cols] = t.shape;
  const d = t.dataSync();
  return Array.from({ length: rows }, (_, r) => Math.hypot(...Array.from(d.subarray(r * cols, (r + 1) * cols))));
}

// The card-size README example builds a 26M-parameter model (slow random init); its counts and shapes are the same on
// every backend, so it runs once, on the cpu project. The small cases below run on both.
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

describe('CaptionEncoder with anchorBank', () => {
  it.skipIf(ONCE)(
    'README example at the card config: 25,958,016 + 245,888 (bank) = 26,203,904 parameters, [2, 896] out',
    async () => {
      // Bank (AnchorBank layout, feature 'projection'): inputDim·D + D + E·D² + K·D
      //   = 768·128 + 128 + 5·128² + 512·128 = 98,304 + 128 + 81,920 + 65,536 = 245,888.
      const model = new CaptionEncoder({ ...CAPTION_BERT_CONFIG, anchorBank: CAPTION_BERT_BANK_CONFIG });
      expect(model.paramCount()).toBe(26_203_904);
      expect(model.anchorBank!.paramCount()).toBe(245_888);
      expect(model.outputDim).toBe(896);
      const names = Object.keys(model.getWeights()).filter((k) => k.startsWith('bank.'));
      expect(names).toEqual([
        'bank.projection.weight',
        'bank.projection.bias',
        'bank.rotations.0',
        'bank.rotations.1',
        'bank.rotations.2',
        'bank.rotations.3',
        'bank.rotations.4',
        'bank.anchors',
      ]);
      const tok = await loadBertUncasedTokenizer();
      const { inputIds, attentionMask } = toTensors(tok.encodeBatch(['a dog runs on the beach', 'a cat sleeps']));
      const out = model.forward(inputIds, attentionMask);
      expect(out.shape).toEqual([2, 896]);
      const s = model.embed(inputIds, attentionMask);
      expect(s.shape).toEqual([2, 768]);
      const bank = model.anchorBank!;
      const expertTargets = Array.from(
        { length: 5 },
        (_, e) => tf.randomNormal([2, 128], 0, 1, 'float32', e) as tf.Tensor2D,
      );
      const losses = bank.losses(s, expertTargets);
      expect(Number.isFinite(losses.total.dataSync()[0]!)).toBe(true);
      tf.dispose([out, s, inputIds, attentionMask, ...expertTargets, losses]);
      model.dispose();
      // feature 'triangulation' adds a Linear(K → D): 512·128 + 128 = 65,664 → 26,269,568 (computed, not built).
      expect(25_958_016 + 245_888 + 512 * 128 + 128).toBe(26_269_568);
    },
  );

  it('is off by default: same outputs, parameters and names as before', () => {
    const plain = new CaptionEncoder(small, { seed: 7 });
    const off = new CaptionEncoder({ ...small, anchorBank: false }, { seed: 7 });
    expect(plain.anchorBank).toBeNull();
    expect(plain.outputDim).toBe(48);
    expect(plain.paramCount()).toBe(23_568);
    expect(off.paramCount()).toBe(23_568);
    expect(Object.keys(plain.getWeights()).some((k) => k.startsWith('bank.'))).toBe(false);
    const { ids, mask } = inputs();
    const a = plain.forward(ids, mask);
    const b = off.forward(ids, mask);
    const e = plain.embed(ids, mask);
    expect(a.shape).toEqual([2, 48]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(e.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, e, ids, mask]);
    plain.dispose();
    off.dispose();
  });

  it('forward = concat(student embedding, bank feature) → [B, outDim + bankDim]', () => {
    const plain = new CaptionEncoder(small, { seed: 3 });
    const m = new CaptionEncoder({ ...small, anchorBank: smallBank }, { seed: 3 });
    // 23,568 + 48·8 + 8 + 2·8² + 6·8 = 23,568 + 568
    expect(m.paramCount()).toBe(24_136);
    expect(m.outputDim).toBe(56);
    const bank = m.anchorBank!;
    expect(bank).toBeInstanceOf(AnchorBank);
    expect(bank.config.inputDim).toBe(48);
    expect(bank.config.seed).toBe(6); // the encoder's seed + 3
    const { ids, mask } = inputs();
    const out = m.forward(ids, mask);
    expect(out.shape).toEqual([2, 56]);
    const s = m.embed(ids, mask);
    const ref = plain.forward(ids, mask); // the encoder's weights do not depend on the bank
    expect(Array.from(s.dataSync())).toEqual(Array.from(ref.dataSync()));
    const left = tf.slice(out, [0, 0], [2, 48]) as tf.Tensor2D;
    const right = tf.slice(out, [0, 48], [2, 8]) as tf.Tensor2D;
    expect(Array.from(left.dataSync())).toEqual(Array.from(s.dataSync()));
    const applied = bank.apply(s);
    const feature = applied.feature.dataSync();
    right.dataSync().forEach((v, i) => expect(Math.abs(v - feature[i]!)).toBeLessThan(1e-6));
    for (const n of rowNorms(right)) expect(n).toBeCloseTo(1, 5); // z on S^{D−1}
    for (const n of rowNorms(out)) expect(n).toBeCloseTo(Math.SQRT2, 5);
    tf.dispose([out, s, ref, left, right, applied, ids, mask]);
    plain.dispose();
    m.dispose();
  });

  it('puts the bank under `bank.` in the state dict (PyTorch layout) and round-trips it', () => {
    const a = new CaptionEncoder({ ...small, anchorBank: smallBank }, { seed: 1 });
    const sd = a.stateDict();
    expect(sd['bank.projection.weight']!.shape).toEqual([8, 48]);
    expect(sd['bank.projection.bias']!.shape).toEqual([8]);
    expect(sd['bank.rotations.1']!.shape).toEqual([8, 8]);
    expect(sd['bank.anchors']!.shape).toEqual([6, 8]);
    // Identity rotations at init, as AnchorBank documents.
    const eye = tf.eye(8);
    expect(Array.from(sd['bank.rotations.0']!.dataSync())).toEqual(Array.from(eye.dataSync()));
    eye.dispose();
    const b = new CaptionEncoder({ ...small, anchorBank: { ...smallBank, seed: 99 } }, { seed: 2 });
    b.loadStateDict(sd);
    tf.dispose(Object.values(sd));
    const { ids, mask } = inputs();
    const ya = a.forward(ids, mask);
    const yb = b.forward(ids, mask);
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    tf.dispose([ya, yb, ids, mask]);
    a.dispose();
    b.dispose();
  });

  for (const file of ['caption.pt', 'caption.safetensors']) {
    it(`loads the encoder-only ${file} (written by PyTorch): student part reproduces PyTorch to 1e-5, bank kept`, async () => {
      const m = await CaptionEncoder.fromPretrained(join(dir, file), { ...small, anchorBank: smallBank });
      const fresh = new AnchorBank({ ...smallBank, inputDim: 48, seed: 3 }); // the bank's init at encoder seed 0
      const anchorsBefore = Array.from(fresh.getWeights().anchors!.dataSync());
      fresh.dispose();
      expect(Array.from(m.anchorBank!.getWeights().anchors!.dataSync())).toEqual(anchorsBefore);
      const { ids, mask } = inputs();
      const out = m.forward(ids, mask);
      expect(out.shape).toEqual([2, 56]);
      const student = tf.slice(out, [0, 0], [2, 48]);
      const got = student.dataSync();
      const expected = io.tensors.expected!.data as Float32Array;
      for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-5);
      tf.dispose([out, student, ids, mask]);
      m.dispose();
    });
  }

  it('refuses a file with only part of the bank, naming the missing key', () => {
    const a = new CaptionEncoder({ ...small, anchorBank: smallBank });
    const sd = a.stateDict();
    const anchors = sd['bank.anchors']!;
    delete sd['bank.anchors'];
    const b = new CaptionEncoder({ ...small, anchorBank: smallBank });
    expect(() => b.loadStateDict(sd)).toThrow(/has no key 'bank\.anchors'/);
    tf.dispose([...Object.values(sd), anchors]);
    a.dispose();
    b.dispose();
  });

  it('the exposed bank trains through its losses (gradients reach the bank variables)', () => {
    const m = new CaptionEncoder({ ...small, anchorBank: smallBank });
    const bank = m.anchorBank!;
    const { ids, mask } = inputs();
    const s = m.embed(ids, mask);
    const targets = [
      tf.randomNormal([2, 8], 0, 1, 'float32', 1),
      tf.randomNormal([2, 8], 0, 1, 'float32', 2),
    ] as tf.Tensor2D[];
    const vars = bank.trainableVariables;
    const weights = m.getWeights();
    for (const v of vars) expect(Object.values(weights)).toContain(v); // the same variables, not copies
    const { value, grads } = tf.variableGrads(() => bank.losses(s, targets, { cv: 0 }).total, vars);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    expect(Object.keys(grads).length).toBe(vars.length);
    const g = grads[weights['bank.projection.weight']!.name]!;
    expect(Math.max(...Array.from(g.dataSync()).map(Math.abs))).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads), s, ...targets, ids, mask]);
    m.dispose();
  });

  it('dispose frees every variable, the bank included, once', () => {
    const before = tf.memory().numTensors;
    const m = new CaptionEncoder({ ...small, anchorBank: smallBank });
    const bank = m.anchorBank!;
    m.dispose();
    expect(bank.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => m.dispose()).not.toThrow();
    // The bank is itself an nn Module (no adapter): the same count, dispose and isDisposed.
    const alone = new AnchorBank({ inputDim: 4, bankDim: 2, experts: 1, anchors: 3 });
    expect(alone.paramCount()).toBe(4 * 2 + 2 + 4 + 3 * 2);
    alone.dispose();
    expect(alone.isDisposed).toBe(true);
    expect(alone.paramCount()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a bad anchorBank config without leaking', () => {
    const before = tf.memory().numTensors;
    expect(() => new CaptionEncoder({ ...small, anchorBank: { ...smallBank, inputDim: 32 } })).toThrow(
      /CaptionEncoder: 'config.anchorBank.inputDim' must equal config.outDim \(48\)/,
    );
    expect(() => new CaptionEncoder({ ...small, anchorBank: 'yes' as never })).toThrow(InvalidArgumentError);
    expect(() => new CaptionEncoder({ ...small, anchorBank: null as never })).toThrow(
      /'config.anchorBank' must be an AnchorBank config object or false/,
    );
    expect(() => new CaptionEncoder({ ...small, anchorBank: { bankDim: 0 } })).toThrow(/AnchorBank: 'bankDim'/);
    expect(tf.memory().numTensors).toBe(before);
    const m = new CaptionEncoder({ ...small, anchorBank: smallBank });
    expect(() => m.loadWeights(new Uint8Array([1]))).toThrow(FormatError);
    m.dispose();
  });
});
