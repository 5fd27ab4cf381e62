// The loaders and baselines live in @geolip/text; bench re-exports them unchanged.
import * as textData from '@geolip/text/data';
import * as textExperts from '@geolip/text/experts';
import { describe, expect, it } from 'vitest';
import * as bench from '../src/index.js';

describe('re-exports from @geolip/text', () => {
  it('exports the data loaders of @geolip/text/data, the same functions', () => {
    const names = [
      'parseStsb',
      'loadStsb',
      'parseSick',
      'loadSick',
      'SICK_ENTAILMENT',
      'parseMrpc',
      'loadMrpc',
      'mrpcDevSplit',
      'parseCocoCaptions',
      'loadCocoCaptions',
      'parseCocoInstances',
      'loadCocoInstances',
      'cocoRetrievalTargets',
    ] as const;
    for (const n of names) {
      expect(bench[n], n).toBeDefined();
      expect(bench[n], n).toBe(textData[n]);
    }
  });

  it('exports the baselines of @geolip/text/experts, the same functions', () => {
    const names = [
      'createGloveAvg',
      'tokenize',
      'ENGLISH_STOPWORDS',
      'GLOVE_DIM',
      'createUseLite',
      'USE_LITE_DIM',
    ] as const;
    for (const n of names) {
      expect(bench[n], n).toBeDefined();
      expect(bench[n], n).toBe(textExperts[n]);
    }
  });
});
