/**
 * Input handling shared by the heads: embeddings and targets given as tfjs tensors or as plain arrays
 * (what a `train()` data function returns without allocating tensors), shape binding across the
 * arguments of one call, and the small MLP `Linear → GELU → Linear` registered as PyTorch's
 * `nn.Sequential` (`net.0.*`, `net.2.*`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';
import { Linear, Module, gelu } from '@geolip/nn';

/** `[B, D]` embeddings: a float32 `tf.Tensor2D`, or B rows of D finite numbers (`number[]` or `Float32Array`). */
export type EmbeddingInput = tf.Tensor2D | readonly ArrayLike<number>[];

/** `[B]` values: a `tf.Tensor1D`, or B finite numbers. */
export type VectorInput = tf.Tensor1D | ArrayLike<number>;

/** Binds the letters of one call (`B`, `D`, …) across its arguments; sizes only, never tensor data. */
export class ShapeBinder {
  private readonly bound = new Map<string, number>();

  constructor(private readonly op: string) {}

  /** Throws a {@link ShapeError} unless `shape` matches `pattern` (letters bind on first use). */
  check(argument: string, shape: readonly number[], pattern: readonly (string | number)[]): void {
    const show = (p: string | number): string =>
      typeof p === 'number' ? String(p) : this.bound.has(p) ? `${p}=${this.bound.get(p)}` : p;
    const describe = (): string => `[${pattern.map(show).join(', ')}]`;
    if (shape.length !== pattern.length) throw new ShapeError(this.op, argument, describe(), shape);
    const pending = new Map<string, number>();
    pattern.forEach((p, i) => {
      const actual = shape[i]!;
      if (typeof p === 'number') {
        if (actual !== p) throw new ShapeError(this.op, argument, describe(), shape);
      } else {
        const have = this.bound.get(p) ?? pending.get(p);
        if (have !== undefined && have !== actual) throw new ShapeError(this.op, argument, describe(), shape);
        pending.set(p, actual);
      }
    });
    for (const [k, v] of pending) this.bound.set(k, v);
  }

  get(letter: string): number | undefined {
    return this.bound.get(letter);
  }
}

/** Per-value check of plain-array targets: returns an error message for a bad value, or null. */
export type ValueCheck = (value: number) => string | null;

/**
 * `[B, D]` embeddings as a float32 tensor: a tensor is checked (rank, sizes, dtype; data not read) and
 * returned as is; rows are checked (rectangular, finite, `valueCheck`) and copied into a new tensor,
 * which the caller's `tf.tidy` frees.
 */
export function matrixInput(
  op: string,
  argument: string,
  x: unknown,
  shapes: ShapeBinder,
  pattern: readonly (string | number)[],
  valueCheck?: ValueCheck,
): tf.Tensor2D {
  if (x instanceof tf.Tensor) {
    shapes.check(argument, x.shape, pattern);
    if (x.dtype !== 'float32') throw new InvalidArgumentError(op, argument, `must have dtype float32, got ${x.dtype}`);
    return x as tf.Tensor2D;
  }
  if (!Array.isArray(x)) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a tf.Tensor2D or an array of rows, got ${x === null ? 'null' : typeof x}`,
    );
  }
  const rows = x.length;
  const first = rows > 0 ? x[0] : undefined;
  const cols = isArrayLikeNumbers(first) ? first.length : 0;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row: unknown = x[i];
    if (!isArrayLikeNumbers(row))
      throw new InvalidArgumentError(op, `${argument}[${i}]`, 'must be an array of numbers');
    if (row.length !== cols)
      throw new ShapeError(
        op,
        argument,
        `[B, ${cols}] (rectangular rows)`,
        [rows, row.length],
        `row ${i} has ${row.length} values`,
      );
    for (let j = 0; j < cols; j++) {
      const v = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        if (typeof v === 'number') throw new NonFiniteError(op, argument, 1, i * cols + j);
        throw new InvalidArgumentError(op, `${argument}[${i}][${j}]`, `must be a number, got ${typeof v}`);
      }
      const bad = valueCheck?.(v);
      if (bad) throw new InvalidArgumentError(op, `${argument}[${i}][${j}]`, bad);
      data[i * cols + j] = v;
    }
  }
  shapes.check(argument, [rows, cols], pattern);
  return tf.tensor2d(data, [rows, cols], 'float32');
}

/**
 * `[B]` values as a tensor of `dtype`: a tensor is checked (rank, size; data not read) and cast; an
 * array is checked (finite, `valueCheck`) and copied. New tensors are freed by the caller's `tf.tidy`.
 */
export function vectorInput(
  op: string,
  argument: string,
  x: unknown,
  shapes: ShapeBinder,
  letter: string,
  dtype: 'float32' | 'int32',
  valueCheck?: ValueCheck,
): tf.Tensor1D {
  if (x instanceof tf.Tensor) {
    shapes.check(argument, x.shape, [letter]);
    if (x.dtype !== 'float32' && x.dtype !== 'int32')
      throw new InvalidArgumentError(op, argument, `must have dtype float32 or int32, got ${x.dtype}`);
    return (x.dtype === dtype ? x : tf.cast(x, dtype)) as tf.Tensor1D;
  }
  if (!isArrayLikeNumbers(x)) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a tf.Tensor1D or an array of numbers, got ${x === null ? 'null' : typeof x}`,
    );
  }
  shapes.check(argument, [x.length], [letter]);
  const data = dtype === 'int32' ? new Int32Array(x.length) : new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number')
      throw new InvalidArgumentError(op, `${argument}[${i}]`, `must be a number, got ${typeof v}`);
    if (!Number.isFinite(v)) throw new NonFiniteError(op, argument, 1, i);
    const bad = valueCheck?.(v);
    if (bad) throw new InvalidArgumentError(op, `${argument}[${i}]`, bad);
    data[i] = v;
  }
  return tf.tensor1d(data, dtype);
}

/** Checks that `batch` is a non-null object. */
export function batchObject<T extends object>(op: string, batch: unknown): T {
  if (batch === null || typeof batch !== 'object' || Array.isArray(batch)) {
    throw new InvalidArgumentError(
      op,
      'batch',
      `must be an object, got ${batch === null ? 'null' : Array.isArray(batch) ? 'an array' : typeof batch}`,
    );
  }
  return batch as T;
}

/** Checks the options object of a head constructor and a positive integer size in it. */
export function positiveInteger(op: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(op, argument, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function optionsObject<T extends object>(op: string, options: unknown, known: readonly string[]): T {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidArgumentError(op, 'options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw new InvalidArgumentError(op, `options.${key}`, `is not an option (options: ${known.join(', ')})`);
  }
  return options as T;
}

export function seedOption(op: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidArgumentError(op, 'options.seed', `must be a finite number, got ${String(value)}`);
  return value;
}

/**
 * The pair features of a sentence pair, [u, v, |u − v|, u ⊙ v] (InferSent / Sentence-BERT):
 * `[B, D]`, `[B, D]` → `[B, 4D]`.
 */
export function pairFeaturesOf(u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  return tf.concat([u, v, tf.abs(tf.sub(u, v)), tf.mul(u, v)], 1);
}

/**
 * `Linear(in, hidden) → GELU → Linear(hidden, out)`, named as PyTorch's
 * `nn.Sequential(nn.Linear, nn.GELU(), nn.Linear)`: `0.weight`, `0.bias`, `2.weight`, `2.bias`.
 */
class Mlp extends Module {
  readonly first: Linear;
  readonly second: Linear;

  constructor(inDim: number, hidden: number, outDim: number, seed: number) {
    super();
    this.first = this.addModule('0', new Linear(inDim, hidden, { seed }));
    this.second = this.addModule('2', new Linear(hidden, outDim, { seed: seed + 1 }));
  }

  /** `[B, in]` → `[B, out]`. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.second.forward(gelu(this.first.forward(x))));
  }
}

/**
 * The two layouts of a head: `'card'`, the single Linear layer the CaptionBERT card gives, registered as a PyTorch
 * module's `self.linear = nn.Linear(in, out)` (`linear.weight`, `linear.bias`); `'mlp'`, this package's earlier
 * `Linear → GELU → Linear` ([INFER]), registered as `net = nn.Sequential(...)` (`net.0.*`, `net.2.*`).
 */
export type HeadLayout = 'card' | 'mlp';

const LAYOUTS: readonly HeadLayout[] = ['card', 'mlp'];

/** What {@link headLayout} read: the layout and, for `'mlp'`, the hidden width (null for `'card'`). */
export interface LayoutChoice {
  layout: HeadLayout;
  hidden: number | null;
}

/**
 * Reads `options.layout` (default `'card'`) and `options.hidden` (default 256, only with `'mlp'`).
 * @throws {InvalidArgumentError} naming `options.layout` for another value, or `options.hidden` when it is given
 *   with the card layout (which has no hidden layer) or is not a positive integer.
 */
export function headLayout(op: string, layout: unknown, hidden: unknown): LayoutChoice {
  const chosen = layout ?? 'card';
  if (!LAYOUTS.includes(chosen as HeadLayout))
    throw new InvalidArgumentError(op, 'options.layout', `must be 'card' or 'mlp', got ${JSON.stringify(chosen)}`);
  if (chosen === 'card') {
    if (hidden !== undefined)
      throw new InvalidArgumentError(
        op,
        'options.hidden',
        "applies only to layout 'mlp' (the card layout is a single Linear layer)",
      );
    return { layout: 'card', hidden: null };
  }
  return { layout: 'mlp', hidden: positiveInteger(op, 'options.hidden', hidden ?? 256) };
}

/** `[B, in]` → `[B, out]`: a {@link Linear} (card layout) or an {@link Mlp}. */
export interface HeadBody {
  forward(x: tf.Tensor2D): tf.Tensor2D;
}

/**
 * A head's trainable body and the name to register it under: `linear` = Linear(in, out) for the card layout, `net` =
 * {@link Mlp}(in, hidden, out) for the MLP layout. The head registers it with `this.addModule(name, module)`.
 */
export function makeHeadBody(
  choice: LayoutChoice,
  inDim: number,
  outDim: number,
  seed: number,
): { name: 'linear' | 'net'; module: Module & HeadBody } {
  if (choice.layout === 'card') return { name: 'linear', module: new Linear(inDim, outDim, { seed }) };
  return { name: 'net', module: new Mlp(inDim, choice.hidden!, outDim, seed) };
}

function isArrayLikeNumbers(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}
