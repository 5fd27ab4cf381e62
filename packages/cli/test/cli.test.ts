import { GeolipError, UsageError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  BACKEND_OPTION,
  EXIT,
  backendOption,
  commandHelp,
  createProgress,
  defineCommand,
  formatBar,
  formatDuration,
  integer,
  oneOf,
  parseCommandLine,
  positiveInt,
  positiveNumber,
  programHelp,
  runProgram,
  startBackend,
  versionOf,
  type Program,
} from '../src/index.js';

function capture(tty = false) {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s), isTTY: tty },
  };
  return { io, out };
}

const seen: unknown[] = [];
const run = defineCommand({
  name: 'run',
  summary: 'run something',
  usage: '<what> [options]',
  description: 'Runs <what>.',
  positionals: { min: 1, max: 1, names: '<what>' },
  options: {
    out: { type: 'string', value: '<file>', description: 'where to write\n(a second line)' },
    raw: { type: 'boolean', description: 'keep raw arrays' },
    tag: { type: 'string', multiple: true, value: '<t>', description: 'a tag (repeatable)' },
  },
  async run(args, ctx) {
    // typed: out is string | undefined, raw boolean | undefined, tag string[] | undefined
    const out: string | undefined = args.values.out;
    const raw: boolean | undefined = args.values.raw;
    const tags: string[] | undefined = args.values.tag;
    seen.push({ out, raw, tags, positionals: args.positionals });
    if (args.positionals[0] === 'fail') throw new Error('boom\nsecond line');
    if (args.positionals[0] === 'usage') throw ctx.usage('bad what', 'what');
    if (args.positionals[0] === 'stop') return EXIT.interrupted;
    ctx.io.stdout.write('ran\n');
    return EXIT.ok;
  },
});
const program: Program = {
  name: 'tool',
  summary: 'a test tool',
  version: '1.2.3',
  commands: [run],
  epilogue: 'Exit status: 0, 1, 2.',
};

describe('parseCommandLine', () => {
  const op = 'tool run';
  it('parses --flag value, --flag=value, booleans, repeatable flags and positionals', () => {
    const r = parseCommandLine(op, run, ['x', '--out', 'a.json', '--raw', '--tag', 'p', '--tag=q']);
    expect(r.values).toEqual({ out: 'a.json', raw: true, tag: ['p', 'q'] });
    expect(r.positionals).toEqual(['x']);
    expect(parseCommandLine(op, run, ['x', '--out=--weird']).values.out).toBe('--weird');
    expect(parseCommandLine(op, run, ['x', '--out', '-1']).values.out).toBe('-1');
    expect(parseCommandLine(op, run, ['--', '--raw']).positionals).toEqual(['--raw']);
  });
  it.each([
    [['x', '--bogus'], "unknown option --bogus (see 'tool run --help')"],
    [['x', '-q'], "unknown option -q (see 'tool run --help')"],
    [['x', '--out'], '--out needs a value <file>'],
    [['x', '--out', '--raw'], '--out needs a value <file>'],
    [['x', '--raw=1'], '--raw takes no value'],
    [['x', '--out', 'a', '--out', 'b'], '--out given 2 times (it takes one value)'],
    [['x', '--raw', '--raw'], '--raw given 2 times (it takes one value)'],
    [['x', 'y'], "unexpected argument 'y'"],
    [[], "needs <what> (see 'tool run --help')"],
  ])('%j is a usage error: %s', (argv, message) => {
    let error: unknown;
    try {
      parseCommandLine(op, run, argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(GeolipError.isInstance(error)).toBe(true);
    expect((error as UsageError).detail).toBe(message);
    expect((error as UsageError).message).toBe(`tool run: ${message}`);
    expect((error as UsageError).op).toBe('tool run');
  });
  it('names the flag at fault', () => {
    expect(() => parseCommandLine(op, run, ['x', '--bogus'])).toThrow(expect.objectContaining({ argument: '--bogus' }));
  });
});

describe('help text', () => {
  it('a command lists its synopsis, description and every option with its placeholder', () => {
    const h = commandHelp('tool', run);
    expect(h).toContain('Usage: tool run <what> [options]');
    expect(h).toContain('Runs <what>.');
    expect(h).toMatch(/^ {6}--out <file> +where to write\n {2}\s+\(a second line\)$/m);
    expect(h).toMatch(/^ {6}--raw +keep raw arrays$/m);
    expect(h).toMatch(/^ {6}--tag <t> +a tag \(repeatable\)$/m);
    expect(h).toMatch(/^ {2}-h, --help +print this help and exit$/m);
    // descriptions start in one column
    const cols = h
      .split('\n')
      .filter((l) => /^ {2}(-h|  {2}--)/.test(l))
      .map((l) => l.search(/ {2}\S[^-]*$/));
    expect(new Set(cols).size).toBe(1);
  });
  it('the program lists each command synopsis and summary and its epilogue', () => {
    const h = programHelp(program);
    expect(h).toContain('tool: a test tool');
    expect(h).toContain('  tool run <what> [options]');
    expect(h).toMatch(/^ {2}run +run something$/m);
    expect(h).toContain("Run 'tool <command> --help'");
    expect(h.trimEnd().endsWith('Exit status: 0, 1, 2.')).toBe(true);
  });
});

describe('runProgram', () => {
  it('dispatches, with typed values', async () => {
    const c = capture();
    expect(await runProgram(program, ['run', 'x', '--tag', 'a'], c.io)).toBe(0);
    expect(c.out.stdout).toBe('ran\n');
    expect(seen.at(-1)).toEqual({ out: undefined, raw: undefined, tags: ['a'], positionals: ['x'] });
  });
  it('help: the program (0), a command (0, by --help, -h or help <command>), none given (2)', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const c = capture();
      expect(await runProgram(program, argv, c.io)).toBe(0);
      expect(c.out.stdout).toBe(programHelp(program));
    }
    for (const argv of [
      ['run', '--help'],
      ['run', '-h'],
      ['help', 'run'],
      ['run', 'x', '--out', 'f', '--help'],
    ]) {
      const c = capture();
      expect(await runProgram(program, argv, c.io)).toBe(0);
      expect(c.out.stdout).toBe(commandHelp('tool', run));
    }
    const none = capture();
    expect(await runProgram(program, [], none.io)).toBe(EXIT.usage);
    expect(none.out.stdout).toContain('Usage:');
  });
  it('--version and -v print the version', async () => {
    for (const argv of [['--version'], ['-v']]) {
      const c = capture();
      expect(await runProgram(program, argv, c.io)).toBe(0);
      expect(c.out.stdout).toBe('1.2.3\n');
    }
  });
  it("usage errors: one line, EXIT.usage; other errors: first line, exit 1; a command's own status passes through", async () => {
    const unknown = capture();
    expect(await runProgram(program, ['frob'], unknown.io)).toBe(EXIT.usage);
    expect(unknown.out.stderr).toBe("tool: error: unknown command 'frob'; valid commands: run, help\n");
    const flag = capture();
    expect(await runProgram(program, ['run', 'x', '--out', 'a', '--out', 'b'], flag.io)).toBe(EXIT.usage);
    expect(flag.out.stderr).toBe('tool: error: --out given 2 times (it takes one value)\n');
    const thrown = capture();
    expect(await runProgram(program, ['run', 'usage'], thrown.io)).toBe(EXIT.usage);
    expect(thrown.out.stderr).toBe('tool: error: bad what\n');
    const failed = capture();
    expect(await runProgram(program, ['run', 'fail'], failed.io)).toBe(1);
    expect(failed.out.stderr).toBe('tool: error: boom\n');
    expect(await runProgram(program, ['run', 'stop'], capture().io)).toBe(75);
  });
});

describe('option values', () => {
  const ctx = { op: 'tool run' };
  it('positiveInt, integer, positiveNumber, oneOf', () => {
    expect(positiveInt(ctx, '--n', undefined, 64)).toBe(64);
    expect(positiveInt(ctx, '--n', '8', 64)).toBe(8);
    expect(() => positiveInt(ctx, '--n', '0', 1)).toThrow("tool run: --n must be a positive integer, got '0'");
    expect(() => positiveInt(ctx, '--n', '1.5')).toThrow(UsageError);
    expect(integer(ctx, '--seed', '-3', 0)).toBe(-3);
    expect(() => integer(ctx, '--seed', 'x', 0)).toThrow("--seed must be an integer, got 'x'");
    expect(positiveNumber(ctx, '--t', '1.5')).toBe(1.5);
    expect(() => positiveNumber(ctx, '--t', '-1', 'number of seconds')).toThrow(
      "--t must be a positive number of seconds, got '-1'",
    );
    expect(oneOf(ctx, 'split', undefined, ['dev', 'test'], 'dev')).toBe('dev');
    expect(() => oneOf(ctx, 'split', 'val', ['dev', 'test'], 'dev')).toThrow(
      "unknown split 'val'; valid splits: dev, test",
    );
  });
  it('backendOption: the one backend-name check, as a usage error', () => {
    expect(backendOption(ctx, 'cpu')).toBe('cpu');
    expect(backendOption(ctx, undefined)).toBeUndefined();
    let error: unknown;
    try {
      backendOption(ctx, 'tpu');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).detail).toBe(
      "'--backend' names an unknown backend 'tpu' (known: tensorflow, webgpu, webgl, wasm, cpu)",
    );
  });
  it('versionOf: the build-time constant, else package.json, else unknown', () => {
    expect(versionOf('9.9.9', import.meta.url)).toBe('9.9.9');
    expect(versionOf(undefined, new URL('../src/index.ts', import.meta.url).href)).toMatch(/^\d+\.\d+\.\d+/);
    expect(versionOf(undefined, 'file:///nowhere/at/all.js')).toBe('unknown');
  });
});

describe('progress', () => {
  it('formatBar and formatDuration', () => {
    expect(formatBar(0.3, 10)).toBe('[###-------]');
    expect(formatBar(2, 4)).toBe('[####]');
    expect(formatDuration(7)).toBe('0:07');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Infinity)).toBe('?');
  });
  it('on a terminal: one bar redrawn in place, ended by a newline', () => {
    const c = capture(true);
    const bar = createProgress(c.io.stderr, 'embed', { width: 10 });
    bar.update(3, 10);
    bar.update(10, 10);
    bar.end();
    expect(c.out.stderr).toBe('\rembed [###-------]  30% 3/10\rembed [##########] 100% 10/10\n');
  });
  it('in a log: a line per new tenth; a given text replaces the line', () => {
    const c = capture(false);
    const bar = createProgress(c.io.stderr, 'stsb dev', { unit: 'sentences' });
    for (let i = 0; i <= 20; i++) bar.update(i, 20);
    bar.end();
    const lines = c.out.stderr.trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toBe('stsb dev: 20/20 sentences (100%)');
    const t = capture(false);
    createProgress(t.io.stderr, 'train').update(1, 2, 'step 1/2 loss 0.5');
    expect(t.out.stderr).toBe('step 1/2 loss 0.5\n');
  });
});

describe('help layout', () => {
  it('wraps descriptions and prose to 100 columns, keeping indented lines as written', () => {
    const long = defineCommand({
      name: 'long',
      summary: 'a command with long texts',
      description: `${'word '.repeat(40)}\nmore words on the next line join the paragraph.\n\nList:\n  item one ${'x'.repeat(95)}\n  item two`,
      options: { opt: { type: 'string', value: '<v>', description: 'lorem ipsum '.repeat(20) } },
      async run() {
        return EXIT.ok;
      },
    });
    const h = commandHelp('tool', long);
    const lines = h.split('\n');
    expect(lines.filter((l) => l.length > 100 && !l.startsWith('  item one'))).toEqual([]);
    expect(h).toContain('  item two');
    expect(h.replace(/\n/g, ' ')).toMatch(/word more words on the next line/);
    const optionLines = lines.filter((l) => l.includes('lorem'));
    expect(optionLines.length).toBeGreaterThan(2);
    expect(new Set(optionLines.slice(1).map((l) => l.search(/\S/))).size).toBe(1);
  });
});

describe('startBackend', () => {
  it('asks for the named backend, logs only with GEOLIP_DEBUG=1, and notes an override', async () => {
    const calls: unknown[] = [];
    const debugFlags: unknown[] = [];
    const init = async (options: { prefer?: readonly string[]; log?: (m: string) => void; debug?: boolean }) => {
      calls.push(options.prefer);
      debugFlags.push(options.debug);
      options.log?.('init log');
      return { name: 'wasm' };
    };
    const debug = process.env.GEOLIP_DEBUG;
    const log = process.env.GEOLIP_LOG;
    delete process.env.GEOLIP_DEBUG;
    delete process.env.GEOLIP_LOG;
    try {
      const c = capture();
      expect(await startBackend(init, 'wasm', c.io)).toBe('wasm');
      expect(c.out.stderr).toBe('');
      const o = capture();
      expect(await startBackend(init, 'cpu', o.io)).toBe('wasm');
      expect(o.out.stderr).toMatch(/^note: backend 'wasm' is active \(requested 'cpu'; GEOLIP_BACKEND=/);
      process.env.GEOLIP_DEBUG = '1';
      const d = capture();
      await startBackend(init, undefined, d.io);
      expect(d.out.stderr).toBe('init log\n');
      delete process.env.GEOLIP_DEBUG;
      process.env.GEOLIP_LOG = 'debug'; // the library-wide switch works for the CLIs too
      const l = capture();
      await startBackend(init, undefined, l.io);
      expect(l.out.stderr).toBe('init log\n');
      expect(calls).toEqual([['wasm'], ['cpu'], undefined, undefined]);
      expect(debugFlags).toEqual([false, false, true, true]);
    } finally {
      if (debug === undefined) delete process.env.GEOLIP_DEBUG;
      else process.env.GEOLIP_DEBUG = debug;
      if (log === undefined) delete process.env.GEOLIP_LOG;
      else process.env.GEOLIP_LOG = log;
    }
    expect(BACKEND_OPTION.description).toContain('tensorflow, webgpu, webgl, wasm, cpu');
  });
});

describe('help computed when printed', () => {
  it('a description or epilogue given as a function is called each time', () => {
    const items = ['a'];
    const cmd = defineCommand({
      name: 'x',
      summary: 's',
      description: () => `items:\n${items.map((i) => `  ${i}`).join('\n')}`,
      options: {},
      async run() {
        return EXIT.ok;
      },
    });
    const prog: Program = {
      name: 'p',
      summary: 's',
      version: '0',
      commands: [cmd],
      epilogue: () => `count ${items.length}`,
    };
    expect(commandHelp('p', cmd)).toContain('  a');
    items.push('b');
    expect(commandHelp('p', cmd)).toContain('  b');
    expect(programHelp(prog)).toContain('count 2');
  });
});
