import { loadStsb } from '@geolip/text/data';
import { pairTask } from './pair.js';

/** STS-B (Spearman / Pearson of cosine vs gold); its dev split is embedded in the package. */
export const stsb = pairTask(
  'stsb',
  'STS Benchmark: Spearman and Pearson of cosine vs the gold score (dev split embedded)',
  async (o) => {
    if (!o.dataGiven && o.split !== 'dev')
      throw o.usage(`--split test needs --data <dir>; only the STS-B dev split is embedded (run 'geolip-bench data')`);
    return { evalSet: await loadStsb(o.dataDir, o.split, { dropMalformed: o.dropMalformed }) };
  },
);
