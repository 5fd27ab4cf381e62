// A self-contained HTML report (`geolip-bench run --out report.html`): the model-card tables, the scatter plots
// inline as SVG, the run settings and environment, and the JSON report itself embedded for machines. No scripts,
// no external resources: it opens from a file in any browser, offline.
import type { JsonReport } from './report.js';
import { TASK_LABEL, formatParams, pct } from './report.js';
import { escapeXml } from './plot.js';
import type { CocoTaskResult } from './coco-task.js';
import type { PairTaskResult } from './evaluate.js';

/** One plot of the report: a title and a self-contained SVG (from `svgScatter`). */
export interface HtmlReportPlot {
  title: string;
  svg: string;
}

/** Text and double-quoted attribute values; a missing value shows as '–'. */
const escapeHtml = (value: unknown): string => escapeXml(String(value ?? '–'));

/** A cell holding a fraction shown ×100 with 2 decimals (`pct`); `data-value` keeps the exact number. */
function pctCell(metric: string, x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return `<td class="num" data-metric="${metric}">–</td>`;
  return `<td class="num" data-metric="${metric}" data-value="${x}">${pct(x)}</td>`;
}

function pairTable(report: JsonReport): string {
  if (report.results.length === 0) return '';
  const head = ['model', 'params', 'task', 'split', 'n', 'Spearman', 'Pearson', 'F1', 'accuracy', 'AUC', 'threshold'];
  const rows: string[] = [];
  // The report's rows lack gold/predicted (unless --raw); the metric fields are PairTaskResult's.
  for (const r of report.results as unknown as PairTaskResult[]) {
    const common =
      `<td>${escapeHtml(r.model)}</td><td class="num">${escapeHtml(formatParams(r.params))}</td>` +
      `<td>${escapeHtml(TASK_LABEL[r.task] ?? r.task)}</td><td>${escapeHtml(r.split)}</td>` +
      `<td class="num" data-metric="n" data-value="${r.n}">${r.n}</td>`;
    const attrs = `data-task="${escapeHtml(r.task)}" data-split="${escapeHtml(r.split)}"`;
    if (r.kind === 'regression') {
      rows.push(
        `<tr class="result" ${attrs}>${common}${pctCell('spearman', r.spearman)}${pctCell('pearson', r.pearson)}` +
          `${'<td class="num">–</td>'.repeat(4)}</tr>`,
      );
    } else {
      rows.push(
        `<tr class="result" ${attrs}>${common}<td class="num">–</td><td class="num">–</td>` +
          `${pctCell('f1', r.f1)}${pctCell('accuracy', r.accuracy)}${pctCell('auc', r.auc)}` +
          `<td class="num" data-metric="threshold" data-value="${r.threshold}">${r.threshold.toFixed(4)}</td></tr>`,
      );
      rows.push(
        `<tr class="baseline" ${attrs}><td>all-paraphrase baseline</td><td class="num">–</td>` +
          `<td>${escapeHtml(TASK_LABEL[r.task] ?? r.task)}</td><td>${escapeHtml(r.split)}</td>` +
          `<td class="num">${r.n}</td><td class="num">–</td><td class="num">–</td>` +
          `${pctCell('f1', r.trivialF1)}${pctCell('accuracy', r.trivialAccuracy)}${pctCell('auc', 0.5)}` +
          `<td class="num">–</td></tr>`,
      );
    }
  }
  return (
    `<h2>Sentence-pair tasks</h2>\n` +
    `<p class="note">Correlations, F1, accuracy and AUC ×100. The MRPC threshold is on the cosine.</p>\n` +
    `<table id="pair-results"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>\n` +
    `<tbody>\n${rows.join('\n')}\n</tbody></table>`
  );
}

function cocoTables(coco: CocoTaskResult | undefined): string {
  if (!coco) return '';
  let html =
    `<h2>COCO</h2>\n<table id="coco-results"><thead><tr><th>image model</th><th>task</th>` +
    `<th>train / eval images</th><th>classes</th><th>mAP</th><th>F1 micro</th><th>F1 macro</th></tr></thead>\n` +
    `<tbody><tr class="result" data-task="coco"><td>${escapeHtml(coco.model)}</td>` +
    `<td>COCO multi-label (linear probe)</td><td class="num">${coco.nTrain} / ${coco.nEval}</td>` +
    `<td class="num">${coco.classesUsed}</td>${pctCell('map', coco.map)}` +
    `${pctCell('f1Micro', coco.f1Micro)}${pctCell('f1Macro', coco.f1Macro)}</tr></tbody></table>`;
  const t = coco.retrieval;
  if (t) {
    const ks = [1, 5, 10];
    html +=
      `\n<table id="coco-retrieval"><thead><tr><th>image model</th><th>text model</th><th>captions / images</th>` +
      `${ks.map((k) => `<th>text→image R@${k}</th>`).join('')}` +
      `${ks.map((k) => `<th>image→text R@${k}</th>`).join('')}</tr></thead>\n` +
      `<tbody><tr class="result" data-task="coco-retrieval"><td>${escapeHtml(coco.model)}</td>` +
      `<td>${escapeHtml(t.textModel)}</td><td class="num">${t.captions} / ${coco.nEval}</td>` +
      `${ks.map((k) => pctCell(`t2i@${k}`, t.textToImage[k])).join('')}` +
      `${ks.map((k) => pctCell(`i2t@${k}`, t.imageToText[k])).join('')}</tr></tbody></table>`;
  }
  return html;
}

function keyValueTable(id: string, entries: [string, unknown][]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '–';
    if (typeof v === 'object') return `<code>${escapeHtml(JSON.stringify(v))}</code>`;
    return escapeHtml(String(v));
  };
  const rows = entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${cell(v)}</td></tr>`);
  return `<table id="${id}" class="kv"><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** `</script>` (and `<!--`) inside embedded JSON would end the element early: escape `<` as `\u003c`. */
const embedJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2).replace(
    /</g,
    '\\u003c',
  );

const BODY_STYLE =
  'body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; ' +
  'margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1f24; }';

const STYLE = `
${BODY_STYLE}
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.note, .meta { color: #57606a; font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #8c959f; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline td { color: #57606a; }
table.kv th { font-weight: 600; white-space: nowrap; }
code { font-size: .85em; word-break: break-all; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
.plots figure { margin: 0; }
.plots figcaption { font-size: .85rem; color: #57606a; }
`;

/**
 * Renders a bench report as one self-contained HTML page: the result tables (each number also in a
 * `data-value` attribute, exact), the plots (inline SVG), settings, environment and timings, and the
 * whole JSON report in `<script type="application/json" id="geolip-report">`.
 *
 * @param report - from `jsonReport`.
 * @param plots - scatter plots to embed (e.g. one `svgScatter` per result).
 * @returns the HTML document (UTF-8 text).
 *
 * @example
 * const plots = results.map((r) => ({ title: r.task, svg: svgScatter(r.gold, r.predicted) }));
 * const html = htmlReport(jsonReport(results, settings), plots);
 * await writeFileAtomic('report.html', html);
 */
export function htmlReport(report: JsonReport, plots: readonly HtmlReportPlot[] = []): string {
  const s = report.settings;
  const coco = s.coco as CocoTaskResult | undefined;
  const name = typeof s.modelName === 'string' ? s.modelName : typeof s.model === 'string' ? s.model : 'report';
  const title = `GeoLIP bench: ${name}`;
  const settings = Object.entries(s).filter(([k]) => k !== 'coco' && k !== 'plots');
  const env = report.environment;
  const totals = report.totals;
  const plotHtml =
    plots.length === 0
      ? ''
      : `<h2>Plots</h2>\n<div class="plots">\n` +
        `${plots.map((p) => `<figure>${p.svg}<figcaption>${escapeHtml(p.title)}</figcaption></figure>`).join('\n')}` +
        `\n</div>`;
  const meta =
    `${escapeHtml(report.date)} · backend <span id="backend">${escapeHtml(env.backend)}</span>` +
    ` · Node ${escapeHtml(env.node)} (${escapeHtml(env.platform)}/${escapeHtml(env.arch)})` +
    ` · ${totals.sentences} sentences embedded in ${totals.embedSeconds.toFixed(2)} s`;
  const environment: [string, unknown][] = [
    ['backend', env.backend],
    ['node', env.node],
    ['platform', `${env.platform}/${env.arch}`],
    ...Object.entries(env.packages),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@geolip/bench">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${meta}</p>
${pairTable(report)}
${cocoTables(coco)}
${plotHtml}
<h2>Settings</h2>
${keyValueTable('settings', settings)}
<h2>Environment</h2>
${keyValueTable('environment', environment)}
<script type="application/json" id="geolip-report">
${embedJson(report)}
</script>
</body>
</html>
`;
}
