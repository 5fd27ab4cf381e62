#!/usr/bin/env node
// Writes data/reference.json: the reference sentences from which the page builds its constellation (16 anchors,
// `Constellation.fromData` of @geolip/anchors, the STS-B genres as labels). A seeded sample of 32 distinct sentences
// per genre of the STS-B dev split that @geolip/bench embeds (packages/bench/data/stsb/sts-dev.csv; attribution and
// licences: packages/bench/data/README.md).
//
//   node apps/demo/scripts/make-reference.mjs
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createRng } from '@geolip/geometry';

const here = dirname(fileURLToPath(import.meta.url));
const csv = join(here, '../../../packages/bench/data/stsb/sts-dev.csv');
const perGenre = 32;
const byGenre = new Map();
for (const line of readFileSync(csv, 'utf8').split('\n')) {
  const cols = line.split('\t');
  if (cols.length < 7) continue;
  const set = byGenre.get(cols[0]) ?? new Set();
  set.add(cols[5].trim());
  set.add(cols[6].trim());
  byGenre.set(cols[0], set);
}
const rng = createRng(0);
const sentences = [];
for (const [genre, set] of [...byGenre.entries()].sort(([a], [b]) => a.localeCompare(b))) {
  const all = [...set];
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  for (const text of all.slice(0, perGenre)) sentences.push({ text, genre });
}
const out = join(here, '../data/reference.json');
const doc = {
  source: 'STS Benchmark dev split (packages/bench/data/stsb/sts-dev.csv; licences in packages/bench/data/README.md)',
  seed: 0,
  perGenre,
  sentences,
};
writeFileSync(`${out}.tmp`, `${JSON.stringify(doc, null, 1)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}: ${sentences.length} sentences, genres ${[...byGenre.keys()].join(', ')}`);
