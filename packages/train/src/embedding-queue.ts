/**
 * `EmbeddingQueue`: a FIFO of past batches' embeddings, one row per example, several embeddings per row (one per
 * expert), with labels; float32 on the CPU, so `state()` is plain JSON and resumes bit for bit. The queue that GAL
 * (Geometric Accumulated Loss, `galLoss`) and the arbitration tower's refits consume (issue 21, docs/gal.md).
 */
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertInteger } from '@geolip/geometry/checks';

const OP = 'EmbeddingQueue';

/** Options of {@link EmbeddingQueue}. */
export interface EmbeddingQueueOptions {
  /** Rows kept (the oldest are dropped first). */
  capacity: number;
  /** `[E]` the width of each part of a row (one per expert). */
  dims: readonly number[];
}

/** What {@link EmbeddingQueue.state} returns: JSON numbers, oldest row first. */
export interface EmbeddingQueueState {
  version: 1;
  capacity: number;
  dims: number[];
  /** Rows pushed since the queue was made (including those dropped). */
  pushed: number;
  /**
   * `[E]` the parts, row-major, oldest row first: each the base64 of its `size · dims[e]` float32 values
   * (little-endian bytes), which keeps every bit and is ~2.6× smaller than JSON numbers.
   */
  parts: string[];
  /** `[size]` labels, oldest first. */
  labels: number[];
}

/**
 * A fixed-capacity FIFO of rows `(part_0 [D_0], …, part_{E−1} [D_{E−1}], label)`, stored as given (no
 * normalization) in ring buffers of float32. Empty when made: `size` 0, `fill` 0.
 *
 * @throws {InvalidArgumentError} for a capacity < 1, no parts, or a width < 1.
 *
 * @remarks
 * - `push` copies the values (float32), so the queue never holds a tensor and nothing in it carries a gradient: every
 *   row is a constant for whatever reads it (GAL's detach rule for the past).
 * - A push of more rows than `capacity` keeps its last `capacity` rows.
 * - `parts(e)` and `labels()` copy out in FIFO order (oldest first); O(size · D_e).
 *
 * @example
 * const q = new EmbeddingQueue({ capacity: 2, dims: [1] });
 * q.push([[1, 2, 3]], [7, 8, 9]);
 * q.parts(0); // Float32Array [2, 3]: the oldest row (1) was dropped
 */
export class EmbeddingQueue {
  readonly capacity: number;
  readonly dims: readonly number[];
  private readonly buffers: Float32Array[];
  private readonly labelBuffer: Int32Array;
  /** Index of the oldest row in the ring. */
  private head = 0;
  private count = 0;
  private total = 0;

  constructor(options: EmbeddingQueueOptions) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(OP, 'options', 'must be an object { capacity, dims }');
    this.capacity = assertInteger(OP, 'capacity', options.capacity, 1);
    if (!Array.isArray(options.dims) || options.dims.length === 0)
      throw new InvalidArgumentError(OP, 'dims', 'must be a non-empty array of widths');
    this.dims = Object.freeze(options.dims.map((d, e) => assertInteger(OP, `dims[${e}]`, d, 1)));
    this.buffers = this.dims.map((d) => new Float32Array(this.capacity * d));
    this.labelBuffer = new Int32Array(this.capacity);
  }

  /** Rows held now (≤ capacity). */
  get size(): number {
    return this.count;
  }

  /** size / capacity, in [0, 1]. */
  get fill(): number {
    return this.count / this.capacity;
  }

  /** Rows pushed since the queue was made, dropped ones included. */
  get pushed(): number {
    return this.total;
  }

  /**
   * Appends B rows (newest last); drops the oldest beyond `capacity`.
   *
   * @param parts - `[E]` arrays, part e holding `B · dims[e]` values row-major (e.g. `await emb.data()`).
   * @param labels - `[B]` integer labels.
   * @throws {ShapeError} when the number of parts is not E or a part is not `B · dims[e]` long.
   * @throws {InvalidArgumentError} for a non-integer label.
   */
  push(parts: readonly ArrayLike<number>[], labels: ArrayLike<number>): void {
    const op = `${OP}.push`;
    const b = labels.length;
    if (!Array.isArray(parts) || parts.length !== this.dims.length)
      throw new ShapeError(op, 'parts', `[E=${this.dims.length}]`, [Array.isArray(parts) ? parts.length : 0]);
    parts.forEach((p, e) => {
      if (p.length !== b * this.dims[e]!) throw new ShapeError(op, `parts[${e}]`, `[${b}·${this.dims[e]}]`, [p.length]);
    });
    for (let i = 0; i < b; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y)) throw new InvalidArgumentError(op, 'labels', `must be integers, got ${y} at ${i}`);
    }
    // Only the last `capacity` rows of a large push survive.
    for (let i = Math.max(0, b - this.capacity); i < b; i++) {
      const slot = (this.head + this.count) % this.capacity;
      this.dims.forEach((d, e) => this.buffers[e]!.set(toArray(parts[e]!, i * d, d), slot * d));
      this.labelBuffer[slot] = labels[i]!;
      if (this.count < this.capacity) this.count++;
      else this.head = (this.head + 1) % this.capacity;
    }
    this.total += b;
  }

  /** `[size · dims[e]]` part e of every row, oldest first (a copy). @throws {InvalidArgumentError} for a bad e. */
  parts(e: number): Float32Array {
    assertInteger(`${OP}.parts`, 'e', e, 0, this.dims.length - 1);
    const d = this.dims[e]!;
    return this.ordered(this.buffers[e]!, d) as Float32Array;
  }

  /**
   * `[R · dims[e]]` part e of the rows `rows` (FIFO positions, 0 = oldest), in the order given.
   * @throws {InvalidArgumentError} for a bad e or a position outside [0, size).
   */
  gather(e: number, rows: ArrayLike<number>): Float32Array {
    const op = `${OP}.gather`;
    assertInteger(op, 'e', e, 0, this.dims.length - 1);
    const d = this.dims[e]!;
    const buf = this.buffers[e]!;
    const out = new Float32Array(rows.length * d);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (!Number.isInteger(r) || r < 0 || r >= this.count)
        throw new InvalidArgumentError(op, 'rows', `must be positions in [0, ${this.count}), got ${r} at ${i}`);
      const slot = (this.head + r) % this.capacity;
      out.set(buf.subarray(slot * d, (slot + 1) * d), i * d);
    }
    return out;
  }

  /** `[size]` labels, oldest first (a copy). */
  labels(): Int32Array {
    return this.ordered(this.labelBuffer, 1) as Int32Array;
  }

  /** Drops every row (`pushed` is kept). */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** A JSON-serializable snapshot, oldest row first; {@link EmbeddingQueue.fromState} restores it bit for bit. */
  state(): EmbeddingQueueState {
    return {
      version: 1,
      capacity: this.capacity,
      dims: [...this.dims],
      pushed: this.total,
      parts: this.dims.map((_, e) => float32ToBase64(this.parts(e))),
      labels: Array.from(this.labels()),
    };
  }

  /**
   * Rebuilds a queue from {@link EmbeddingQueue.state} output (e.g. after `JSON.parse`).
   * @throws {InvalidArgumentError} for a malformed state (named field).
   */
  static fromState(state: EmbeddingQueueState): EmbeddingQueue {
    const op = `${OP}.fromState`;
    if (!state || state.version !== 1)
      throw new InvalidArgumentError(op, 'state.version', `must be 1, got ${String(state?.version)}`);
    const q = new EmbeddingQueue({ capacity: state.capacity, dims: state.dims });
    const size = Array.isArray(state.labels) ? state.labels.length : -1;
    if (size < 0 || size > q.capacity)
      throw new InvalidArgumentError(op, 'state.labels', `must be an array of at most ${q.capacity} labels`);
    if (!Array.isArray(state.parts) || state.parts.length !== q.dims.length)
      throw new InvalidArgumentError(op, 'state.parts', `must hold ${q.dims.length} parts`);
    const parts = state.parts.map((p, e) => {
      // (number arrays: the format of states written before the base64 one)
      const values =
        typeof p === 'string' ? base64ToFloat32(p) : Array.isArray(p) ? Float32Array.from(p as number[]) : null;
      if (values === null || values.length !== size * q.dims[e]!)
        throw new InvalidArgumentError(
          op,
          `state.parts[${e}]`,
          `must be the base64 of ${size} × ${q.dims[e]} float32 values`,
        );
      return values;
    });
    q.push(parts, state.labels);
    q.total = assertInteger(op, 'state.pushed', state.pushed, size);
    return q;
  }

  private ordered(buf: Float32Array | Int32Array, d: number): Float32Array | Int32Array {
    const out = buf instanceof Float32Array ? new Float32Array(this.count * d) : new Int32Array(this.count * d);
    const first = Math.min(this.count, this.capacity - this.head);
    out.set(buf.subarray(this.head * d, (this.head + first) * d), 0);
    if (first < this.count) out.set(buf.subarray(0, (this.count - first) * d), first * d);
    return out;
  }
}

function toArray(a: ArrayLike<number>, start: number, n: number): ArrayLike<number> {
  if (ArrayBuffer.isView(a)) return (a as unknown as Float32Array).subarray(start, start + n);
  return Array.prototype.slice.call(a, start, start + n) as number[];
}

/** Base64 of the little-endian bytes of float32 values. */
function float32ToBase64(x: Float32Array): string {
  const bytes = new Uint8Array(x.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < x.length; i++) view.setFloat32(i * 4, x[i]!, true);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The inverse of {@link float32ToBase64}; null for a string that is not base64 of whole float32 values. */
function base64ToFloat32(s: string): Float32Array | null {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    return null;
  }
  if (bin.length % 4 !== 0) return null;
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  const out = new Float32Array(bin.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
