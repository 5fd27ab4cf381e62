/**
 * Typed errors shared by every `@geolip/*` package.
 *
 * Every error names the operation (`op`) and, where there is one, the argument that was wrong,
 * so a message reads `geodesicDistance: 'v' must have shape [B=5, D=2], got [5, 3]`.
 * `GeolipError.isInstance(e)` works across duplicated copies of this package (it checks a
 * global symbol marker rather than the prototype chain).
 */

const MARKER = Symbol.for('geolip.error');

/** Base class of every error thrown by GeoLIP. */
export class GeolipError extends Error {
  readonly [MARKER] = true;
  /** The public function or method that threw, e.g. `'procrustes'`. */
  readonly op: string;

  constructor(op: string, message: string, options?: { cause?: unknown }) {
    super(`${op}: ${message}`, options);
    this.name = 'GeolipError';
    this.op = op;
  }

  /** True for any GeoLIP error, even one thrown by another copy of this package. */
  static isInstance(error: unknown): error is GeolipError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A tensor or matrix argument has the wrong rank or size. */
export class ShapeError extends GeolipError {
  readonly argument: string;
  readonly expected: string;
  readonly actual: readonly number[];

  constructor(op: string, argument: string, expected: string, actual: readonly number[], detail?: string) {
    super(op, `'${argument}' must have shape ${expected}, got [${actual.join(', ')}]${detail ? ` (${detail})` : ''}`);
    this.name = 'ShapeError';
    this.argument = argument;
    this.expected = expected;
    this.actual = [...actual];
  }
}

/** An option or scalar argument is out of range or of the wrong kind. */
export class InvalidArgumentError extends GeolipError {
  readonly argument: string;

  constructor(op: string, argument: string, message: string, options?: { cause?: unknown }) {
    super(op, `'${argument}' ${message}`, options);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }
}

/**
 * An argument holds NaN or ±Infinity where finite values are required, or (with `options.model`) a model's output
 * turned non-finite: `SentenceEmbedder.embed: model 'geolip-text' returned 3 non-finite value(s) in 'embedding'
 * (first at flat index 7)`.
 */
export class NonFiniteError extends GeolipError {
  readonly argument: string;
  /** How many entries are not finite. */
  readonly count: number;
  /** Flat index of the first non-finite entry. */
  readonly firstIndex: number;
  /** The model whose output turned non-finite (its registry or file name), when the error is about an output. */
  readonly model: string | undefined;

  constructor(op: string, argument: string, count: number, firstIndex: number, options?: { model?: string }) {
    const model = options?.model;
    super(
      op,
      model === undefined
        ? `'${argument}' has ${count} non-finite value(s) (first at flat index ${firstIndex})`
        : `model '${model}' returned ${count} non-finite value(s) in '${argument}' (first at flat index ${firstIndex})`,
    );
    this.name = 'NonFiniteError';
    this.argument = argument;
    this.count = count;
    this.firstIndex = firstIndex;
    this.model = model;
  }
}

/** A file or byte buffer does not follow the format it claims (e.g. a broken safetensors file). */
export class FormatError extends GeolipError {
  readonly argument: string;

  constructor(op: string, argument: string, message: string, options?: { cause?: unknown }) {
    super(op, `'${argument}' ${message}`, options);
    this.name = 'FormatError';
    this.argument = argument;
  }
}

/** A numerical method did not converge within its iteration budget. */
export class ConvergenceError extends GeolipError {
  readonly iterations: number;

  constructor(op: string, message: string, iterations: number) {
    super(op, message);
    this.name = 'ConvergenceError';
    this.iterations = iterations;
  }
}

/** A requested tfjs backend is not registered or failed to initialize. */
export class BackendError extends GeolipError {
  /** Every backend tried, with the reason it was rejected. */
  readonly attempts: readonly { name: string; reason: string }[];

  constructor(op: string, message: string, attempts: readonly { name: string; reason: string }[] = []) {
    super(op, message);
    this.name = 'BackendError';
    this.attempts = attempts;
  }
}

/**
 * A command line was wrong: an unknown flag or command, a missing or malformed value, a repeated flag that is not
 * repeatable. CLIs built on `@geolip/cli` print its message with the program's usage hint and exit with status 1.
 * `op` names the program and command (e.g. `'geolip-bench run'`); `argument` the flag (`'--backend'`) when one is
 * at fault. The message is printed as is: it does not repeat `op`.
 */
export class UsageError extends GeolipError {
  /** The flag or positional argument at fault, when there is one (e.g. `'--backend'`). */
  readonly argument: string | undefined;
  /** The message without the `op: ` prefix, as a CLI prints it. */
  readonly detail: string;

  constructor(op: string, message: string, options?: { argument?: string; cause?: unknown }) {
    super(op, message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'UsageError';
    this.argument = options?.argument;
    this.detail = message;
  }
}
