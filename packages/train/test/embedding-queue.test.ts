import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { EmbeddingQueue } from '../src/embedding-queue.js';

describe('EmbeddingQueue', () => {
  it('doc example', () => {
    const q = new EmbeddingQueue({ capacity: 2, dims: [1] });
    q.push([[1, 2, 3]], [7, 8, 9]);
    expect(Array.from(q.parts(0))).toEqual([2, 3]);
  });

  it('is empty when made (step 0)', () => {
    const q = new EmbeddingQueue({ capacity: 4, dims: [2, 3] });
    expect(q.size).toBe(0);
    expect(q.fill).toBe(0);
    expect(q.pushed).toBe(0);
    expect(q.parts(0).length).toBe(0);
    expect(q.parts(1).length).toBe(0);
    expect(q.labels().length).toBe(0);
  });

  it('keeps rows first in, first out across the ring wrap, every part in step with its label', () => {
    const q = new EmbeddingQueue({ capacity: 5, dims: [2, 1] });
    // Row r: part 0 = [r, -r], part 1 = [10 r], label r.
    const batch = (from: number, b: number) => {
      const rows = Array.from({ length: b }, (_, i) => from + i);
      return [[rows.flatMap((r) => [r, -r]), rows.map((r) => 10 * r)], rows] as const;
    };
    for (const [from, b] of [
      [0, 3],
      [3, 3],
      [6, 2],
    ] as const) {
      const [parts, labels] = batch(from, b);
      q.push(parts, labels);
    }
    // 8 rows pushed into 5 slots: rows 3..7 remain, oldest first.
    expect(q.size).toBe(5);
    expect(q.fill).toBe(1);
    expect(q.pushed).toBe(8);
    expect(Array.from(q.labels())).toEqual([3, 4, 5, 6, 7]);
    expect(Array.from(q.parts(0))).toEqual([3, -3, 4, -4, 5, -5, 6, -6, 7, -7]);
    expect(Array.from(q.parts(1))).toEqual([30, 40, 50, 60, 70]);
    // gather reads FIFO positions across the wrap.
    expect(Array.from(q.gather(0, [4, 0]))).toEqual([7, -7, 3, -3]);
    expect(() => q.gather(0, [5])).toThrow(/EmbeddingQueue\.gather: 'rows'/);
    // A push larger than the capacity keeps its last rows.
    const [parts, labels] = batch(100, 7);
    q.push(parts, labels);
    expect(Array.from(q.labels())).toEqual([102, 103, 104, 105, 106]);
  });

  it('stores float32 copies: changing the source afterwards changes nothing', () => {
    const q = new EmbeddingQueue({ capacity: 3, dims: [2] });
    const src = new Float32Array([0.1, 0.2]);
    q.push([src], [1]);
    src[0] = 9;
    expect(Array.from(q.parts(0))).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });

  it('resumes bit for bit from a JSON round trip of its state, and continues identically', () => {
    const a = new EmbeddingQueue({ capacity: 6, dims: [3, 2] });
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const push = (qs: EmbeddingQueue[], b: number) => {
      const p0 = Float32Array.from({ length: 3 * b }, rand);
      const p1 = Float32Array.from({ length: 2 * b }, rand);
      const y = Array.from({ length: b }, (_, i) => i % 3);
      for (const q of qs) q.push([p0, p1], y);
    };
    push([a], 4);
    push([a], 4); // wrapped
    const b = EmbeddingQueue.fromState(JSON.parse(JSON.stringify(a.state())));
    const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer.slice(0)));
    for (const e of [0, 1]) expect(bits(b.parts(e))).toEqual(bits(a.parts(e)));
    expect(Array.from(b.labels())).toEqual(Array.from(a.labels()));
    expect(b.pushed).toBe(8);
    push([a, b], 3);
    for (const e of [0, 1]) expect(bits(b.parts(e))).toEqual(bits(a.parts(e)));
    expect(b.state()).toEqual(a.state());
    // NaN payloads, −0 and subnormals survive the base64 state too.
    const odd = new EmbeddingQueue({ capacity: 4, dims: [1] });
    const raw = new Float32Array(new Uint32Array([0x7fc00001, 0x80000000, 0x00000001, 0x3f800000]).buffer);
    odd.push([raw], [0, 1, 2, 3]);
    expect(bits(EmbeddingQueue.fromState(JSON.parse(JSON.stringify(odd.state()))).parts(0))).toEqual(bits(raw));
  });

  it('rejects bad options, batches and states by name', () => {
    expect(() => new EmbeddingQueue({ capacity: 0, dims: [2] })).toThrow(/EmbeddingQueue: 'capacity'/);
    expect(() => new EmbeddingQueue({ capacity: 2, dims: [] })).toThrow(InvalidArgumentError);
    const q = new EmbeddingQueue({ capacity: 2, dims: [2] });
    expect(() => q.push([[1, 2, 3]], [0, 1])).toThrow(ShapeError);
    expect(() => q.push([[1, 2, 3]], [0, 1])).toThrow(/EmbeddingQueue\.push: 'parts\[0\]'/);
    expect(() => q.push([[1, 2]], [0.5])).toThrow(/'labels'/);
    expect(() => EmbeddingQueue.fromState({ ...q.state(), labels: [1] })).toThrow(/'state\.parts\[0\]'/);
    expect(() => EmbeddingQueue.fromState({ ...q.state(), parts: ['%%'] })).toThrow(/'state\.parts\[0\]'/);
  });
});
