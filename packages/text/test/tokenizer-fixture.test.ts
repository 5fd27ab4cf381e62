// Id-for-id comparison with HuggingFace transformers.BertTokenizer(vocab_file=vocab/bert-base-uncased-vocab.txt,
// do_lower_case=True). The fixture is written by test/fixtures/gen_tokenizer_fixture.py (needs `transformers`;
// run it where that is installed and commit the JSON). Without the file this suite is skipped, loudly.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { loadBertUncasedTokenizer } from '../src/index.js';

interface Fixture {
  generator: string;
  max_length: number;
  inputs: string[];
  tokens: string[][];
  ids: number[][];
  truncated?: { max_length: number; ids: number[][] };
}

const FIXTURE = fileURLToPath(new URL('./fixtures/tokenizer-fixture.json', import.meta.url));
const present = existsSync(FIXTURE);
if (!present) {
  console.warn(
    `tokenizer-fixture.test.ts: SKIPPED, ${FIXTURE} is missing. Generate it with\n` +
      '  cd packages/text/test/fixtures && python3 gen_tokenizer_fixture.py --vocab ../../vocab/bert-base-uncased-vocab.txt --out tokenizer-fixture.json',
  );
}

describe.skipIf(!present)('BertTokenizer matches HuggingFace BertTokenizer (fixture)', () => {
  const fx: Fixture = present
    ? (JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture)
    : { generator: '', max_length: 512, inputs: [], tokens: [], ids: [] };

  it('the fixture is well formed', () => {
    expect(fx.inputs.length).toBeGreaterThan(0);
    expect(fx.tokens).toHaveLength(fx.inputs.length);
    expect(fx.ids).toHaveLength(fx.inputs.length);
  });

  it('same tokens for every input', async () => {
    const tok = await loadBertUncasedTokenizer();
    const mismatches = fx.inputs.flatMap((text, i) => {
      const got = tok.tokenize(text);
      return JSON.stringify(got) === JSON.stringify(fx.tokens[i]) ? [] : [{ i, text, expected: fx.tokens[i], got }];
    });
    expect(mismatches).toEqual([]);
  });

  it('same ids (with [CLS]/[SEP], truncated at max_length) for every input', async () => {
    const tok = await loadBertUncasedTokenizer();
    const mismatches = fx.inputs.flatMap((text, i) => {
      const got = tok.encode(text, { maxLength: fx.max_length }).inputIds;
      return JSON.stringify(got) === JSON.stringify(fx.ids[i]) ? [] : [{ i, text, expected: fx.ids[i], got }];
    });
    expect(mismatches).toEqual([]);
  });

  it.skipIf(fx.truncated === undefined)('same ids with a short max_length (truncation)', async () => {
    const tok = await loadBertUncasedTokenizer();
    const t = fx.truncated!;
    const got = fx.inputs.map((text) => tok.encode(text, { maxLength: t.max_length }).inputIds);
    expect(got).toEqual(t.ids);
  });
});
