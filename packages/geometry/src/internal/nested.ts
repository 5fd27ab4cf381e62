/** Copying rectangular nested arrays into flat row-major storage, with one wording for a ragged input. */
import { ShapeError } from '../errors.js';

/**
 * Copies `nested` (`[rows][cols]`) into `out` row-major.
 * @throws {ShapeError} naming `op` and `argument` at the first row that is not an array of `cols` numbers.
 */
export function copyNestedRows(
  op: string,
  argument: string,
  nested: readonly unknown[],
  cols: number,
  out: Float64Array,
): void {
  const rows = nested.length;
  for (let i = 0; i < rows; i++) {
    const row = nested[i];
    if (!Array.isArray(row) || row.length !== cols) {
      throw new ShapeError(
        op,
        argument,
        `[${rows}, ${cols}] (rectangular)`,
        [rows, Array.isArray(row) ? row.length : -1],
        `row ${i} differs`,
      );
    }
    for (let j = 0; j < cols; j++) out[i * cols + j] = row[j] as number;
  }
}

/**
 * Copies a batch of simplices `nested` (`[B][V][D]`) into `out` row-major, `B·V·D` values.
 * @throws {ShapeError} naming `op` and `'points'` at the first simplex or point whose size differs.
 */
export function copyNestedSimplices(
  op: string,
  nested: readonly unknown[],
  vertices: number,
  dim: number,
  out: Float64Array,
): void {
  const batch = nested.length;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const simplex = nested[b];
    if (!Array.isArray(simplex) || simplex.length !== vertices) {
      throw new ShapeError(
        op,
        'points',
        `[B, V=${vertices}, D=${dim}] (rectangular)`,
        [batch, Array.isArray(simplex) ? simplex.length : -1],
        `simplex ${b} differs`,
      );
    }
    for (let v = 0; v < vertices; v++) {
      const p: unknown = simplex[v];
      if (!Array.isArray(p) || p.length !== dim) {
        throw new ShapeError(
          op,
          'points',
          `[B, V=${vertices}, D=${dim}] (rectangular)`,
          [batch, vertices, Array.isArray(p) ? p.length : -1],
          `point ${v} of simplex ${b} differs`,
        );
      }
      for (let t = 0; t < dim; t++) out[o++] = p[t] as number;
    }
  }
}
