/**
 * `OnnxGraphBuilder`: nodes and initializers of one ONNX graph, then {@link OnnxGraphBuilder.encode} for the file's
 * bytes. Weights go through {@link OnnxGraphBuilder.weight}, which stores them as float32 or, with
 * `weightType: 'float16'`, as float16 followed by a `Cast` to float32 (the compute stays float32; ONNX Runtime folds
 * the casts at load): the file is half the size and the results move by the weights' rounding only.
 *
 * `weightType: 'int8'` quantises the large matrices only, weights-only and symmetric: a `MatMul` weight
 * ({@link OnnxGraphBuilder.matmulWeight}) becomes int8 with one float32 scale per output column (max |w| / 127, zero
 * point 0) and a `DequantizeLinear` (axis 1) in front of the `MatMul`; an embedding table
 * ({@link OnnxGraphBuilder.gatherWeight}) becomes int8 rows with one scale per row, gathered first and then scaled.
 * Biases, norms and the other small tensors stay float32. The file is about a quarter of float32's.
 */
import { InvalidArgumentError } from '@geolip/geometry';

import { float32ToFloat16Bits } from '../safetensors/float16.js';
import { ONNX_DTYPE, attr, graphProto, modelProto, nodeProto, tensorProto, valueInfo } from './proto.js';
import type { OnnxAttribute, OnnxDtype, OnnxModelOptions, OnnxTensorData } from './proto.js';

/** How {@link OnnxGraphBuilder.weight} stores float weights (`int8`: matrices only, see the module comment). */
export type OnnxWeightType = 'float32' | 'float16' | 'int8';

/**
 * Symmetric int8 quantisation of a row-major `[rows, cols]` matrix with one scale per column (`axis` 1) or per row
 * (`axis` 0): scale = max |w| / 127 over the slice (1 for an all-zero slice), q = round(w / scale) in [−127, 127].
 * Dequantised, `q · scale` is within scale / 2 of `w`.
 */
export function quantizeInt8Symmetric(
  data: Float32Array,
  rows: number,
  cols: number,
  axis: 0 | 1,
): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(axis === 1 ? cols : rows);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const k = axis === 1 ? c : r;
      scales[k] = Math.max(scales[k]!, Math.abs(data[r * cols + c]!));
    }
  for (let k = 0; k < scales.length; k++) scales[k] = scales[k]! > 0 ? scales[k]! / 127 : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = Math.round(data[r * cols + c]! / scales[axis === 1 ? c : r]!);
      q[r * cols + c] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  return { q, scales };
}

/** A graph input or output: name, element type and dimensions (strings are symbolic). */
export interface OnnxValueSpec {
  name: string;
  dtype: OnnxDtype;
  dims: readonly (number | string)[];
}

/** Options of {@link OnnxGraphBuilder.op}. */
export interface OnnxOpOptions {
  /** An explicit output name (e.g. a graph output); default a fresh one. */
  out?: string;
}

const OP = 'OnnxGraphBuilder';

export class OnnxGraphBuilder {
  readonly weightType: OnnxWeightType;
  private readonly nodes: Uint8Array[] = [];
  private readonly inits: Uint8Array[] = [];
  private readonly names = new Set<string>();
  private readonly scalars = new Map<number, string>();
  private count = 0;
  private weightBytes = 0;

  /** @throws {InvalidArgumentError} for a `weightType` other than `'float32'` / `'float16'` / `'int8'`. */
  constructor(options: { weightType?: OnnxWeightType } = {}) {
    const weightType = options.weightType ?? 'float32';
    if (weightType !== 'float32' && weightType !== 'float16' && weightType !== 'int8')
      throw new InvalidArgumentError(
        OP,
        'options.weightType',
        `must be 'float32', 'float16' or 'int8', got ${String(weightType)}`,
      );
    this.weightType = weightType;
  }

  /** Bytes of initializer data written so far. */
  get initializerBytes(): number {
    return this.weightBytes;
  }

  /** A name not used yet, from a hint. */
  fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.count++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  /** Adds an initializer under exactly `name`; returns the name. @throws {InvalidArgumentError} on a duplicate. */
  initializer(name: string, dtype: OnnxDtype, dims: readonly number[], data: OnnxTensorData): string {
    if (this.names.has(name)) throw new InvalidArgumentError(`${OP}.initializer`, 'name', `'${name}' is used twice`);
    this.names.add(name);
    this.inits.push(tensorProto(name, dtype, dims, data));
    this.weightBytes += data.byteLength;
    return name;
  }

  /**
   * A float weight under `name` in the builder's {@link OnnxGraphBuilder.weightType}; returns the name of a float32
   * value (the initializer itself, or the output of its `Cast`).
   * @throws {InvalidArgumentError} for a non-finite value, or one outside float16's range in float16 mode.
   */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!Number.isFinite(v))
        throw new InvalidArgumentError(`${OP}.weight`, name, `holds a non-finite value at index ${i}`);
      if (this.weightType === 'float16' && Math.abs(v) > 65504)
        throw new InvalidArgumentError(`${OP}.weight`, name, `holds ${v} at index ${i}, outside float16's ±65504`);
    }
    if (this.weightType !== 'float16') return this.initializer(name, ONNX_DTYPE.FLOAT, dims, data);
    const half = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) half[i] = float32ToFloat16Bits(data[i]!);
    this.initializer(`${name}_fp16`, ONNX_DTYPE.FLOAT16, dims, half);
    return this.op('Cast', [`${name}_fp16`], [attr.i('to', ONNX_DTYPE.FLOAT)], { out: name });
  }

  /**
   * The right-hand matrix `[in, out]` of a `MatMul`: as {@link OnnxGraphBuilder.weight}, except under
   * `weightType: 'int8'`: int8 with a scale per output column and a `DequantizeLinear` (axis 1) to float32.
   * @throws {InvalidArgumentError} for a non-finite value, or `dims` that are not 2-D.
   */
  matmulWeight(name: string, dims: readonly number[], data: Float32Array): string {
    if (this.weightType !== 'int8') return this.weight(name, dims, data);
    const [rows, cols] = this.checkMatrix('matmulWeight', name, dims, data);
    const { q, scales } = quantizeInt8Symmetric(data, rows, cols, 1);
    this.initializer(`${name}_int8`, ONNX_DTYPE.INT8, dims, q);
    this.initializer(`${name}_scale`, ONNX_DTYPE.FLOAT, [cols], scales);
    this.initializer(`${name}_zero_point`, ONNX_DTYPE.INT8, [cols], new Int8Array(cols));
    return this.op('DequantizeLinear', [`${name}_int8`, `${name}_scale`, `${name}_zero_point`], [attr.i('axis', 1)], {
      out: name,
    });
  }

  /**
   * `Gather(table, ids)` along axis 0 of an embedding table `[rows, dim]`: the table as
   * {@link OnnxGraphBuilder.weight}, except under `weightType: 'int8'`: int8 rows with one scale per row; the int8
   * rows and their scales are gathered, then `Cast` and multiplied (only the rows looked up are dequantised).
   * @throws {InvalidArgumentError} for a non-finite value, or `dims` that are not 2-D.
   */
  gatherWeight(name: string, dims: readonly number[], data: Float32Array, ids: string): string {
    if (this.weightType !== 'int8') return this.op('Gather', [this.weight(name, dims, data), ids], [attr.i('axis', 0)]);
    const [rows, cols] = this.checkMatrix('gatherWeight', name, dims, data);
    const { q, scales } = quantizeInt8Symmetric(data, rows, cols, 0);
    this.initializer(`${name}_int8`, ONNX_DTYPE.INT8, dims, q);
    this.initializer(`${name}_scale`, ONNX_DTYPE.FLOAT, [rows, 1], scales);
    const picked = this.op(
      'Cast',
      [this.op('Gather', [`${name}_int8`, ids], [attr.i('axis', 0)])],
      [attr.i('to', ONNX_DTYPE.FLOAT)],
    );
    return this.op('Mul', [picked, this.op('Gather', [`${name}_scale`, ids], [attr.i('axis', 0)])]);
  }

  private checkMatrix(method: string, name: string, dims: readonly number[], data: Float32Array): [number, number] {
    if (dims.length !== 2 || dims[0]! * dims[1]! !== data.length)
      throw new InvalidArgumentError(`${OP}.${method}`, name, `must be a 2-D matrix, got dims [${dims.join(', ')}]`);
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i]!))
        throw new InvalidArgumentError(`${OP}.${method}`, name, `holds a non-finite value at index ${i}`);
    return [dims[0]!, dims[1]!];
  }

  /** A float32 scalar (rank 0) constant, shared between uses of the same value. */
  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (name === undefined) {
      name = this.fresh('scalar');
      this.names.delete(name);
      this.initializer(name, ONNX_DTYPE.FLOAT, [], Float32Array.of(value));
      this.scalars.set(value, name);
    }
    return name;
  }

  /** A 1-D int64 constant. */
  int64s(values: readonly number[]): string {
    const name = this.fresh('i64');
    this.names.delete(name);
    return this.initializer(name, ONNX_DTYPE.INT64, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** A rank-0 int64 constant. */
  int64(value: number): string {
    const name = this.fresh('i64s');
    this.names.delete(name);
    return this.initializer(name, ONNX_DTYPE.INT64, [], BigInt64Array.of(BigInt(value)));
  }

  /** Adds a node; returns the name of its (single) output. */
  op(
    type: string,
    inputs: readonly string[],
    attrs: readonly OnnxAttribute[] = [],
    options: OnnxOpOptions = {},
  ): string {
    return this.node(type, inputs, attrs, options.out === undefined ? 1 : options.out)[0]!;
  }

  /** Adds a node with `outputs` outputs (e.g. `Split`); returns their names. */
  opN(type: string, inputs: readonly string[], attrs: readonly OnnxAttribute[], outputs: number): string[] {
    return this.node(type, inputs, attrs, outputs);
  }

  private node(
    type: string,
    inputs: readonly string[],
    attrs: readonly OnnxAttribute[],
    out: number | string | readonly string[],
  ): string[] {
    let outputs: string[];
    if (typeof out !== 'number') {
      outputs = typeof out === 'string' ? [out] : [...out];
      for (const o of outputs) {
        if (this.names.has(o)) throw new InvalidArgumentError(`${OP}.op`, 'out', `'${o}' is used twice`);
        this.names.add(o);
      }
    } else outputs = Array.from({ length: out }, () => this.fresh(type.toLowerCase()));
    this.nodes.push(nodeProto({ inputs, outputs, op: type, attrs, name: this.fresh(`n_${type}`) }));
    return outputs;
  }

  /** The model file's bytes: a graph named `name` with these inputs and outputs. */
  encode(
    graph: { name: string; inputs: readonly OnnxValueSpec[]; outputs: readonly OnnxValueSpec[]; doc?: string },
    options: OnnxModelOptions = {},
  ): Uint8Array {
    const body = graphProto({
      name: graph.name,
      nodes: this.nodes,
      initializers: this.inits,
      inputs: graph.inputs.map((v) => valueInfo(v.name, v.dtype, v.dims)),
      outputs: graph.outputs.map((v) => valueInfo(v.name, v.dtype, v.dims)),
      doc: graph.doc,
    });
    return modelProto(body, options);
  }
}
