/**
 * A protobuf *writer* for ONNX models: the messages of `onnx/onnx.proto` that a GeoLIP export needs, encoded by
 * hand (no protobuf library, no Python `onnx`). Browser-safe: it builds `Uint8Array`s only.
 *
 * Field numbers (onnx.proto, IR version 8):
 * - ModelProto: ir_version=1 (int64), producer_name=2, producer_version=3, domain=4, model_version=5, doc_string=6,
 *   graph=7, opset_import=8, metadata_props=14 (StringStringEntryProto: key=1, value=2).
 * - OperatorSetIdProto: domain=1, version=2.
 * - GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12.
 * - NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7.
 * - AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20.
 * - TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian).
 * - ValueInfoProto: name=1, type=2 → TypeProto.tensor_type=1 → elem_type=1, shape=2 → dim=1 → dim_value=1 /
 *   dim_param=2.
 *
 * Wire types: 0 varint, 2 length-delimited, 5 fixed32.
 */
import { InvalidArgumentError } from '@geolip/geometry';

/** ONNX `TensorProto.DataType` values used here. */
export const ONNX_DTYPE = Object.freeze({
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const);

/** One of {@link ONNX_DTYPE}'s values. */
export type OnnxDtype = (typeof ONNX_DTYPE)[keyof typeof ONNX_DTYPE];

/** ONNX `AttributeProto.AttributeType` values used here. */
const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

const utf8 = new TextEncoder();

/** Concatenates byte chunks, skipping `null`s. */
export function concatBytes(parts: readonly (Uint8Array | null)[]): Uint8Array {
  let n = 0;
  for (const p of parts) if (p) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (!p) continue;
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The varint encoding of an integer. Negative values (int64 fields) are written as their 64-bit two's complement,
 * ten bytes, as protobuf does.
 * @throws {InvalidArgumentError} for a number that is not a safe integer.
 */
export function encodeVarint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new InvalidArgumentError('encodeVarint', 'value', `must be a safe integer, got ${value}`);
  let b = BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(value));
  const out: number[] = [];
  while (b >= 0x80n) {
    out.push(Number(b & 0x7fn) | 0x80);
    b >>= 7n;
  }
  out.push(Number(b));
  return Uint8Array.from(out);
}

const key = (field: number, wire: number): Uint8Array => encodeVarint((field << 3) | wire);

/** Field encoders: a varint field, a length-delimited field, a string field and a fixed32 float field. */
export const field = {
  int: (n: number, v: number | bigint): Uint8Array => concatBytes([key(n, 0), encodeVarint(v)]),
  bytes: (n: number, b: Uint8Array): Uint8Array => concatBytes([key(n, 2), encodeVarint(b.length), b]),
  str: (n: number, s: string): Uint8Array => field.bytes(n, utf8.encode(s)),
  float: (n: number, x: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return concatBytes([key(n, 5), b]);
  },
};

/** Typed arrays a tensor's `raw_data` can come from. */
export type OnnxTensorData =
  Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of a typed array (a copy). */
function rawBytes(data: OnnxTensorData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const width = data.BYTES_PER_ELEMENT;
  if (!LITTLE_ENDIAN && width > 1) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  return bytes;
}

/** A `TensorProto` with `raw_data`. For FLOAT16 pass the half-precision bits as a `Uint16Array`. */
export function tensorProto(name: string, dtype: OnnxDtype, dims: readonly number[], data: OnnxTensorData): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new InvalidArgumentError(
      'tensorProto',
      'data',
      `has ${data.length} elements but dims [${dims.join(', ')}] hold ${count} (tensor '${name}')`,
    );
  return concatBytes([
    ...dims.map((d) => field.int(1, d)),
    field.int(2, dtype),
    field.str(8, name),
    field.bytes(9, rawBytes(data)),
  ]);
}

/** An `AttributeProto`, built by the helpers of {@link attr}. */
export type OnnxAttribute = Uint8Array;

/** Attribute helpers: `attr.i('axis', -1)`, `attr.f('epsilon', 1e-5)`, `attr.ints('perm', [0, 2, 1, 3])`. */
export const attr = {
  i: (name: string, v: number): OnnxAttribute =>
    concatBytes([field.str(1, name), field.int(3, v), field.int(20, ATTR_TYPE.INT)]),
  f: (name: string, v: number): OnnxAttribute =>
    concatBytes([field.str(1, name), field.float(2, v), field.int(20, ATTR_TYPE.FLOAT)]),
  s: (name: string, v: string): OnnxAttribute =>
    concatBytes([field.str(1, name), field.str(4, v), field.int(20, ATTR_TYPE.STRING)]),
  ints: (name: string, vs: readonly number[]): OnnxAttribute =>
    concatBytes([field.str(1, name), ...vs.map((v) => field.int(8, v)), field.int(20, ATTR_TYPE.INTS)]),
  t: (name: string, tensor: Uint8Array): OnnxAttribute =>
    concatBytes([field.str(1, name), field.bytes(5, tensor), field.int(20, ATTR_TYPE.TENSOR)]),
};

/** A `NodeProto`. */
export function nodeProto(node: {
  inputs: readonly string[];
  outputs: readonly string[];
  op: string;
  name?: string;
  attrs?: readonly OnnxAttribute[];
  domain?: string;
}): Uint8Array {
  return concatBytes([
    ...node.inputs.map((s) => field.str(1, s)),
    ...node.outputs.map((s) => field.str(2, s)),
    node.name ? field.str(3, node.name) : null,
    field.str(4, node.op),
    ...(node.attrs ?? []).map((a) => field.bytes(5, a)),
    node.domain ? field.str(7, node.domain) : null,
  ]);
}

/** A `ValueInfoProto` of a tensor; a dimension is a number (fixed) or a string (symbolic, e.g. `'batch'`). */
export function valueInfo(name: string, dtype: OnnxDtype, dims: readonly (number | string)[]): Uint8Array {
  const shape = concatBytes(dims.map((d) => field.bytes(1, typeof d === 'string' ? field.str(2, d) : field.int(1, d))));
  const tensorType = concatBytes([field.int(1, dtype), field.bytes(2, shape)]);
  return concatBytes([field.str(1, name), field.bytes(2, field.bytes(1, tensorType))]);
}

/** A `GraphProto`. */
export function graphProto(graph: {
  name: string;
  nodes: readonly Uint8Array[];
  initializers: readonly Uint8Array[];
  inputs: readonly Uint8Array[];
  outputs: readonly Uint8Array[];
  doc?: string;
}): Uint8Array {
  return concatBytes([
    ...graph.nodes.map((n) => field.bytes(1, n)),
    field.str(2, graph.name),
    ...graph.initializers.map((t) => field.bytes(5, t)),
    graph.doc ? field.str(10, graph.doc) : null,
    ...graph.inputs.map((v) => field.bytes(11, v)),
    ...graph.outputs.map((v) => field.bytes(12, v)),
  ]);
}

/** Options of {@link modelProto}. */
export interface OnnxModelOptions {
  /** Default 17. */
  opset?: number;
  /** Default 8 (the IR version of opset 17). */
  irVersion?: number;
  /** Default `'geolip'`. */
  producer?: string;
  producerVersion?: string;
  doc?: string;
  /** `metadata_props` (string key → string value), e.g. the model's `geolip.*` metadata. */
  metadata?: Readonly<Record<string, string>>;
}

/** A `ModelProto` around an encoded graph: the bytes of a `.onnx` file. */
export function modelProto(graph: Uint8Array, options: OnnxModelOptions = {}): Uint8Array {
  const { opset = 17, irVersion = 8, producer = 'geolip', producerVersion = '0.1.0', doc, metadata = {} } = options;
  return concatBytes([
    field.int(1, irVersion),
    field.str(2, producer),
    field.str(3, producerVersion),
    doc ? field.str(6, doc) : null,
    field.bytes(7, graph),
    field.bytes(8, concatBytes([field.str(1, ''), field.int(2, opset)])),
    ...Object.entries(metadata).map(([k, v]) => field.bytes(14, concatBytes([field.str(1, k), field.str(2, v)]))),
  ]);
}
