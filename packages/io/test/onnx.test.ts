// The ONNX writer against hand-derived protobuf bytes, and the structure of a whole model read back by a minimal
// protobuf decoder written here (varint and length-delimited fields only, as the writer emits).
import { describe, expect, it } from 'vitest';

import {
  ONNX_DTYPE,
  OnnxGraphBuilder,
  encodeVarint,
  field,
  modelProto,
  quantizeInt8Symmetric,
  tensorProto,
} from '../src/index.js';

type Field = { n: number; wire: number; value: bigint | Uint8Array };

/** Decodes one message's fields (wire types 0, 2 and 5). */
function decode(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const k = Number(varint());
    const n = k >> 3;
    const wire = k & 7;
    if (wire === 0) out.push({ n, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ n, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 5) {
      out.push({ n, wire, value: buf.subarray(i, i + 4) });
      i += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}
const str = (f: Field | undefined): string => new TextDecoder().decode(f!.value as Uint8Array);
const all = (fs: Field[], n: number): Field[] => fs.filter((f) => f.n === n);
const one = (fs: Field[], n: number): Field => {
  const x = all(fs, n);
  expect(x).toHaveLength(1);
  return x[0]!;
};

describe('protobuf encoding', () => {
  it('varints: hand-derived bytes, negative int64 as ten bytes of two’s complement', () => {
    expect([...encodeVarint(0)]).toEqual([0]);
    expect([...encodeVarint(127)]).toEqual([0x7f]);
    expect([...encodeVarint(128)]).toEqual([0x80, 0x01]);
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(-1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(() => encodeVarint(0.5)).toThrow("encodeVarint: 'value' must be a safe integer, got 0.5");
  });

  it('fields: key = field << 3 | wire type; floats little-endian fixed32', () => {
    expect([...field.int(1, 8)]).toEqual([0x08, 0x08]);
    expect([...field.str(2, 'ab')]).toEqual([0x12, 0x02, 0x61, 0x62]);
    expect([...field.float(2, 1.5)]).toEqual([0x15, 0x00, 0x00, 0xc0, 0x3f]);
  });

  it('TensorProto: dims, data_type, name, raw_data', () => {
    const t = tensorProto('t', ONNX_DTYPE.FLOAT, [2], Float32Array.of(1, -2));
    expect([...t]).toEqual([
      0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x74, 0x4a, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
    ]);
    expect(() => tensorProto('t', ONNX_DTYPE.FLOAT, [3], Float32Array.of(1))).toThrow(
      "tensorProto: 'data' has 1 elements but dims [3] hold 3 (tensor 't')",
    );
  });
});

describe('OnnxGraphBuilder', () => {
  it('encodes a model whose structure reads back: opset, graph, nodes in order, initializers, metadata', () => {
    const g = new OnnxGraphBuilder();
    const w = g.weight('w', [2, 2], Float32Array.of(1, 2, 3, 4));
    const y = g.op('MatMul', ['x', w]);
    g.op('Add', [y, g.scalar(1)], [], { out: 'y' });
    const bytes = g.encode(
      {
        name: 'tiny',
        inputs: [{ name: 'x', dtype: ONNX_DTYPE.FLOAT, dims: ['batch', 2] }],
        outputs: [{ name: 'y', dtype: ONNX_DTYPE.FLOAT, dims: ['batch', 2] }],
      },
      { metadata: { 'geolip.type': 'test/tiny' } },
    );
    const model = decode(bytes);
    expect(one(model, 1).value).toBe(8n); // ir_version
    expect(str(one(model, 2))).toBe('geolip');
    const opset = decode(one(model, 8).value as Uint8Array);
    expect(one(opset, 2).value).toBe(17n);
    const meta = decode(one(model, 14).value as Uint8Array);
    expect([str(one(meta, 1)), str(one(meta, 2))]).toEqual(['geolip.type', 'test/tiny']);
    const graph = decode(one(model, 7).value as Uint8Array);
    expect(str(one(graph, 2))).toBe('tiny');
    const nodes = all(graph, 1).map((f) => decode(f.value as Uint8Array));
    expect(nodes.map((n) => str(one(n, 4)))).toEqual(['MatMul', 'Add']);
    expect(all(nodes[1]!, 2).map(str)).toEqual(['y']);
    const inits = all(graph, 5).map((f) => decode(f.value as Uint8Array));
    expect(inits.map((t) => str(one(t, 8)))).toEqual(['w', expect.stringMatching(/^scalar_/)]);
    expect(all(inits[0]!, 1).map((d) => d.value)).toEqual([2n, 2n]);
    expect([...new Float32Array((one(inits[0]!, 9).value as Uint8Array).slice().buffer)]).toEqual([1, 2, 3, 4]);
    const input = decode(one(graph, 11).value as Uint8Array);
    expect(str(one(input, 1))).toBe('x');
    expect(g.initializerBytes).toBe(16 + 4);
  });

  it("weightType 'float16': float16 bits then a Cast to float32 under the weight's own name", () => {
    const g = new OnnxGraphBuilder({ weightType: 'float16' });
    expect(g.weight('w', [3], Float32Array.of(1, -2, 65504))).toBe('w');
    const graph = decode(one(decode(g.encode({ name: 'h', inputs: [], outputs: [] })), 7).value as Uint8Array);
    const init = decode(one(graph, 5).value as Uint8Array);
    expect(str(one(init, 8))).toBe('w_fp16');
    expect(one(init, 2).value).toBe(BigInt(ONNX_DTYPE.FLOAT16));
    // 1 = 0x3c00, -2 = 0xc000, 65504 = 0x7bff (little-endian)
    expect([...(one(init, 9).value as Uint8Array)]).toEqual([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]);
    const cast = decode(one(graph, 1).value as Uint8Array);
    expect([str(one(cast, 4)), str(one(cast, 1)), str(one(cast, 2))]).toEqual(['Cast', 'w_fp16', 'w']);
  });

  it('refuses non-finite weights, float16 overflow, duplicate names and unknown weight types, by name', () => {
    expect(() => new OnnxGraphBuilder().weight('a', [1], Float32Array.of(NaN))).toThrow(
      "OnnxGraphBuilder.weight: 'a' holds a non-finite value at index 0",
    );
    expect(() => new OnnxGraphBuilder({ weightType: 'float16' }).weight('b', [2], Float32Array.of(0, 7e4))).toThrow(
      "OnnxGraphBuilder.weight: 'b' holds 70000 at index 1, outside float16's ±65504",
    );
    const g = new OnnxGraphBuilder();
    g.weight('c', [1], Float32Array.of(1));
    expect(() => g.weight('c', [1], Float32Array.of(1))).toThrow(
      "OnnxGraphBuilder.initializer: 'name' 'c' is used twice",
    );
    expect(() => new OnnxGraphBuilder({ weightType: 'int4' as never })).toThrow(
      "OnnxGraphBuilder: 'options.weightType' must be 'float32', 'float16' or 'int8', got int4",
    );
    const q = new OnnxGraphBuilder({ weightType: 'int8' });
    expect(() => q.matmulWeight('m', [2, 2], Float32Array.of(1, 2, 3))).toThrow(
      "OnnxGraphBuilder.matmulWeight: 'm' must be a 2-D matrix, got dims [2, 2]",
    );
    expect(() => q.gatherWeight('e', [1, 2], Float32Array.of(1, Infinity), 'ids')).toThrow(
      "OnnxGraphBuilder.gatherWeight: 'e' holds a non-finite value at index 1",
    );
  });

  it('quantizeInt8Symmetric: max |w| / 127 per column or per row, round to nearest, all-zero slices scale 1', () => {
    // [[1, -0.5, 0], [-2, 0.25, 0]]: column maxima 2, 0.5, 0 → scales 2/127, 0.5/127, 1
    const w = Float32Array.of(1, -0.5, 0, -2, 0.25, 0);
    const cols = quantizeInt8Symmetric(w, 2, 3, 1);
    expect(Array.from(cols.scales)).toEqual([2 / 127, 0.5 / 127, 1].map(Math.fround));
    // 1 / (2/127) = 63.5 → 64 (Math.round: half up); -0.5 → -127; -2 → -127; 0.25 / (0.5/127) = 63.5 → 64
    expect(Array.from(cols.q)).toEqual([64, -127, 0, -127, 64, 0]);
    // row maxima 1 and 2
    const rows = quantizeInt8Symmetric(w, 2, 3, 0);
    expect(Array.from(rows.scales)).toEqual([1 / 127, 2 / 127].map(Math.fround));
    expect(Array.from(rows.q)).toEqual([127, -64, 0, -127, 16, 0]);
    // dequantised, every value is within half a step of the original
    for (let i = 0; i < 6; i++)
      expect(Math.abs(cols.q[i]! * cols.scales[i % 3]! - w[i]!)).toBeLessThanOrEqual(cols.scales[i % 3]! / 2);
  });

  it("weightType 'int8': a MatMul weight is int8 + per-column scales + DequantizeLinear (axis 1); other weights float32", () => {
    const g = new OnnxGraphBuilder({ weightType: 'int8' });
    expect(g.matmulWeight('w', [2, 3], Float32Array.of(1, -0.5, 0, -2, 0.25, 0))).toBe('w');
    expect(g.weight('b', [3], Float32Array.of(1, 2, 3))).toBe('b');
    g.gatherWeight('emb', [2, 3], Float32Array.of(1, -0.5, 0, -2, 0.25, 0), 'ids');
    const graph = decode(one(decode(g.encode({ name: 'q', inputs: [], outputs: [] })), 7).value as Uint8Array);
    const inits = all(graph, 5).map((f) => decode(f.value as Uint8Array));
    expect(inits.map((t) => [str(one(t, 8)), Number(one(t, 2).value)])).toEqual([
      ['w_int8', ONNX_DTYPE.INT8],
      ['w_scale', ONNX_DTYPE.FLOAT],
      ['w_zero_point', ONNX_DTYPE.INT8],
      ['b', ONNX_DTYPE.FLOAT],
      ['emb_int8', ONNX_DTYPE.INT8],
      ['emb_scale', ONNX_DTYPE.FLOAT],
    ]);
    expect([...new Int8Array((one(inits[0]!, 9).value as Uint8Array).slice().buffer)]).toEqual([
      64, -127, 0, -127, 64, 0,
    ]);
    const nodes = all(graph, 1).map((f) => decode(f.value as Uint8Array));
    expect(nodes.map((n) => str(one(n, 4)))).toEqual(['DequantizeLinear', 'Gather', 'Cast', 'Gather', 'Mul']);
    const dq = nodes[0]!;
    expect(all(dq, 1).map(str)).toEqual(['w_int8', 'w_scale', 'w_zero_point']);
    const axis = decode(one(dq, 5).value as Uint8Array);
    expect([str(one(axis, 1)), one(axis, 3).value]).toEqual(['axis', 1n]);
    expect(g.initializerBytes).toBe(6 + 12 + 3 + 12 + 6 + 8);
  });

  it('modelProto without metadata has no field 14', () => {
    expect(all(decode(modelProto(new Uint8Array())), 14)).toHaveLength(0);
  });
});
