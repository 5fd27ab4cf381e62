import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMrpc, loadSick, loadStsb, mrpcDevSplit, parseMrpc, parseSick, parseStsb } from '../../src/data/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../../..');
const DATA = process.env.GEOLIP_DATA ? resolve(process.env.GEOLIP_DATA) : resolve(repoRoot, '../shared/data');
const hasData = existsSync(join(DATA, 'stsb')) && existsSync(join(DATA, 'sick')) && existsSync(join(DATA, 'mrpc'));
if (!hasData)
  console.warn(`[text/test/data] shared data not found at ${DATA} (set GEOLIP_DATA): real-file tests are skipped`);
const FIX = resolve(here, '../fixtures');

const row = (...c: string[]): string => c.join('\t');

describe('parseStsb', () => {
  it('parses TAB-only rows, keeps quotes, ignores extra trailing columns, skips blank lines', () => {
    const text = [
      row('main-captions', 'MSRvid', '2012test', '0001', '5.000', 'A "quoted" man.', 'A man!'),
      '',
      row('main-news', 'headlines', '2016', '0281', '3.2', 's1', 's2', 'extra1', 'extra2'),
      '',
    ].join('\r\n');
    const ds = parseStsb(text, 'x.csv', { split: 'dev' });
    expect(ds.task).toBe('stsb');
    expect(ds.split).toBe('dev');
    expect(ds.pairs).toEqual([
      { a: 'A "quoted" man.', b: 'A man!', score: 5, id: '0001', genre: 'main-captions', line: 1 },
      { a: 's1', b: 's2', score: 3.2, id: '0281', genre: 'main-news', line: 3 },
    ]);
    expect(ds.dropped).toBe(0);
  });
  it('malformed rows throw FormatError with file and 1-based line', () => {
    const good = row('g', 'f', 'y', '1', '2.5', 'a', 'b');
    expect(() => parseStsb(`${good}\n${row('g', 'f', 'y', '1', '2.5')}\n`, '/x/sts-dev.csv')).toThrow(
      "parseStsb: 'file' /x/sts-dev.csv line 2: expected at least 7 TAB-separated columns, got 5",
    );
    expect(() => parseStsb(row('g', 'f', 'y', '1', '5.5', 'a', 'b'), 'f')).toThrow(
      /line 1: score .* \[0, 5\], got '5.5'/,
    );
    expect(() => parseStsb(row('g', 'f', 'y', '1', 'abc', 'a', 'b'), 'f')).toThrow(FormatError);
    expect(() => parseStsb(row('g', 'f', 'y', '1', '', 'a', 'b'), 'f')).toThrow(FormatError);
    // CSV-style comma separation is not accepted
    expect(() => parseStsb('g,f,y,1,2.5,a,b', 'f')).toThrow(/got 1/);
  });
  it('dropMalformed skips and counts', () => {
    const good = row('g', 'f', 'y', '1', '2.5', 'a', 'b');
    const ds = parseStsb([good, 'junk', good, row('g', 'f', 'y', '1', '-1', 'a', 'b'), good].join('\n'), 'f', {
      dropMalformed: true,
    });
    expect(ds.pairs.map((p) => p.line)).toEqual([1, 3, 5]);
    expect(ds.dropped).toBe(2);
    expect(ds.droppedLines).toEqual([2, 4]);
  });
  it('doc example', () => {
    expect(parseStsb('main-captions\tMSRvid\t2012test\t0001\t5.000\tA man.\tA man!\n', 'x.csv').pairs[0]!.score).toBe(
      5,
    );
  });
  it('committed STS-B mini fixture (with the 9-column row)', async () => {
    const ds = await loadStsb(join(FIX, 'stsb-mini'), 'dev');
    expect(ds.pairs).toHaveLength(4);
    expect(ds.pairs[3]!.id).toBe('0281');
    expect(ds.pairs[3]!.b).toBe("High court checks President's recess appointment power");
  });
});

describe('parseSick', () => {
  it('optional header, BOM, columns', () => {
    const body = row('24', 'A man', 'A person', '3.4', 'NEUTRAL');
    const withHeader = parseSick(
      `\uFEFF${row('pair_ID', 'sentence_A', 'sentence_B', 'relatedness_score', 'entailment_judgment')}\n${body}\n`,
      'f',
    );
    expect(withHeader.pairs).toEqual([
      { a: 'A man', b: 'A person', score: 3.4, entailment: 'NEUTRAL', id: '24', line: 2 },
    ]);
    const noHeader = parseSick(`\uFEFF${body}`, 'f');
    expect(noHeader.pairs[0]!.line).toBe(1);
    expect(noHeader.pairs[0]!.a).toBe('A man');
  });
  it('malformed rows', () => {
    expect(() => parseSick(row('1', 'a', 'b', '0.5', 'NEUTRAL'), '/s.txt')).toThrow(
      /'file' \/s.txt line 1: relatedness/,
    );
    expect(() => parseSick(row('1', 'a', 'b', '3', 'MAYBE'), 'f')).toThrow(/entailment/);
    expect(() => parseSick(row('1', 'a', 'b'), 'f')).toThrow(/at least 5 TAB-separated columns, got 3/);
    expect(
      parseSick(`${row('1', 'a', 'b')}\n${row('2', 'a', 'b', '3', 'ENTAILMENT')}`, 'f', { dropMalformed: true })
        .droppedLines,
    ).toEqual([1]);
  });
  it('doc example', () => {
    expect(
      parseSick('pair_ID\tA\tB\tr\te\n1\tA dog runs\tA dog is running\t4.9\tENTAILMENT\n', 'x.txt').pairs[0]!.line,
    ).toBe(2);
  });
});

describe('parseMrpc', () => {
  it('BOM, optional header, label and id', () => {
    const ds = parseMrpc(
      `\uFEFF${row('Quality', '#1 ID', '#2 ID', '#1 String', '#2 String')}\n${row('0', '7', '8', 'a "b"', 'c')}\n`,
      'f',
    );
    expect(ds.pairs).toEqual([{ a: 'a "b"', b: 'c', label: 0, id: '7-8', line: 2 }]);
    expect(parseMrpc('\uFEFF1\t10\t11\tHe left.\tHe went away.\n', 'x.txt').pairs[0]!.label).toBe(1);
  });
  it('malformed rows', () => {
    expect(() => parseMrpc(row('2', '1', '2', 'a', 'b'), '/m.txt')).toThrow(
      "parseMrpc: 'file' /m.txt line 1: Quality (column 1) must be 0 or 1, got '2'",
    );
    expect(() => parseMrpc(`${row('1', '1', '2', 'a', 'b')}\n${row('1', '1')}`, 'f')).toThrow(/line 2/);
  });
  it('mrpcDevSplit is deterministic, stratified and disjoint', () => {
    const text = Array.from({ length: 100 }, (_, i) =>
      row(i % 3 === 0 ? '0' : '1', String(i), String(i + 1000), `a${i}`, `b${i}`),
    ).join('\n');
    const ds = parseMrpc(text, 'f', { split: 'train' });
    const s1 = mrpcDevSplit(ds, { fraction: 0.2, seed: 3 });
    const s2 = mrpcDevSplit(ds, { fraction: 0.2, seed: 3 });
    const s3 = mrpcDevSplit(ds, { fraction: 0.2, seed: 4 });
    expect(s1.dev.pairs.map((p) => p.id)).toEqual(s2.dev.pairs.map((p) => p.id));
    expect(s1.dev.pairs.map((p) => p.id)).not.toEqual(s3.dev.pairs.map((p) => p.id));
    expect(s1.dev.pairs).toHaveLength(Math.round(0.2 * 34) + Math.round(0.2 * 66));
    expect(s1.dev.pairs.filter((p) => p.label === 0)).toHaveLength(7);
    expect(s1.train.pairs.length + s1.dev.pairs.length).toBe(100);
    const devIds = new Set(s1.dev.pairs.map((p) => p.id));
    expect(s1.train.pairs.some((p) => devIds.has(p.id))).toBe(false);
    expect(s1.dev.split).toBe('train:dev');
    expect(() => mrpcDevSplit(ds, { fraction: 1 })).toThrow(InvalidArgumentError);
    expect(() => mrpcDevSplit(ds, { seed: 0.5 })).toThrow(InvalidArgumentError);
  });
});

describe('loaders: paths and errors', () => {
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'geolip-bench-data-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  it('missing file → InvalidArgumentError naming the expected paths', async () => {
    await expect(loadStsb(tmp, 'dev')).rejects.toThrow(InvalidArgumentError);
    await expect(loadStsb(tmp, 'dev')).rejects.toThrow(join(tmp, 'stsb', 'sts-dev.csv'));
    await expect(loadSick(tmp, 'test')).rejects.toThrow(join(tmp, 'sick', 'SICK_test_annotated.txt'));
    await expect(loadMrpc(tmp, 'test')).rejects.toThrow(join(tmp, 'mrpc', 'original', 'msr_paraphrase_test.txt'));
  });
  it('bad split → InvalidArgumentError', async () => {
    await expect(loadStsb(tmp, 'val' as 'dev')).rejects.toThrow(/'split' must be one of 'train', 'dev', 'test'/);
    await expect(loadMrpc(tmp, 'dev' as 'train')).rejects.toThrow(InvalidArgumentError);
  });
  it('accepts the file directly under dir and loads the test-file names', async () => {
    await writeFile(join(tmp, 'sts-test.csv'), row('g', 'f', 'y', '1', '2', 'a', 'b'));
    expect((await loadStsb(tmp, 'test')).pairs).toHaveLength(1);
    await mkdir(join(tmp, 'sick'));
    await writeFile(join(tmp, 'sick', 'SICK_test_annotated.txt'), row('1', 'a', 'b', '2', 'NEUTRAL'));
    expect((await loadSick(tmp, 'test')).split).toBe('test');
    await mkdir(join(tmp, 'mrpc'));
    await writeFile(join(tmp, 'mrpc', 'msr_paraphrase_test.txt'), `\uFEFF${row('1', '1', '2', 'a', 'b')}\n`);
    expect((await loadMrpc(tmp, 'test')).pairs[0]!.label).toBe(1);
  });
  it.skipIf(!hasData)('a corrupted copy of STS-B dev reports the loader, path and line', async () => {
    const lines = (await readFile(join(DATA, 'stsb', 'sts-dev.csv'), 'utf8')).split('\n');
    lines[16] = lines[16]!.split('\t').slice(0, 5).join('\t');
    await mkdir(join(tmp, 'bad', 'stsb'), { recursive: true });
    const file = join(tmp, 'bad', 'stsb', 'sts-dev.csv');
    await writeFile(file, lines.join('\n'));
    await expect(loadStsb(join(tmp, 'bad'), 'dev')).rejects.toThrow(
      `loadStsb: 'file' ${file} line 17: expected at least 7 TAB-separated columns, got 5`,
    );
    const ds = await loadStsb(join(tmp, 'bad'), 'dev', { dropMalformed: true });
    expect(ds.pairs).toHaveLength(1499);
    expect(ds.dropped).toBe(1);
    expect(ds.droppedLines).toEqual([17]);
  });
});

describe.skipIf(!hasData)(`real files in ${DATA}`, () => {
  it('STS-B dev 1500 (22 rows with extra columns), train 5749', async () => {
    const dev = await loadStsb(DATA, 'dev');
    expect(dev.pairs).toHaveLength(1500);
    expect(dev.dropped).toBe(0);
    expect(dev.pairs[0]).toEqual({
      a: 'A man with a hard hat is dancing.',
      b: 'A man wearing a hard hat is dancing.',
      score: 5,
      id: '0000',
      genre: 'main-captions',
      line: 1,
    });
    expect(dev.pairs.every((p) => p.score! >= 0 && p.score! <= 5 && !p.b.includes('\t'))).toBe(true);
    const raw = (await readFile(dev.file, 'utf8')).split('\n').filter((l) => l.split('\t').length > 7);
    expect(raw).toHaveLength(22);
    expect((await loadStsb(DATA, 'train')).pairs).toHaveLength(5749);
    expect((await loadStsb(join(DATA, 'stsb'), 'dev')).pairs).toHaveLength(1500);
  });
  it('SICK trial 500, train 4500 (no header in the shared copies)', async () => {
    const trial = await loadSick(DATA, 'trial');
    expect(trial.pairs).toHaveLength(500);
    expect(trial.pairs[0]!.line).toBe(1);
    expect(trial.pairs.every((p) => p.score! >= 1 && p.score! <= 5)).toBe(true);
    const train = await loadSick(DATA, 'train');
    expect(train.pairs).toHaveLength(4500);
    expect(new Set(train.pairs.map((p) => p.entailment))).toEqual(new Set(['ENTAILMENT', 'NEUTRAL', 'CONTRADICTION']));
  });
  it('MRPC train 4076 (BOM stripped, no header), dev carve-out', async () => {
    const train = await loadMrpc(DATA, 'train');
    expect(train.pairs).toHaveLength(4076);
    expect(train.pairs[0]!.label).toBe(1);
    expect(train.pairs[0]!.id).toBe('702876-702977');
    const pos = train.pairs.filter((p) => p.label === 1).length;
    const { train: fit, dev } = mrpcDevSplit(train);
    expect(dev.pairs).toHaveLength(Math.round(0.1 * pos) + Math.round(0.1 * (4076 - pos)));
    expect(dev.pairs).toHaveLength(407);
    expect(fit.pairs.length + dev.pairs.length).toBe(4076);
  });
});
