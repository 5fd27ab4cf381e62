// The README's usage example, as written (the backend is the one test/setup.ts selected).
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

import { loadBertUncasedTokenizer, toTensors } from '../src/index.js';

it('README usage: tokenize, encode, batch to tensors, decode', async () => {
  const tokenizer = await loadBertUncasedTokenizer();

  expect(tokenizer.tokenize('Unaffable café, 日本!')).toEqual(['una', '##ffa', '##ble', 'cafe', ',', '日', '本', '!']);
  const { inputIds, attentionMask } = tokenizer.encode('Hello, World!');
  expect(inputIds).toEqual([101, 7592, 1010, 2088, 999, 102]);
  expect(attentionMask).toEqual([1, 1, 1, 1, 1, 1]);

  const batch = tokenizer.encodeBatch(['A man is playing a flute.', 'Hello!'], { maxLength: 128 });
  expect(batch.shape).toEqual([2, 9]);
  const t = toTensors(batch); // { inputIds: int32 [2, 9], attentionMask: float32 [2, 9] }
  expect(t.inputIds.shape).toEqual([2, 9]);
  tf.dispose([t.inputIds, t.attentionMask]);

  expect(tokenizer.decode(inputIds)).toBe('hello, world!');
});
