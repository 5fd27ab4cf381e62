// A minimal protobuf *writer* for ONNX models (no python onnx, no protobufjs).
//
// Field numbers are those of onnx/onnx.proto (IR version 8, opset 17):
//   ModelProto:        ir_version=1 (int64), producer_name=2, producer_version=3, doc_string=6,
//                      graph=7, opset_import=8 (OperatorSetIdProto)
//   OperatorSetIdProto: domain=1, version=2
//   GraphProto:        node=1, name=2, initializer=5, doc_string=10, input=11, output=12
//   NodeProto:         input=1, output=2, name=3, op_type=4, attribute=5, domain=7
//   AttributeProto:    name=1, f=2 (float), i=3 (int64), s=4, t=5, floats=7, ints=8, type=20
//                      AttributeType FLOAT=1 INT=2 STRING=3 TENSOR=4 FLOATS=6 INTS=7
//   TensorProto:       dims=1, data_type=2, name=8, raw_data=9 (little-endian)
//                      DataType FLOAT=1 INT32=6 INT64=7 BOOL=9 DOUBLE=11
//   ValueInfoProto:    name=1, type=2 (TypeProto)
//   TypeProto:         tensor_type=1 -> TypeProto.Tensor: elem_type=1, shape=2 (TensorShapeProto)
//   TensorShapeProto:  dim=1 -> Dimension: dim_value=1, dim_param=2
// Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.

export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 };
export const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 };

/** Varint of a non-negative integer; negative int64 values are written as 10-byte two's complement. */
export function varint(v) {
  let b = typeof v === 'bigint' ? v : BigInt(v);
  if (b < 0n) b = BigInt.asUintN(64, b);
  const out = [];
  while (b >= 0x80n) {
    out.push(Number(b & 0x7fn) | 0x80);
    b >>= 7n;
  }
  out.push(Number(b));
  return Buffer.from(out);
}

const key = (field, wire) => varint((field << 3) | wire);
const utf8 = (s) => Buffer.from(s, 'utf8');

export const f = {
  /** varint field (int32/int64/enum). */
  int: (field, v) => Buffer.concat([key(field, 0), varint(v)]),
  /** length-delimited field (bytes, string, embedded message). */
  bytes: (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf]),
  str: (field, s) => f.bytes(field, utf8(s)),
  /** fixed32 float field. */
  float: (field, x) => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(x, 0);
    return Buffer.concat([key(field, 5), b]);
  },
};

const cat = (parts) => Buffer.concat(parts.filter(Boolean));

/** Raw little-endian bytes of a typed array (this machine is little-endian; checked below). */
function rawBytes(ta) {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian host not supported');
  return Buffer.from(ta.buffer, ta.byteOffset, ta.byteLength);
}

/** TensorProto with raw_data. data: Float32Array | BigInt64Array | Int32Array | Float64Array | Uint8Array(bool). */
export function tensorProto(name, dataType, dims, data) {
  return cat([...dims.map((d) => f.int(1, d)), f.int(2, dataType), f.str(8, name), f.bytes(9, rawBytes(data))]);
}

/** Attribute helpers: attr.i('axis', -1), attr.f('epsilon', 1e-5), attr.ints('perm', [0, 2, 1, 3]), attr.t('value', tensorBuf). */
export const attr = {
  i: (name, v) => cat([f.str(1, name), f.int(3, v), f.int(20, AT.INT)]),
  f: (name, v) => cat([f.str(1, name), f.float(2, v), f.int(20, AT.FLOAT)]),
  ints: (name, vs) => cat([f.str(1, name), ...vs.map((v) => f.int(8, v)), f.int(20, AT.INTS)]),
  t: (name, tensorBuf) => cat([f.str(1, name), f.bytes(5, tensorBuf), f.int(20, AT.TENSOR)]),
};

export function nodeProto({ inputs, outputs, name, op, attrs = [], domain }) {
  return cat([
    ...inputs.map((s) => f.str(1, s)),
    ...outputs.map((s) => f.str(2, s)),
    name ? f.str(3, name) : null,
    f.str(4, op),
    ...attrs.map((a) => f.bytes(5, a)),
    domain ? f.str(7, domain) : null,
  ]);
}

/** ValueInfoProto; dims entries are numbers (fixed) or strings (symbolic, e.g. 'batch'). */
export function valueInfo(name, elemType, dims) {
  const shape = cat(dims.map((d) => f.bytes(1, typeof d === 'string' ? f.str(2, d) : f.int(1, d))));
  const tensorType = cat([f.int(1, elemType), f.bytes(2, shape)]);
  return cat([f.str(1, name), f.bytes(2, f.bytes(1, tensorType))]);
}

export function graphProto({ name, nodes, initializers, inputs, outputs, doc }) {
  return cat([
    ...nodes.map((n) => f.bytes(1, n)),
    f.str(2, name),
    ...initializers.map((t) => f.bytes(5, t)),
    doc ? f.str(10, doc) : null,
    ...inputs.map((v) => f.bytes(11, v)),
    ...outputs.map((v) => f.bytes(12, v)),
  ]);
}

export function modelProto({
  graph,
  opset = 17,
  irVersion = 8,
  producer = 'geolip-perf',
  producerVersion = '0.1.0',
  doc,
}) {
  return cat([
    f.int(1, irVersion),
    f.str(2, producer),
    f.str(3, producerVersion),
    doc ? f.str(6, doc) : null,
    f.bytes(7, graph),
    f.bytes(8, cat([f.str(1, ''), f.int(2, opset)])),
  ]);
}

/**
 * Small graph builder: g.op('MatMul', [a, b]) returns the output name; g.init(name, DT.FLOAT, dims, data)
 * adds an initializer; g.constI64([..]) adds a 1-D int64 constant initializer.
 */
export class GraphBuilder {
  constructor() {
    this.nodes = [];
    this.inits = [];
    this.names = new Set();
    this.count = 0;
  }

  fresh(hint) {
    let n;
    do n = `${hint}_${this.count++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  init(name, dataType, dims, data, { fresh = false } = {}) {
    if (!fresh && this.names.has(name)) throw new Error(`duplicate name ${name}`);
    this.names.add(name);
    this.inits.push(tensorProto(name, dataType, dims, data));
    return name;
  }

  constF32(values, dims = [values.length], hint = 'c') {
    return this.init(this.fresh(hint), DT.FLOAT, dims, Float32Array.from(values), { fresh: true });
  }

  constI64(values, dims = [values.length], hint = 'ci') {
    return this.init(this.fresh(hint), DT.INT64, dims, BigInt64Array.from(values.map((v) => BigInt(v))), {
      fresh: true,
    });
  }

  /** Adds a node; returns its single output name (or an array when nOut > 1). */
  op(op, inputs, attrs = [], { nOut = 1, out, name } = {}) {
    const outputs = out ? [].concat(out) : Array.from({ length: nOut }, () => this.fresh(op.toLowerCase()));
    for (const o of outputs) this.names.add(o);
    this.nodes.push(nodeProto({ inputs, outputs, op, attrs, name: name ?? this.fresh(`n_${op}`) }));
    return nOut === 1 ? outputs[0] : outputs;
  }
}
