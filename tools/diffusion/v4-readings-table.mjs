#!/usr/bin/env node
// The README table of the v4 readings (issue 23), from the committed result files of tools/diffusion/v4-readings.sh:
//
//   node tools/diffusion/v4-readings-table.mjs results/diffusion/v4-readings
//
// One row per `<name>-result.json` in the order given by ORDER (others after): decoder inputs, params, steps, the
// training loss at the end of each third of the run (lossCurve windows), the validation FM loss after each epoch,
// velocity cosine, conditional accuracy (bundled classifier) and Fréchet distance.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ORDER = ['address-only', 'address-only-max', 'address-only-lr3e-4', 'xt-full', 'xt-pyramid', 'skips'];
const dir = process.argv[2] ?? 'results/diffusion/v4-readings';
const names = readdirSync(dir)
  .filter((f) => f.endsWith('-result.json'))
  .map((f) => f.slice(0, -'-result.json'.length))
  .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
const f4 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '—');
const pct = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '—');
console.log(
  '| Reading | decoder sees | params | steps | train loss (⅓ · ⅔ · end) | val FM loss per epoch | vel. cos | cond. acc. | Fréchet |',
);
console.log('|---|---|---:|---:|---|---|---:|---:|---:|');
for (const n of names) {
  const r = JSON.parse(readFileSync(join(dir, `${n}-result.json`), 'utf8'));
  const m = r.modelConfig;
  const sees = [
    'latent',
    m.decoderSkips ? 'U-Net skips (departure)' : null,
    m.decoderXt && m.decoderXt !== 'none' ? `x_t (${m.decoderXt})` : null,
  ]
    .filter(Boolean)
    .join(' + ');
  const train = r.lossCurve?.train ?? [];
  const at = (q) => train[Math.min(train.length - 1, Math.max(0, Math.round(q * train.length) - 1))]?.loss;
  const val = (r.lossCurve?.val ?? []).map((p) => f4(p.loss)).join(' → ');
  const cfgFile = join(dir, `config-${n}.json`);
  const lr = existsSync(cfgFile) ? JSON.parse(readFileSync(cfgFile, 'utf8')).lr : undefined;
  const extra = [m.fineAggregate !== 'mean' ? `fine ${m.fineAggregate}` : null, lr && lr !== 1e-3 ? `lr ${lr}` : null]
    .filter(Boolean)
    .join(', ');
  console.log(
    `| \`${n}\`${extra ? ` (${extra})` : ''} | ${sees} | ${r.params.toLocaleString('en-US')} | ${r.steps} | ` +
      `${f4(at(1 / 3))} · ${f4(at(2 / 3))} · ${f4(at(1))} | ${val} | ${f4(r.valVelocityCosine)} | ` +
      `${pct(r.conditionalAccuracy)} | ${f4(r.frechetDistance)} |`,
  );
}
