// What initBackend and ensureBackend print, by log level (issue 25: quiet by default). Each case runs in a fresh Node
// process on the built package (dist), with no backend chosen beforehand and GEOLIP_BACKEND unset, so the default
// order (tensorflow → webgpu → wasm → cpu in Node) is what runs.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

function run(code: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number } {
  const base = { ...process.env };
  delete base.GEOLIP_BACKEND;
  delete base.GEOLIP_LOG;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...base, GEOLIP_WASM_THREADS: '1', ...env },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

// The children do not depend on the vitest project's backend: run them once, in the wasm project.
const onceOnly = process.env.GEOLIP_BACKEND === 'cpu';
const geolipLines = (text: string) => text.split('\n').filter((l) => l.startsWith('[geolip]'));
const INIT = "import { initBackend } from '@geolip/geometry/backend'; await initBackend();";

describe.skipIf(onceOnly)('initBackend log levels', () => {
  it('by default prints one line, the backend chosen, on stderr; stdout stays empty', () => {
    const r = run(INIT);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(geolipLines(r.stderr)).toEqual([expect.stringMatching(/^\[geolip\] backend: wasm \(SIMD, 1 thread\)/)]);
  });

  it("GEOLIP_LOG=debug (or { debug: true }) adds the reasons, e.g. the missing tfjs-node; 'silent' prints nothing", () => {
    for (const r of [
      run(INIT, { GEOLIP_LOG: 'debug' }),
      run("import { initBackend } from '@geolip/geometry/backend'; await initBackend({ debug: true });"),
    ]) {
      const lines = geolipLines(r.stderr);
      expect(lines.some((l) => /^\[geolip\] backend 'tensorflow' skipped: .*@tensorflow\/tfjs-node/.test(l))).toBe(
        true,
      );
      expect(lines.at(-1)).toMatch(/^\[geolip\] backend: wasm/);
    }
    // Only [geolip] lines are ours: Dawn (the optional `webgpu` peer, probed in Node) may warn on stderr by itself.
    expect(geolipLines(run(INIT, { GEOLIP_LOG: 'silent' }).stderr)).toEqual([]);
  });

  it('an unknown GEOLIP_LOG value is an InvalidArgumentError naming it', () => {
    const r = run(
      "import { initBackend } from '@geolip/geometry/backend';" +
        "try { await initBackend(); } catch (e) { console.log(e.name + ': ' + e.message); }",
      { GEOLIP_LOG: 'loud' },
    );
    expect(r.stdout.trim()).toBe(
      "InvalidArgumentError: initBackend: 'GEOLIP_LOG' must be 'silent', 'info' or 'debug', got 'loud'",
    );
  });
});

describe.skipIf(onceOnly)('ensureBackend', () => {
  it('chooses wasm when no backend is active and says so once, naming the caller', () => {
    const r = run(
      "import { ensureBackend } from '@geolip/geometry/backend';" +
        "const names = await Promise.all([ensureBackend('myModel.load'), ensureBackend('myModel.load')]);" +
        "names.push(await ensureBackend('other')); console.log(names.join(','));",
    );
    expect(r.stdout.trim()).toBe('wasm,wasm,wasm');
    expect(geolipLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^\[geolip\] myModel\.load: no backend chosen, using wasm \(SIMD, 1 thread\); call initBackend\(\) to choose$/,
      ),
    ]);
  });

  it('says when it falls back to cpu because wasm is missing, and how to fix it', () => {
    // A stand-in init: what initBackend returns and logs when @tensorflow/tfjs-backend-wasm is not installed.
    const r = run(
      "import * as tf from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-cpu';" +
        "import { ensureBackend } from '@geolip/geometry/backend';" +
        'const init = async ({ log }) => { await tf.setBackend("cpu"); log("[geolip] backend: cpu");' +
        ' return { name: "cpu", skipped: [{ name: "wasm", reason: "@tensorflow/tfjs-backend-wasm is not installed" }] }; };' +
        "console.log(await ensureBackend('loadGeolipText', init));",
    );
    expect(r.stdout.trim()).toBe('cpu');
    expect(geolipLines(r.stderr)).toEqual([
      '[geolip] loadGeolipText: no backend chosen, using cpu (wasm skipped: @tensorflow/tfjs-backend-wasm is not ' +
        'installed; @tensorflow/tfjs-backend-wasm@4.22.0 is about 25× faster); call initBackend() to choose',
    ]);
  });

  it('keeps a backend that is already active, silently', () => {
    const r = run(
      "import * as tf from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-cpu';" +
        "import { ensureBackend } from '@geolip/geometry/backend'; await tf.setBackend('cpu');" +
        "console.log(await ensureBackend('x'));",
    );
    expect(r.stdout.trim()).toBe('cpu');
    expect(geolipLines(r.stderr)).toEqual([]);
  });

  it('GEOLIP_LOG=silent hides the line; GEOLIP_BACKEND still decides', () => {
    const code = "import { ensureBackend } from '@geolip/geometry/backend'; console.log(await ensureBackend('x'));";
    const quiet = run(code, { GEOLIP_LOG: 'silent' });
    expect([quiet.stdout.trim(), geolipLines(quiet.stderr)]).toEqual(['wasm', []]);
    const cpu = run(code, { GEOLIP_BACKEND: 'cpu' });
    expect(cpu.stdout.trim()).toBe('cpu');
    expect(geolipLines(cpu.stderr)).toEqual([expect.stringMatching(/^\[geolip\] x: no backend chosen, using cpu;/)]);
  });
});
