// The runtime of loadGeolipText(): the rule (chooseTextRuntime, with onnxruntime-node's presence injected), what
// loadGeolipText does with it in this repository (onnxruntime-node is a dev dependency, so the automatic choice on
// the CPU is 'ort'), and the one interface both runtimes return: encode / similarity / progress on the ort embedder
// give the tfjs embedder's values (1e-5), with the same typed errors.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '@geolip/geometry';

import {
  Embeddings,
  SentenceEmbedder,
  calibrationRanges,
  chooseTextRuntime,
  loadGeolipText,
  quantizeEmbeddings,
} from '../src/index.js';
import type { EncodeOptions, EncodeProgress, TextEmbedder } from '../src/index.js';

describe('chooseTextRuntime', () => {
  const installed = () => true;
  const missing = () => false;

  it('an explicit runtime wins over GEOLIP_RUNTIME and over what is installed (which it does not ask)', () => {
    const probe = vi.fn(installed);
    expect(chooseTextRuntime('op', { option: 'tfjs', env: 'ort', ortInstalled: probe, tfjsBackend: null })).toEqual({
      runtime: 'tfjs',
      source: 'option',
      reason: 'options.runtime',
    });
    expect(
      chooseTextRuntime('op', { option: 'ort', env: 'tfjs', ortInstalled: missing, tfjsBackend: 'webgl' }).runtime,
    ).toBe('ort');
    expect(probe).not.toHaveBeenCalled();
  });

  it('GEOLIP_RUNTIME overrides the automatic choice; blank and auto count as unset', () => {
    expect(
      chooseTextRuntime('op', { option: undefined, env: 'tfjs', ortInstalled: installed, tfjsBackend: null }),
    ).toEqual({
      runtime: 'tfjs',
      source: 'env',
      reason: 'GEOLIP_RUNTIME',
    });
    expect(
      chooseTextRuntime('op', { option: undefined, env: ' ORT ', ortInstalled: missing, tfjsBackend: 'webgpu' })
        .runtime,
    ).toBe('ort');
    for (const env of ['', 'auto', undefined])
      expect(
        chooseTextRuntime('op', { option: undefined, env, ortInstalled: installed, tfjsBackend: null }).source,
      ).toBe('auto');
  });

  it("automatically: 'ort' when onnxruntime-node is installed and tfjs is on the CPU (none chosen, cpu, wasm)", () => {
    for (const tfjsBackend of [null, 'cpu', 'wasm'])
      expect(
        chooseTextRuntime('op', { option: undefined, env: undefined, ortInstalled: installed, tfjsBackend }),
      ).toEqual({
        runtime: 'ort',
        source: 'auto',
        reason: 'onnxruntime-node is installed and the device is the CPU',
      });
    expect(
      chooseTextRuntime('op', { option: undefined, env: undefined, ortInstalled: missing, tfjsBackend: null }),
    ).toEqual({
      runtime: 'tfjs',
      source: 'auto',
      reason: 'onnxruntime-node is not installed',
    });
  });

  it('automatically: tfjs when the caller chose a GPU (or native) tfjs backend, installed or not', () => {
    const probe = vi.fn(installed);
    for (const tfjsBackend of ['webgpu', 'webgl', 'tensorflow']) {
      const c = chooseTextRuntime('op', { option: undefined, env: undefined, ortInstalled: probe, tfjsBackend });
      expect(c.runtime).toBe('tfjs');
      expect(c.reason).toBe(`the tfjs backend is ${tfjsBackend} (onnxruntime is the default on CPU only)`);
    }
    expect(probe).not.toHaveBeenCalled();
  });

  it('refuses an unknown runtime by name, from the option or the environment', () => {
    const facts = { env: undefined, ortInstalled: installed, tfjsBackend: null };
    expect(() => chooseTextRuntime('loadGeolipText', { ...facts, option: 'onnx' })).toThrow(
      new InvalidArgumentError('loadGeolipText', 'options.runtime', `must be 'tfjs' or 'ort', got "onnx"`),
    );
    expect(() => chooseTextRuntime('loadGeolipText', { ...facts, option: 7 })).toThrow(
      "loadGeolipText: 'options.runtime' must be 'tfjs' or 'ort', got number",
    );
    expect(() => chooseTextRuntime('loadGeolipText', { ...facts, option: undefined, env: 'wasm' })).toThrow(
      new InvalidArgumentError('loadGeolipText', 'GEOLIP_RUNTIME', "must be 'tfjs', 'ort' or 'auto', got 'wasm'"),
    );
  });
});

describe('loadGeolipText without a runtime', () => {
  const saved = { runtime: process.env.GEOLIP_RUNTIME, log: process.env.GEOLIP_LOG };
  afterEach(() => {
    for (const [k, v] of [
      ['GEOLIP_RUNTIME', saved.runtime],
      ['GEOLIP_LOG', saved.log],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    vi.restoreAllMocks();
    vi.doUnmock('@geolip/geometry/internal');
    vi.resetModules();
  });

  it("is 'ort' here (installed, CPU backend), says so once on stderr, and GEOLIP_RUNTIME / runtime override it", async () => {
    delete process.env.GEOLIP_RUNTIME;
    delete process.env.GEOLIP_LOG;
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => void lines.push(String(m)));
    const auto = await loadGeolipText();
    expect(auto.runtime).toBe('ort');
    auto.dispose();
    (await loadGeolipText()).dispose(); // once per process
    expect(lines).toEqual([
      expect.stringMatching(
        /^\[geolip\] loadGeolipText: no runtime chosen, using ort \(onnxruntime-node \d+\.\d+\.\d+, cpu\); pass runtime: 'tfjs'/,
      ),
    ]);
    process.env.GEOLIP_RUNTIME = 'tfjs';
    const env = await loadGeolipText();
    expect(env.runtime).toBe('tfjs');
    expect(env).toBeInstanceOf(SentenceEmbedder);
    env.dispose();
    const explicit = await loadGeolipText({ runtime: 'ort' });
    expect(explicit.runtime).toBe('ort');
    explicit.dispose();
    await expect(loadGeolipText({ threads: 1 } as never)).rejects.toThrow(
      "loadGeolipText: 'options.threads' is an option of runtime 'ort', and the runtime is 'tfjs' (GEOLIP_RUNTIME)",
    );
    process.env.GEOLIP_RUNTIME = 'bogus';
    await expect(loadGeolipText()).rejects.toThrow(InvalidArgumentError);
    expect(lines).toHaveLength(1);
  });

  it('is tfjs when onnxruntime-node does not resolve (injected), and says why only at GEOLIP_LOG=debug', async () => {
    delete process.env.GEOLIP_RUNTIME;
    process.env.GEOLIP_LOG = 'debug';
    vi.resetModules();
    const real = await vi.importActual<typeof import('@geolip/geometry/internal')>('@geolip/geometry/internal');
    const importUnbundled = vi.fn(async (specifier: string) => {
      if (specifier !== '@geolip/text/ort') return real.importUnbundled(specifier);
      const ort = await real.importUnbundled<typeof import('../src/ort/index.js')>(specifier);
      return { ...ort, onnxRuntimeVersion: () => null };
    });
    vi.doMock('@geolip/geometry/internal', () => ({ ...real, importUnbundled }));
    const { loadGeolipText: load } = await import('../src/index.js');
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => void lines.push(String(m)));
    const model = await load({ batchSize: 4 });
    expect(model.runtime).toBe('tfjs');
    expect(model.batchSize).toBe(4);
    model.dispose();
    expect(importUnbundled).toHaveBeenCalledWith('@geolip/text/ort');
    expect(lines).toContain('[geolip] loadGeolipText: runtime tfjs (onnxruntime-node is not installed)');
  });
});

const SENTENCES = [
  'A man is playing the cello.',
  'A man seated is playing the cello.',
  'A plane is taking off.',
  '',
  'Three dogs run through deep snow in a field beside a line of trees, and one of them carries a stick.',
  'A woman is slicing an onion.',
  'Unaffable café, 日本!',
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('encode and similarity: the same on both runtimes', () => {
  let tfjs: TextEmbedder;
  let ort: TextEmbedder;
  beforeAll(async () => {
    tfjs = await loadGeolipText({ runtime: 'tfjs' });
    ort = await loadGeolipText({ runtime: 'ort', threads: 1 });
  });
  afterAll(() => {
    tfjs?.dispose();
    ort?.dispose();
  });

  it.each<[string, EncodeOptions]>([
    ['the defaults', {}],
    ['truncateDim 32, renormalised', { truncateDim: 32 }],
    ['truncateDim 17, not normalised', { truncateDim: 17, normalize: false }],
    ['batchSize 3', { batchSize: 3 }],
  ])('float32 rows agree to 1e-5: %s', async (_, options) => {
    const [a, b] = [await tfjs.encode(SENTENCES, options), await ort.encode(SENTENCES, options)];
    expect(b).toBeInstanceOf(Embeddings);
    expect(b.shape).toEqual(a.shape);
    expect(b.shape).toEqual([SENTENCES.length, options.truncateDim ?? 100]);
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-5);
    const [sa, sb] = [tfjs.similarity(a), ort.similarity(b)];
    expect(maxAbsDiff(sa.flat(), sb.flat())).toBeLessThan(1e-5);
    expect(maxAbsDiff(tfjs.similarityPairwise(a, a), ort.similarityPairwise(b, b))).toBeLessThan(1e-5);
    // the row norms: 1 when normalised (truncated rows re-normalised), below 1 when a truncated row is kept
    const norm = Math.hypot(...b.row(0));
    if (options.normalize === false) expect(norm).toBeLessThan(1);
    else expect(norm).toBeCloseTo(1, 6);
  });

  it('a single string is one row; embed equals encode', async () => {
    const one = await ort.encode(SENTENCES[0]!);
    expect(one.shape).toEqual([1, 100]);
    expect(maxAbsDiff(one.data, await ort.embed([SENTENCES[0]!]))).toBe(0);
    expect(maxAbsDiff(one.data, (await tfjs.encode(SENTENCES[0]!)).data)).toBeLessThan(1e-5);
  });

  it('progress: the same events on both runtimes (done after each batch, in order)', async () => {
    const seen: Record<string, EncodeProgress[]> = { tfjs: [], ort: [] };
    for (const m of [tfjs, ort])
      await m.encode(SENTENCES, { batchSize: 3, onProgress: (p) => seen[m.runtime]!.push(p) });
    const want = [3, 6, 7].map((done) => ({ done, total: 7 }));
    expect(seen.tfjs).toEqual(want);
    expect(seen.ort).toEqual(want);
  });

  it('int8 with shared calibration ranges: codes within 1; binary: the same bits away from 0', async () => {
    const [fa, fb] = [await tfjs.encode(SENTENCES), await ort.encode(SENTENCES)];
    const ranges = calibrationRanges(fa);
    const [qa, qb] = [
      await tfjs.encode(SENTENCES, { precision: 'int8', ranges }),
      await ort.encode(SENTENCES, { precision: 'int8', ranges }),
    ];
    expect(qb.data).toBeInstanceOf(Int8Array);
    expect(maxAbsDiff(qa.data, qb.data)).toBeLessThanOrEqual(1);
    // the tfjs side of binary is the float rows quantised on their own (one forward pass fewer on the cpu backend)
    const bb = await ort.encode(SENTENCES, { precision: 'binary' });
    expect(bb.shape).toEqual([SENTENCES.length, 13]);
    const signFlip = Array.from(fa.data).some((v, i) => v > 0 !== fb.data[i]! > 0);
    if (!signFlip) expect(Array.from(bb.data)).toEqual(Array.from(quantizeEmbeddings(fa, 'binary').data));
  });

  it('typed errors name OrtSentenceEmbedder.encode and the argument', async () => {
    const op = 'OrtSentenceEmbedder.encode';
    await expect(ort.encode([1] as never)).rejects.toThrow(`${op}: 'sentences[0]' must be a string, got number`);
    await expect(ort.encode(SENTENCES, { batchSize: 0 })).rejects.toThrow(
      `${op}: 'options.batchSize' must be a positive integer, got 0`,
    );
    await expect(ort.encode(SENTENCES, { truncateDim: 101 })).rejects.toThrow(
      `${op}: 'options.truncateDim' must be an integer in [1, 100], got 101`,
    );
    await expect(ort.encode(SENTENCES, { precision: 'int4' as never })).rejects.toThrow(
      `${op}: 'options.precision' must be one of float32, int8, uint8, binary, ubinary, got "int4"`,
    );
    await expect(ort.encode(SENTENCES, { onProgress: 1 as never })).rejects.toThrow(
      `${op}: 'options.onProgress' must be a function`,
    );
    const gone = await loadGeolipText({ runtime: 'ort' });
    gone.dispose();
    await expect(gone.encode(['a'])).rejects.toThrow(new InvalidArgumentError(op, 'this', 'was disposed'));
    await expect(gone.embed(['a'])).rejects.toThrow("OrtSentenceEmbedder.embed: 'this' was disposed");
  });
});
