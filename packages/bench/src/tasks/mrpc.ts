import { loadMrpc, mrpcDevSplit } from '@geolip/text/data';
import { needsData, pairTask } from './pair.js';

/** MRPC has no official dev split: dev is this fraction of train, stratified, with this seed. */
export const MRPC_DEV_FRACTION = 0.1;
export const MRPC_DEV_SEED = 0;

/**
 * MRPC (F1 / accuracy at a threshold fitted by best F1, ROC-AUC): `--split dev` evaluates a stratified carve-out of
 * train and fits the threshold on the rest; `--split test` fits it on the whole train file.
 */
export const mrpc = pairTask(
  'mrpc',
  'MRPC paraphrase: F1 / accuracy at a threshold fitted on train, ROC-AUC',
  async (o) => {
    if (!o.dataGiven) throw o.usage(needsData('mrpc'));
    const opts = { dropMalformed: o.dropMalformed };
    const train = await loadMrpc(o.dataDir, 'train', opts);
    if (o.split === 'test') return { evalSet: await loadMrpc(o.dataDir, 'test', opts), fit: train };
    const carved = mrpcDevSplit(train, { fraction: MRPC_DEV_FRACTION, seed: MRPC_DEV_SEED });
    return { evalSet: carved.dev, fit: carved.train };
  },
);
