import { loadSick } from '@geolip/text/data';
import { needsData, pairTask } from './pair.js';

/** SICK-R (Spearman / Pearson); `--split dev` evaluates the trial file. */
export const sick = pairTask('sick', "SICK relatedness: Spearman and Pearson ('dev' is SICK_trial.txt)", async (o) => {
  if (!o.dataGiven) throw o.usage(needsData('sick'));
  return {
    evalSet: await loadSick(o.dataDir, o.split === 'dev' ? 'trial' : 'test', { dropMalformed: o.dropMalformed }),
  };
});
