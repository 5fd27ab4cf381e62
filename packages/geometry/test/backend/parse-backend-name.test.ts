// The one backend-name check (initBackend, the CLIs, the demo) and the CLI's UsageError.
import { describe, expect, it } from 'vitest';

import { BACKEND_NAMES, parseBackendName } from '../../src/backend/index.js';
import { GeolipError, InvalidArgumentError, UsageError } from '../../src/errors.js';

describe('parseBackendName', () => {
  it('returns every known name unchanged', () => {
    for (const n of BACKEND_NAMES) expect(parseBackendName('op', 'arg', n)).toBe(n);
  });
  it('throws InvalidArgumentError naming the op, the argument and the known names', () => {
    for (const bad of ['tpu', 'CPU', '', undefined, 3]) {
      let error: unknown;
      try {
        parseBackendName('myTool', '--backend', bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('--backend');
      expect((error as Error).message).toBe(
        `myTool: '--backend' names an unknown backend '${String(bad)}' (known: tensorflow, webgpu, webgl, wasm, cpu)`,
      );
    }
  });
});

describe('UsageError', () => {
  it('is a GeolipError naming the command and the flag; detail is the message without the op', () => {
    const e = new UsageError('geolip-bench run', 'unknown option --x', { argument: '--x' });
    expect(e).toBeInstanceOf(GeolipError);
    expect(GeolipError.isInstance(e)).toBe(true);
    expect(e.name).toBe('UsageError');
    expect(e.op).toBe('geolip-bench run');
    expect(e.argument).toBe('--x');
    expect(e.message).toBe('geolip-bench run: unknown option --x');
    expect(e.detail).toBe('unknown option --x');
    expect(new UsageError('tool', 'm').argument).toBeUndefined();
  });
});
