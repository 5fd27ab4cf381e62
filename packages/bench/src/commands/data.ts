// geolip-bench data: where each dataset comes from, its licence, and which files a data directory holds.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { EXIT, defineCommand } from '@geolip/cli';

import { MRPC_DEV_FRACTION } from '../tasks/index.js';
import { COMMON, embeddedDataDir } from './shared.js';

interface DatasetInfo {
  key: string;
  title: string;
  licence: string;
  where: string[];
  files: { path: string; kind: 'stsb' | 'tsv' | 'tsv-header?' | 'coco' }[];
}

const DATASETS: DatasetInfo[] = [
  {
    key: 'stsb',
    title: 'STS Benchmark (Cer et al., SemEval-2017 Task 1)',
    licence: "scores CC BY-SA 4.0; sentences keep their sources' licences (see the LICENSE.txt in the archive)",
    where: [
      'http://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark  ' +
        '(Stsbenchmark.tar.gz: sts-train.csv, sts-dev.csv, sts-test.csv)',
      'put the three .csv files in <dir>/stsb/. The dev split is embedded in this package.',
    ],
    files: [
      { path: 'stsb/sts-train.csv', kind: 'stsb' },
      { path: 'stsb/sts-dev.csv', kind: 'stsb' },
      { path: 'stsb/sts-test.csv', kind: 'stsb' },
    ],
  },
  {
    key: 'sick',
    title: 'SICK (Marelli et al., LREC 2014), relatedness scores (SICK-R)',
    licence: 'CC BY-NC-SA 3.0 (non-commercial)',
    where: [
      'https://zenodo.org/records/2787612  or  https://marcobaroni.org/composes/sick.html  (SICK.zip)',
      'put SICK_train.txt, SICK_trial.txt, SICK_test_annotated.txt in <dir>/sick/ (tab-separated; header optional)',
      "'--split dev' evaluates SICK_trial.txt",
    ],
    files: [
      { path: 'sick/SICK_train.txt', kind: 'tsv-header?' },
      { path: 'sick/SICK_trial.txt', kind: 'tsv-header?' },
      { path: 'sick/SICK_test_annotated.txt', kind: 'tsv-header?' },
    ],
  },
  {
    key: 'mrpc',
    title: 'Microsoft Research Paraphrase Corpus (Dolan & Brockett, 2005)',
    licence: 'Microsoft Research terms (research use)',
    where: [
      'https://www.microsoft.com/en-us/download/details.aspx?id=52398  ' +
        '(msr_paraphrase_train.txt, msr_paraphrase_test.txt)',
      'put both files in <dir>/mrpc/ (or <dir>/mrpc/original/)',
      `'--split dev' evaluates a stratified ${MRPC_DEV_FRACTION * 100}% carve-out of train; ` +
        'thresholds are always fitted on train',
    ],
    files: [
      { path: 'mrpc/msr_paraphrase_train.txt', kind: 'tsv-header?' },
      { path: 'mrpc/msr_paraphrase_test.txt', kind: 'tsv-header?' },
    ],
  },
  {
    key: 'coco',
    title: 'MS COCO 2017 captions (Lin et al., 2014; Chen et al., 2015)',
    licence: 'annotations CC BY 4.0; images under per-image Flickr licences',
    where: [
      'https://cocodataset.org/#download  (annotations_trainval2017.zip → annotations/captions_val2017.json)',
      'put captions_val2017.json in <dir>/coco/',
    ],
    files: [{ path: 'coco/captions_val2017.json', kind: 'coco' }],
  },
];

function countRows(file: string, kind: DatasetInfo['files'][number]['kind']): string {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (kind === 'coco') {
    try {
      const json = JSON.parse(text) as { images?: unknown[]; annotations?: unknown[] };
      return `${json.images?.length ?? 0} images, ${json.annotations?.length ?? 0} captions`;
    } catch {
      return 'not valid JSON';
    }
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  let rows = lines.length;
  if (kind === 'tsv-header?' && lines.length > 0 && /^(pair_ID|Quality)\b/.test(lines[0]!)) rows--;
  return `${rows} rows`;
}

function findFile(dir: string, rel: string): string | undefined {
  const candidates = [join(dir, rel)];
  if (rel.startsWith('mrpc/')) candidates.push(join(dir, 'mrpc', 'original', rel.slice(5)));
  return candidates.find((c) => existsSync(c));
}

export const dataCommand = defineCommand({
  name: 'data',
  summary: 'explain where each dataset comes from and check a data directory',
  usage: '[--data <dir>]',
  description:
    'Lists STS-B, SICK, MRPC and COCO: source, licence, where the files go, and which are present\n' +
    'in the data directory (with row counts).',
  options: { data: COMMON.data },
  async run({ values }, ctx) {
    const { io } = ctx;
    const dir = values.data !== undefined ? resolve(values.data) : embeddedDataDir();
    const out: string[] = [];
    out.push(
      `Data directory: ${dir}` +
        (values.data === undefined ? ' (embedded in the package; pass --data <dir> to check yours)' : ''),
    );
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      io.stdout.write(`${out[0]}\n`);
      throw ctx.usage(`data directory not found: ${dir}`, '--data');
    }
    out.push('');
    for (const ds of DATASETS) {
      out.push(`${ds.key}: ${ds.title}`);
      out.push(`  licence: ${ds.licence}`);
      for (const w of ds.where) out.push(`  ${w}`);
      for (const f of ds.files) {
        const found = findFile(dir, f.path);
        out.push(
          found
            ? `  [x] ${f.path.padEnd(32)} ${countRows(found, f.kind)}`
            : `  [ ] ${f.path.padEnd(32)} missing (expected ${join(dir, f.path)})`,
        );
      }
      out.push('');
    }
    const extra = readdirSync(dir).filter(
      (n) => !DATASETS.some((d) => d.key === n) && !/^(README\.md|LICENSE.*)$/i.test(n),
    );
    if (extra.length > 0) out.push(`other entries in ${dir}: ${extra.join(', ')}`);
    io.stdout.write(out.join('\n').trimEnd() + '\n');
    return EXIT.ok;
  },
});
