/**
 * `@geolip/geometry/gpu`: batch kernels on gpu.js, an optional peer dependency (STYLE §8.8).
 *
 * gpu.js is loaded lazily by {@link loadGpu}; nothing here imports it statically, so the subpath
 * can be imported (and bundled) without gpu.js installed, and the main entry never touches it.
 * The kernels are for standalone batch jobs (scoring many simplices, similarity matrices in
 * bench); they are float32, not differentiable, and share nothing with tfjs's WebGL context.
 *
 * Every kernel has a float64 reference in the main entry and a parity test:
 * - {@link GpuKernels.cayleyMengerDeterminants} ↔ `cayleyMengerDeterminant` (nested-array path);
 * - {@link GpuKernels.pairwiseCosine} ↔ a plain float64 loop over normalized rows.
 *
 * @packageDocumentation
 */
import { BackendError, InvalidArgumentError, ShapeError } from '../errors.js';
import { assertFiniteData, bindShapes } from '../checks/assert-shape.js';
import { copyNestedRows, copyNestedSimplices } from '../internal/nested.js';

// ---------------------------------------------------------------------------------------------
// public types

/**
 * A gpu.js mode to request.
 * - `'gpu'`: gpu.js's own choice of the best accelerated backend (headless-gl, WebGL2, WebGL, then
 *   its WebAssembly backend where the installed gpu.js has one).
 * - `'webgl'`, `'webgl2'`, `'headlessgl'`, `'webasm'`: that backend only.
 * - `'cpu'`: gpu.js's JavaScript backend (always available).
 * - `'dev'`: gpu.js's debugging mock (plain JavaScript, one call per thread; slow).
 */
export type GpuMode = 'gpu' | 'cpu' | 'webgl' | 'webgl2' | 'headlessgl' | 'webasm' | 'dev';

/** Every accepted {@link GpuMode}, in no particular order. */
export const GPU_MODES: readonly GpuMode[] = ['gpu', 'cpu', 'webgl', 'webgl2', 'headlessgl', 'webasm', 'dev'];

/** Largest vertex count V (a (V−1)-simplex) that {@link GpuKernels.cayleyMengerDeterminants} supports. */
export const GPU_CM_MAX_VERTICES = 8;

/** Options of {@link loadGpu}. */
export interface LoadGpuOptions {
  /**
   * Mode to try first. Default `'gpu'`. When it cannot be created, the best available mode is used
   * instead (gpu.js's default choice, then `'cpu'`) and the failure is listed in
   * {@link GpuKernels.attempts}.
   */
  mode?: GpuMode;
  /**
   * Module specifier to import. Default `'gpu.js'`. Point it at a fork or a vendored copy; a
   * specifier that cannot be resolved gives the "not installed" {@link BackendError}.
   */
  moduleId?: string;
}

/**
 * A dense row-major matrix `[rows, cols]`: `data[i * cols + j]` is entry (i, j). A `Matrix` from the main entry fits.
 */
export interface GpuRows {
  readonly data: Float32Array | Float64Array | readonly number[];
  readonly rows: number;
  readonly cols: number;
}

/** Row vectors `[N, D]`: nested arrays (one inner array per row) or a {@link GpuRows} descriptor. */
export type GpuRowsInput = GpuRows | readonly (readonly number[])[];

/** A float32 row-major matrix `[rows, cols]` returned by a kernel: `data[i * cols + j]` is entry (i, j). */
export interface GpuMatrix32 {
  /** `[rows · cols]` entries, row-major. */
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** Simplex vertices `[B, V, D]`: nested arrays, or a flat row-major typed array with its shape given separately. */
export type GpuSimplexInput = Float32Array | Float64Array | readonly (readonly (readonly number[])[])[];

/**
 * How the Cayley–Menger kernel takes det(M).
 * - `'bordered'` (default): builds the bordered (V+1)×(V+1) matrix M from squared distances and
 *   eliminates with partial pivoting: the float64 reference's algorithm, step for step.
 * - `'gram'`: builds the k×k Gram matrix G = E Eᵀ of the edges from p₀ (k = V − 1) and uses
 *   det(M) = (−1)^(k+1) · 2^k · det(G), also with partial pivoting. Smaller (k² instead of (k+2)²
 *   entries), so faster for larger V, with errors about 1.5–2× those of `'bordered'` in float32.
 */
export type CayleyMengerGpuMethod = 'bordered' | 'gram';

/** Options of {@link GpuKernels.cayleyMengerDeterminants}. */
export interface CayleyMengerGpuOptions {
  /** Determinant method. Default `'bordered'`. */
  method?: CayleyMengerGpuMethod;
}

/**
 * The kernels of one gpu.js instance, returned by {@link loadGpu}.
 *
 * Kernels are compiled on first use, one per (method, V, D) for Cayley–Menger and per (D, M) for
 * cosine, and cached for the life of the object (gpu.js may also rebuild a kernel internally when
 * the batch size changes); call {@link GpuKernels.destroy} to release them and the gpu.js instance.
 */
export interface GpuKernels {
  /**
   * The gpu.js backend in use: `'webgl2'`, `'webgl'`, `'headlessgl'`, `'webasm'`, `'cpu'` or `'dev'`
   * (or gpu.js's own name for a backend this module does not know). If gpu.js falls back to its
   * CPU kernel while running a kernel, this changes to `'cpu'`.
   */
  readonly mode: string;
  /** The mode that was asked for. */
  readonly requestedMode: GpuMode;
  /** Modes that were tried and could not be created, with gpu.js's reason (empty when the first try worked). */
  readonly attempts: readonly { name: string; reason: string }[];

  /**
   * det(M) of the bordered Cayley–Menger matrix of each simplex, in float32 on gpu.js.
   *
   *     M = [[0, 1ᵀ], [1, D²]],  D²ᵢⱼ = ‖pᵢ − pⱼ‖²,   V² = (−1)^(k+1) / (2^k (k!)²) · det(M)
   *
   * Same quantity as the main entry's `cayleyMengerDeterminant` (float64, nested arrays), computed
   * one gpu.js thread per simplex.
   *
   * @param points - `[B, V, D]` vertices, 2 ≤ V ≤ 8, D ≥ 1: nested arrays, or a flat row-major
   *   `Float32Array` / `Float64Array` with `shape`.
   * @param shape - `[B, V, D]`; required for typed arrays, optional (but checked) for nested arrays.
   * @param options - {@link CayleyMengerGpuOptions}.
   * @returns `[B]` determinants det(M) as a new `Float32Array`.
   *
   * @throws {ShapeError} for a ragged array, a data length ≠ B·V·D, a nested array that disagrees
   *   with `shape`, V < 2, V > 8 or D = 0.
   * @throws {InvalidArgumentError} for a missing or malformed `shape` with typed-array input, an
   *   unsupported input type, an unknown `method`, or coordinates outside the float32 range.
   * @throws {NonFiniteError} for NaN or ±Infinity in `points`.
   * @throws {BackendError} if the instance was destroyed or gpu.js fails to compile or run the kernel.
   *
   * @remarks
   * - **Method.** gpu.js kernels have no per-thread arrays (WebGL has no dynamically indexed
   *   locals; gpu.js's WebAssembly backend only knows `Array(2..4)` with constant indices). The
   *   kernel source is therefore generated for each V with every matrix entry a named scalar
   *   (`m3_4`), and partial pivoting unrolled: the pivot row is found by comparisons and swapped
   *   in by `if (p == r)` blocks. Loops run only over D, whose bound is a kernel constant.
   *   See {@link CayleyMengerGpuMethod} for the two determinant forms.
   * - **Host work (float64).** Each simplex is translated so that p₀ = 0 before it is rounded to
   *   float32 and uploaded. Squared distances are translation invariant, and this removes the
   *   error that a large common offset would cause in float32. A column with no non-zero pivot
   *   gives det 0, as in the reference.
   * - **Precision.** WebGL/WebAssembly backends compute in float32 (ε ≈ 6e-8). Measured against
   *   the float64 reference on 4000 Gaussian simplices per V (gpu.js 2.24.1, `'webasm'`, D = V + 1
   *   and D = 16): median relative error ≈ 4e-8 (V = 2) to ≈ 9e-7 (V = 8), 99th percentile ≤ 3e-5,
   *   worst case ≈ 1e-3 (`'gram'`) for nearly flat simplices. Measured against the simplex's scale
   *   (k+1)·s^k (s the mean squared edge length, k = V − 1; the |det| of a regular simplex with
   *   that edge), the error never exceeded 1.1e-6 · (k+1)·s^k; the parity tests assert
   *   |error| ≤ 1e-5 · (k+1)·s^k. So a nearly flat simplex (|det| ≪ its scale) gets a large
   *   *relative* error, and its sign can flip. `'gram'` errors are about 1.5–2× those of
   *   `'bordered'`. Results beyond float32's range (|det| > 3.4e38) become ±Infinity. gpu.js's
   *   `'cpu'` and `'dev'` modes compute in float64 (JavaScript numbers) and only round the inputs
   *   and the outputs to float32.
   * - O(B·(V²·D + V³)); synchronous; reads and writes CPU memory (gpu.js uploads and downloads).
   *
   * @example
   * const gpu = await loadGpu();
   * // unit right triangle: det(M) = −16 · (1/2)² = −4
   * gpu.cayleyMengerDeterminants([[[0, 0], [1, 0], [0, 1]]]); // Float32Array [-4]
   * gpu.cayleyMengerDeterminants(new Float32Array([0, 0, 1, 0, 0, 1]), [1, 3, 2]); // Float32Array [-4]
   */
  cayleyMengerDeterminants(
    points: GpuSimplexInput,
    shape?: readonly [number, number, number],
    options?: CayleyMengerGpuOptions,
  ): Float32Array;

  /**
   * Cosine similarity of every row of `a` with every row of `b`, in float32 on gpu.js.
   *
   *     C[i, j] = ⟨aᵢ, bⱼ⟩ / (‖aᵢ‖ ‖bⱼ‖),  clamped to [−1, 1]
   *
   * @param a - `[N, D]` row vectors (nested arrays or a {@link GpuRows}, e.g. a `Matrix`).
   * @param b - `[M, D]` row vectors, same D.
   * @returns `[N, M]` as a {@link GpuMatrix32}: `data[i * M + j]` = C[i, j], row-major float32.
   *
   * @throws {ShapeError} for ragged rows, a data length ≠ rows·cols, D = 0, or `b` with a different D.
   * @throws {InvalidArgumentError} for an unsupported input type or malformed rows/cols.
   * @throws {NonFiniteError} for NaN or ±Infinity in `a` or `b`.
   * @throws {BackendError} if the instance was destroyed or gpu.js fails to compile or run the kernel.
   *
   * @remarks
   * - Rows are normalized on the host in float64 (with a max-abs rescale, so huge rows do not
   *   overflow), rounded to float32 and uploaded (`b` transposed to `[D, M]`, so neighbouring
   *   threads read neighbouring addresses); the kernel (one thread per (i, j)) takes the dot
   *   product in float32. A zero row has cosine 0 with everything (it stays zero after
   *   normalization), like the diagnostics in the main entry.
   * - Precision: absolute error ≲ D · 6e-8 in the worst case, ≈ √D · 6e-8 typically (≈ 1e-6 for
   *   D = 128) against a float64 loop.
   * - WebGL backends store the `[N, M]` output as one texture, so N and M are bounded by the
   *   context's maximum texture size (typically 4096–16384).
   * - O(N·M·D) in the kernel, O((N + M)·D) on the host; synchronous.
   *
   * @example
   * const gpu = await loadGpu();
   * const c = gpu.pairwiseCosine([[1, 0], [1, 1]], [[1, 0], [0, 2], [-3, 0]]);
   * // c.rows = 2, c.cols = 3, c.data ≈ [1, 0, -1, 0.7071, 0.7071, -0.7071]
   */
  pairwiseCosine(a: GpuRowsInput, b: GpuRowsInput): GpuMatrix32;

  /**
   * Releases every compiled kernel and the gpu.js instance (WebGL contexts included). Later calls
   * on this object throw {@link BackendError}. Idempotent.
   */
  destroy(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// the parts of gpu.js used here (structural, so gpu.js's types are not needed to compile)

interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  destroy?(removeCanvasReferences?: boolean): unknown;
  kernel?: { constructor: unknown };
}

interface GpuJsInstance {
  mode?: string;
  Kernel?: (abstract new (...args: never[]) => unknown) & { mode?: string; name?: string };
  createKernel(source: string | ((...args: never[]) => unknown), settings: Record<string, unknown>): GpuJsKernel;
  destroy(): unknown;
}

type GpuJsConstructor = new (settings?: { mode?: string }) => GpuJsInstance;
type GpuJsModule = Record<string, unknown>;

const KERNEL_CLASS_MODES: readonly (readonly [string, string])[] = [
  ['HeadlessGLKernel', 'headlessgl'],
  ['WebGL2Kernel', 'webgl2'],
  ['WebGLKernel', 'webgl'],
  ['WebAssemblyKernel', 'webasm'],
  ['WebGPUKernel', 'webgpu'],
  ['CPUKernel', 'cpu'],
];

// ---------------------------------------------------------------------------------------------
// loading

/**
 * Loads gpu.js (an optional peer dependency) and returns its {@link GpuKernels}.
 *
 * @param options - {@link LoadGpuOptions}: the mode to try first (default `'gpu'`) and the module specifier.
 * @returns the kernels, with `mode` set to the backend gpu.js actually uses.
 *
 * @throws {BackendError} "gpu.js is not installed: npm install gpu.js" when the module cannot be
 *   resolved; the load error itself when it resolves but fails to load or has no `GPU` export;
 *   and a list of every mode tried when no gpu.js instance can be created. `attempts` holds the
 *   reasons and `cause` the original error.
 * @throws {InvalidArgumentError} for an unknown `mode` or an empty `moduleId`.
 *
 * @remarks
 * - The import is `import(specifier)` with the specifier in a variable, so bundlers leave the
 *   optional peer alone; both the CommonJS shape (`module.default.GPU`) and named ESM exports
 *   (`module.GPU`) are accepted.
 * - If the requested mode cannot be created, gpu.js's default choice is tried, then `'cpu'`;
 *   check {@link GpuKernels.mode} for what you got. In Node without the native `gl` addon,
 *   gpu.js 2.24.1 picks its WebAssembly backend (`'webasm'`) for `'gpu'`.
 * - Tested: `'webasm'`, `'cpu'` and `'dev'` (parity tests). The WebGL/WebGL2 paths were checked
 *   only as far as gpu.js translating the kernels to GLSL (no GL context in CI); kernel indices
 *   are integer expressions so inputs above 2²⁴ elements are addressed exactly.
 * - gpu.js shares nothing with tfjs: data moves through CPU memory, and gradients do not flow
 *   through these kernels. Use them for batch jobs, not inside a training step (STYLE §8.8).
 *
 * @example
 * import { loadGpu } from '@geolip/geometry/gpu';
 * const gpu = await loadGpu().catch(() => null);
 * if (gpu) {
 *   console.log(gpu.mode); // e.g. 'webgl2' in a browser, 'webasm' or 'cpu' in Node
 *   gpu.cayleyMengerDeterminants([[[0, 0], [1, 0], [0, 1]]]); // Float32Array [-4]
 *   await gpu.destroy();
 * }
 */
export async function loadGpu(options: LoadGpuOptions = {}): Promise<GpuKernels> {
  const op = 'loadGpu';
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(
      op,
      'options',
      `must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const requestedMode = options.mode ?? 'gpu';
  if (!GPU_MODES.includes(requestedMode)) {
    throw new InvalidArgumentError(
      op,
      'mode',
      `must be one of ${GPU_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(requestedMode)}`,
    );
  }
  const moduleId = options.moduleId ?? 'gpu.js';
  if (typeof moduleId !== 'string' || moduleId.length === 0) {
    throw new InvalidArgumentError(op, 'moduleId', `must be a non-empty string, got ${JSON.stringify(moduleId)}`);
  }

  const mod = await importGpuJs(op, moduleId);
  const GPU = findGpuConstructor(mod);
  if (!GPU) {
    throw new BackendError(op, `'${moduleId}' loaded but exports no GPU class (is it gpu.js?)`, [
      { name: moduleId, reason: 'no GPU export' },
    ]);
  }

  const attempts: { name: string; reason: string }[] = [];
  // The requested mode, then gpu.js's default choice, then its always-available CPU kernel.
  const tries: (GpuMode | undefined)[] = requestedMode === 'cpu' ? ['cpu'] : [requestedMode, undefined, 'cpu'];
  let instance: GpuJsInstance | null = null;
  for (const mode of tries) {
    try {
      instance = new GPU(mode === undefined ? {} : { mode });
      break;
    } catch (error) {
      attempts.push({ name: mode ?? 'default', reason: errorMessage(error) });
    }
  }
  if (!instance) {
    throw new BackendError(
      op,
      `gpu.js could not create an instance (${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')})`,
      attempts,
    );
  }
  return createKernels(mod, instance, requestedMode, attempts);
}

async function importGpuJs(op: string, moduleId: string): Promise<GpuJsModule> {
  const specifier = moduleId; // a variable, so bundlers do not try to resolve the optional peer
  try {
    return (await import(/* @vite-ignore */ specifier)) as GpuJsModule;
  } catch (error) {
    const reason = errorMessage(error);
    const bare = /^(@[\w.-]+\/)?[\w.-]+$/.test(moduleId); // a package name, not a path or URL
    const message = isNotFound(error, moduleId)
      ? bare
        ? `${moduleId} is not installed: npm install ${moduleId}`
        : `'${moduleId}' could not be found`
      : `'${moduleId}' failed to load: ${reason}`;
    const err = new BackendError(op, message, [{ name: moduleId, reason }]);
    (err as { cause?: unknown }).cause = error;
    throw err;
  }
}

/** What a loader says when a module cannot be resolved (Node ESM and CJS, Vite, browsers). */
const MISSING_MODULE_MESSAGE =
  /Cannot find (package|module)|Failed to resolve|Failed to fetch dynamically imported module|Failed to load url/i;

/**
 * True when `moduleId` itself could not be resolved: a missing dependency *of* gpu.js (whose error
 * names that dependency, not gpu.js) is a load failure, not "not installed".
 */
function isNotFound(error: unknown, moduleId: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = errorMessage(error);
  const notFound =
    code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || MISSING_MODULE_MESSAGE.test(message);
  const namesIt =
    message.includes(`'${moduleId}'`) || message.includes(`"${moduleId}"`) || message.includes(`url ${moduleId}`);
  return notFound && namesIt;
}

function findGpuConstructor(mod: GpuJsModule): GpuJsConstructor | null {
  const fromDefault = mod['default'] as Record<string, unknown> | ((...args: unknown[]) => unknown) | undefined;
  const candidates: unknown[] = [
    mod['GPU'],
    (fromDefault as Record<string, unknown> | undefined)?.['GPU'],
    fromDefault,
  ];
  for (const c of candidates) if (typeof c === 'function') return c as GpuJsConstructor;
  return null;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The backend name of a gpu.js Kernel class: matched against the module's exports, then its static `mode`. */
function kernelMode(mod: GpuJsModule, kernelClass: unknown, fallback: string): string {
  if (typeof kernelClass !== 'function') return fallback;
  for (const [exportName, mode] of KERNEL_CLASS_MODES) {
    const exported = mod[exportName] ?? (mod['default'] as Record<string, unknown> | undefined)?.[exportName];
    if (exported === kernelClass) return mode;
  }
  const staticMode = (kernelClass as { mode?: unknown }).mode;
  return typeof staticMode === 'string' ? staticMode : fallback;
}

// ---------------------------------------------------------------------------------------------
// kernel sources (generated: gpu.js kernels cannot index per-thread arrays)

/** `function cmBordered(points)`: det of the bordered CM matrix of V points, partial pivoting, all scalars. */
function borderedKernelSource(vertices: number): string {
  const n = vertices + 1;
  const lines: string[] = ['function cmBordered(points) {', ...distancePrologue(vertices)];
  const entry = (r: number, c: number): string => {
    if (r === 0 && c === 0) return '0.0';
    if (r === 0 || c === 0) return '1.0';
    if (r === c) return '0.0';
    return `d${Math.min(r, c) - 1}_${Math.max(r, c) - 1}`;
  };
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) lines.push(`  let m${r}_${c} = ${entry(r, c)};`);
  lines.push(...eliminationBody(n), '  return det;', '}');
  return lines.join('\n');
}

/** `function cmGram(points)`: (−1)^(k+1)·2^k·det(E Eᵀ), E the edges from p₀, partial pivoting, all scalars. */
function gramKernelSource(vertices: number): string {
  const k = vertices - 1;
  const lines: string[] = ['function cmGram(points) {'];
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) lines.push(`  let g${i}_${j} = 0.0;`);
  lines.push('  for (let t = 0; t < this.constants.dim; t++) {', `    const x0 = points[${vertexIndex(0)}];`);
  for (let i = 0; i < k; i++) lines.push(`    const e${i} = points[${vertexIndex(i + 1)}] - x0;`);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) lines.push(`    g${i}_${j} += e${i} * e${j};`);
  lines.push('  }');
  for (let r = 0; r < k; r++)
    for (let c = 0; c < k; c++) lines.push(`  let m${r}_${c} = g${Math.min(r, c)}_${Math.max(r, c)};`);
  const factor = (k % 2 === 1 ? 1 : -1) * 2 ** k;
  lines.push(...eliminationBody(k), `  return det * ${factor.toFixed(1)};`, '}');
  return lines.join('\n');
}

/**
 * Flat index of coordinate t of vertex `v` of thread x's simplex. Written inline, all integer
 * operands: gpu.js types a `const base = …` local as float in GLSL, which is exact only below 2²⁴.
 */
function vertexIndex(v: number): string {
  return `this.thread.x * this.constants.stride + ${v} * this.constants.dim + t`;
}

/** Squared distances d{i}_{j} (i < j) of the V points of thread x's simplex, accumulated over D. */
function distancePrologue(vertices: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < vertices; i++) for (let j = i + 1; j < vertices; j++) lines.push(`  let d${i}_${j} = 0.0;`);
  lines.push('  for (let t = 0; t < this.constants.dim; t++) {');
  for (let i = 0; i < vertices; i++) lines.push(`    const x${i} = points[${vertexIndex(i)}];`);
  for (let i = 0; i < vertices; i++) {
    for (let j = i + 1; j < vertices; j++)
      lines.push(`    const e${i}_${j} = x${i} - x${j};`, `    d${i}_${j} += e${i}_${j} * e${i}_${j};`);
  }
  lines.push('  }');
  return lines;
}

/**
 * Gaussian elimination with partial pivoting on the n×n scalars m{r}_{c}, leaving det in `det`.
 * Mirrors `determinantInPlace` (src/linalg/lu.ts): a zero pivot column makes det 0 (the pivot is then replaced by
 * 1 only to keep the remaining, now irrelevant, arithmetic finite).
 */
function eliminationBody(n: number): string[] {
  const m = (r: number, c: number): string => `m${r}_${c}`;
  const lines = [
    '  let det = 1.0;',
    '  let best = 0.0;',
    '  let p = 0.0;',
    '  let a = 0.0;',
    '  let tmp = 0.0;',
    '  let f = 0.0;',
    '  let piv = 0.0;',
  ];
  for (let c = 0; c < n; c++) {
    if (c < n - 1) {
      lines.push(`  best = Math.abs(${m(c, c)});`, `  p = ${c}.0;`);
      for (let r = c + 1; r < n; r++)
        lines.push(`  a = Math.abs(${m(r, c)});`, `  if (a > best) { best = a; p = ${r}.0; }`);
      for (let r = c + 1; r < n; r++) {
        lines.push(`  if (p == ${r}.0) {`);
        for (let j = c; j < n; j++) lines.push(`    tmp = ${m(c, j)}; ${m(c, j)} = ${m(r, j)}; ${m(r, j)} = tmp;`);
        lines.push('    det = -det;', '  }');
      }
    }
    lines.push(`  piv = ${m(c, c)};`, '  det *= piv;');
    if (c < n - 1) {
      lines.push('  if (piv == 0.0) { piv = 1.0; }');
      for (let r = c + 1; r < n; r++) {
        lines.push(`  f = ${m(r, c)} / piv;`);
        for (let j = c + 1; j < n; j++) lines.push(`  ${m(r, j)} -= f * ${m(c, j)};`);
      }
    }
  }
  return lines;
}

/**
 * C[y, x] = ⟨â_y, b̂_x⟩ clamped to [−1, 1]; `a` is `[N, D]` row-major, `bt` is b̂ transposed to
 * `[D, M]`, so neighbouring threads (x, x+1) read neighbouring addresses (coalesced on GPUs,
 * vector loads in gpu.js's WebAssembly SIMD path).
 */
const COSINE_SOURCE = [
  'function cosine(a, bt) {',
  '  let s = 0.0;',
  '  for (let t = 0; t < this.constants.dim; t++) {',
  '    s += a[this.thread.y * this.constants.dim + t] * bt[t * this.constants.m + this.thread.x];',
  '  }',
  '  return Math.min(1.0, Math.max(-1.0, s));',
  '}',
].join('\n');

// ---------------------------------------------------------------------------------------------
// input packing (host side, float64 → float32)

interface PackedSimplices {
  data: Float32Array;
  batch: number;
  vertices: number;
  dim: number;
}

function checkShapeArgument(op: string, shape: unknown): [number, number, number] {
  const ok =
    Array.isArray(shape) &&
    shape.length === 3 &&
    shape.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0);
  if (!ok) {
    throw new InvalidArgumentError(
      op,
      'shape',
      `must be [B, V, D] (three non-negative integers), got ${describeValue(shape)}`,
    );
  }
  return shape as [number, number, number];
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'number' ? String(v) : typeof v)).join(', ')}]`;
  if (value === null) return 'null';
  return typeof value;
}

function checkSimplexSize(op: string, batch: number, vertices: number, dim: number): void {
  if (vertices < 2 || vertices > GPU_CM_MAX_VERTICES) {
    throw new ShapeError(
      op,
      'points',
      `[B, V, D] with 2 <= V <= ${GPU_CM_MAX_VERTICES}`,
      [batch, vertices, dim],
      vertices < 2
        ? 'too few points for a simplex'
        : `the gpu.js kernel is unrolled for at most ${GPU_CM_MAX_VERTICES} vertices`,
    );
  }
  if (dim < 1) throw new ShapeError(op, 'points', '[B, V, D] with D >= 1', [batch, vertices, dim]);
}

/** Flattens, checks, and translates every simplex so that its p₀ = 0 (float64), then rounds to float32. */
function packSimplices(
  op: string,
  points: GpuSimplexInput,
  shape: readonly [number, number, number] | undefined,
): PackedSimplices {
  let source: Float32Array | Float64Array;
  let batch: number, vertices: number, dim: number;
  if (points instanceof Float32Array || points instanceof Float64Array) {
    if (shape === undefined) {
      throw new InvalidArgumentError(op, 'shape', 'must be given as [B, V, D] when points is a flat typed array');
    }
    [batch, vertices, dim] = checkShapeArgument(op, shape);
    if (points.length !== batch * vertices * dim) {
      throw new ShapeError(
        op,
        'points',
        `[B·V·D = ${batch * vertices * dim}] for shape [${batch}, ${vertices}, ${dim}]`,
        [points.length],
      );
    }
    source = points;
  } else if (Array.isArray(points)) {
    const nested = points as readonly (readonly (readonly number[])[])[];
    batch = nested.length;
    vertices = Array.isArray(nested[0]) ? nested[0].length : 0;
    dim = Array.isArray(nested[0]?.[0]) ? nested[0][0].length : 0;
    if (batch > 0 && !Array.isArray(nested[0]?.[0])) {
      throw new ShapeError(
        op,
        'points',
        '[B, V, D] (nested arrays of rank 3)',
        [batch, vertices],
        'a single simplex [V, D] must be wrapped as [[...]]',
      );
    }
    if (shape !== undefined) {
      const [sb, sv, sd] = checkShapeArgument(op, shape);
      if (sb !== batch || (batch > 0 && (sv !== vertices || sd !== dim))) {
        throw new ShapeError(
          op,
          'points',
          `[B=${sb}, V=${sv}, D=${sd}] (from 'shape')`,
          batch > 0 ? [batch, vertices, dim] : [batch],
        );
      }
      if (batch === 0) [vertices, dim] = [sv, sd];
    }
    const flat = new Float64Array(batch * vertices * dim);
    copyNestedSimplices(op, nested, vertices, dim, flat);
    source = flat;
  } else {
    throw new InvalidArgumentError(
      op,
      'points',
      `must be nested arrays [B][V][D], a Float32Array or a Float64Array, got ${describeValue(points)}`,
    );
  }
  if (batch > 0 || shape !== undefined) checkSimplexSize(op, batch, vertices, dim);
  const data = new Float32Array(batch * vertices * dim);
  if (!translateToOrigin(source, data, batch, vertices, dim)) {
    assertFiniteData(op, 'points', source); // throws NonFiniteError for non-finite input
    const at = data.findIndex((x) => !Number.isFinite(x));
    throw new InvalidArgumentError(
      op,
      'points',
      `exceeds the float32 range (|x| > 3.4e38) at flat index ${at} after translating each simplex to p₀ = 0`,
    );
  }
  return { data, batch, vertices, dim };
}

/**
 * out[b, v, :] = fround(src[b, v, :] − src[b, 0, :]), one pass. Returns false if any input was
 * non-finite or any result overflowed float32 (f − f is NaN exactly for ±Infinity and NaN).
 */
function translateToOrigin(
  source: Float32Array | Float64Array,
  out: Float32Array,
  batch: number,
  vertices: number,
  dim: number,
): boolean {
  let check = 0;
  const stride = vertices * dim;
  for (let b = 0; b < batch; b++) {
    const off = b * stride;
    for (let v = 0; v < vertices; v++) {
      const row = off + v * dim;
      for (let t = 0; t < dim; t++) {
        const f = Math.fround(source[row + t]! - source[off + t]!);
        out[row + t] = f;
        check += f - f;
      }
    }
  }
  return check === 0;
}

/**
 * Checks `[R, D]` rows and returns their size and a packer that normalizes each row in float64
 * (max-abs rescale first, so huge rows do not overflow; zero rows stay zero) and rounds it to
 * float32, row-major `[R, D]` or, with `transpose`, `[D, R]`.
 */
function checkRows(
  op: string,
  argument: string,
  input: GpuRowsInput,
): { rows: number; cols: number; pack: (transpose: boolean) => Float32Array } {
  let source: ArrayLike<number>;
  let rows: number, cols: number;
  if (Array.isArray(input)) {
    const nested = input as readonly (readonly number[])[];
    rows = nested.length;
    cols = Array.isArray(nested[0]) ? nested[0].length : 0;
    const flat = new Float64Array(rows * cols);
    copyNestedRows(op, argument, nested, cols, flat);
    source = flat;
  } else if (typeof input === 'object' && input !== null && 'data' in input) {
    const { data, rows: r, cols: c } = input as GpuRows;
    if (!Number.isInteger(r) || r < 0 || !Number.isInteger(c) || c < 0) {
      throw new InvalidArgumentError(
        op,
        argument,
        `must have non-negative integer rows and cols, got ${String(r)}×${String(c)}`,
      );
    }
    if (!(data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data))) {
      throw new InvalidArgumentError(
        op,
        argument,
        `.data must be a Float32Array, a Float64Array or a number array, got ${describeValue(data)}`,
      );
    }
    if (data.length !== r * c) {
      throw new ShapeError(op, argument, `[rows·cols = ${r * c}] for ${r}×${c}`, [data.length]);
    }
    rows = r;
    cols = c;
    source = data;
  } else {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be nested arrays [rows][cols] or { data, rows, cols }, got ${describeValue(input)}`,
    );
  }
  const pack = (transpose: boolean): Float32Array => {
    assertFiniteData(op, argument, source);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const off = i * cols;
      let scale = 0;
      for (let j = 0; j < cols; j++) scale = Math.max(scale, Math.abs(source[off + j]!));
      if (scale === 0) continue; // a zero row stays zero: cosine 0 with everything
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const x = source[off + j]! / scale;
        sum += x * x;
      }
      const norm = Math.sqrt(sum);
      if (transpose) for (let j = 0; j < cols; j++) out[j * rows + i] = source[off + j]! / scale / norm;
      else for (let j = 0; j < cols; j++) out[off + j] = source[off + j]! / scale / norm;
    }
    return out;
  };
  return { rows, cols, pack };
}

// ---------------------------------------------------------------------------------------------
// the kernels object

function createKernels(
  mod: GpuJsModule,
  instance: GpuJsInstance,
  requestedMode: GpuMode,
  attempts: { name: string; reason: string }[],
): GpuKernels {
  let mode = instance.mode === 'dev' ? 'dev' : kernelMode(mod, instance.Kernel, instance.mode ?? 'unknown');
  const isDev = mode === 'dev';
  const cache = new Map<string, GpuJsKernel>();
  let destroyed = false;

  const ensureAlive = (op: string): void => {
    if (destroyed) throw new BackendError(op, 'this GpuKernels instance was destroyed; call loadGpu() again');
  };

  const kernelFor = (op: string, key: string, source: string, settings: Record<string, unknown>): GpuJsKernel => {
    const cached = cache.get(key);
    if (cached) return cached;
    try {
      // gpu.js's dev mock runs the function directly and does not accept source strings.
      const fn = isDev ? (new Function(`return ${source}`)() as (...args: never[]) => unknown) : source;
      const kernel = instance.createKernel(fn, {
        precision: 'single',
        tactic: 'precision',
        dynamicOutput: true,
        dynamicArguments: true,
        ...settings,
      });
      cache.set(key, kernel);
      return kernel;
    } catch (error) {
      throw new BackendError(op, `gpu.js could not create the kernel in mode '${mode}': ${errorMessage(error)}`, [
        { name: mode, reason: errorMessage(error) },
      ]);
    }
  };

  const runKernel = (op: string, kernel: GpuJsKernel, output: number[], args: unknown[]): unknown => {
    try {
      kernel.setOutput(output);
      const result = kernel(...args);
      if (!isDev && kernel.kernel) mode = kernelMode(mod, kernel.kernel.constructor, mode);
      return result;
    } catch (error) {
      throw new BackendError(op, `gpu.js kernel failed in mode '${mode}': ${errorMessage(error)}`, [
        { name: mode, reason: errorMessage(error) },
      ]);
    }
  };

  return {
    get mode() {
      return mode;
    },
    requestedMode,
    attempts,

    cayleyMengerDeterminants(points, shape, options = {}) {
      const op = 'cayleyMengerDeterminants';
      ensureAlive(op);
      const method = options.method ?? 'bordered';
      if (method !== 'bordered' && method !== 'gram') {
        throw new InvalidArgumentError(op, 'method', `must be 'bordered' or 'gram', got ${JSON.stringify(method)}`);
      }
      const { data, batch, vertices, dim } = packSimplices(op, points, shape);
      if (batch === 0) return new Float32Array(0);
      const source = method === 'bordered' ? borderedKernelSource(vertices) : gramKernelSource(vertices);
      const kernel = kernelFor(op, `cm:${method}:${vertices}:${dim}`, source, {
        output: [batch],
        constants: { dim, stride: vertices * dim },
      });
      const result = runKernel(op, kernel, [batch], [data]);
      return toFloat32(result, batch);
    },

    pairwiseCosine(a, b) {
      const op = 'pairwiseCosine';
      ensureAlive(op);
      const pa = checkRows(op, 'a', a);
      const pb = checkRows(op, 'b', b);
      const shapes = bindShapes(op);
      shapes.check('a', { shape: [pa.rows, pa.cols] }, ['N', 'D']);
      shapes.check('b', { shape: [pb.rows, pb.cols] }, ['M', 'D']);
      if (pa.cols < 1) throw new ShapeError(op, 'a', '[N, D] with D >= 1', [pa.rows, pa.cols]);
      const ua = pa.pack(false);
      const ubt = pb.pack(true);
      const rows = pa.rows;
      const cols = pb.rows;
      if (rows === 0 || cols === 0) return { data: new Float32Array(0), rows, cols };
      const kernel = kernelFor(op, `cos:${pa.cols}:${cols}`, COSINE_SOURCE, {
        output: [cols, rows],
        constants: { dim: pa.cols, m: cols },
      });
      const result = runKernel(op, kernel, [cols, rows], [ua, ubt]);
      const data = new Float32Array(rows * cols);
      const rowsOut = result as ArrayLike<ArrayLike<number>>;
      for (let i = 0; i < rows; i++) data.set(rowsOut[i] as ArrayLike<number>, i * cols);
      return { data, rows, cols };
    },

    async destroy() {
      if (destroyed) return;
      destroyed = true;
      cache.clear();
      await instance.destroy();
    },
  };
}

function toFloat32(result: unknown, length: number): Float32Array {
  if (result instanceof Float32Array && result.length === length) return result.slice();
  return Float32Array.from(result as ArrayLike<number>);
}
