// Recipe `fmnist-export`: the export stage that makes the Fashion-MNIST model bundled with @geolip/vision
// (`weights/fmnist-dual-stream.safetensors`) from the outputs of an `fmnist-vit` run: F16 weights and the metadata the
// classifier reads (class names, test accuracy, per-anchor labels from the run's own training embeddings).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { exportFashionMnistWeights } from '@geolip/vision';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from '@geolip/vision/io';
import { configReader, defineRecipe, isObject } from '@geolip/train';
import { writeFileAtomic } from '@geolip/io/node';
import type { RecipeRun } from '@geolip/train';

/** The validated config of {@link fmnistExport} (paths absolute). */
export interface FmnistExportConfig {
  /** The fmnist-vit run's `model.safetensors` (a Dual-Stream ViT). */
  model: string;
  /** Its `embeddings-train.safetensors` (every training image, in Fashion-MNIST order). */
  embeddings: string;
  /** Its `result.json` (test accuracy, epochs, steps). */
  result: string;
  /** Fashion-MNIST directory (the training labels). */
  data: string;
  /** The file to write; default `<out>/fmnist-dual-stream.safetensors`. */
  file: string | undefined;
  /** Provenance note after the run's epochs and steps (metadata `geolip.source`). */
  note: string;
}

const R = configReader('fmnist-export');
const KEYS = ['run', 'model', 'embeddings', 'result', 'data', 'file', 'note'];

/**
 * Validates the config: `run` (an fmnist-vit output directory) gives the default `model`, `embeddings` and `result`
 * files; each can be named on its own. Relative paths resolve against `configDir`.
 */
export function parseFmnistExportConfig(raw: unknown, configDir: string): FmnistExportConfig {
  if (!isObject(raw)) return R.fail('must be a JSON object');
  R.keys(raw, KEYS);
  const runDir = R.optStr(raw, 'run');
  const file = (key: string, name: string): string => {
    const given = R.optStr(raw, key);
    if (given !== undefined) return resolve(configDir, given);
    if (runDir === undefined) return R.fail(`missing field '${key}' (or 'run', the fmnist-vit output directory)`, key);
    return resolve(configDir, runDir, name);
  };
  const out = R.optStr(raw, 'file');
  return {
    model: file('model', 'model.safetensors'),
    embeddings: file('embeddings', 'embeddings-train.safetensors'),
    result: file('result', 'result.json'),
    data: resolve(configDir, R.optStr(raw, 'data') ?? FASHION_MNIST_DIR),
    file: out === undefined ? undefined : resolve(configDir, out),
    note: R.optStr(raw, 'note') ?? 'no mastery queue; H100 webgpu',
  };
}

/** What {@link exportFashionMnist} wrote and how pure the anchors' labels are on the training images. */
export interface FmnistExportSummary {
  out: string;
  anchors: number;
  used: number;
  purity: number;
}

/**
 * Reads the run's files and the training labels, makes the bundled-model bytes with `exportFashionMnistWeights` of
 * `@geolip/vision` and writes them atomically to `out`. Returns the summary.
 */
export async function exportFashionMnist(cfg: FmnistExportConfig, out: string): Promise<FmnistExportSummary> {
  const read = (path: string, key: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      return R.fail(`'${key}' ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, key);
    }
  };
  const result = JSON.parse(read(cfg.result, 'result').toString('utf8')) as {
    testAccuracy: number;
    epochs: number;
    steps: number;
  };
  const train = await loadFashionMnist('train', { dir: cfg.data });
  const { bytes, anchorLabels } = exportFashionMnistWeights({
    model: read(cfg.model, 'model'),
    trainEmbeddings: read(cfg.embeddings, 'embeddings'),
    trainLabels: train.labels,
    classes: FASHION_MNIST_CLASSES,
    testAccuracy: result.testAccuracy,
    source:
      `geolip-train run fmnist-vit (dual-stream, ${result.epochs} epochs, ${result.steps} steps, ` +
      `${cfg.note}); fp16`,
  });
  await writeFileAtomic(out, bytes);
  const used = anchorLabels.filter((l) => l.count > 0);
  const purity = used.reduce((s, l) => s + l.share * l.count, 0) / train.n;
  return { out, anchors: anchorLabels.length, used: used.length, purity };
}

async function run(cfg: FmnistExportConfig, job: RecipeRun): Promise<number> {
  const summary = await exportFashionMnist(cfg, cfg.file ?? join(job.out, 'fmnist-dual-stream.safetensors'));
  job.say(
    `fmnist-export: wrote ${summary.out}: ${summary.anchors} anchors, ${summary.used} nearest to a training image, ` +
      `label purity ${summary.purity.toFixed(4)}`,
  );
  await job.writeResult({
    recipe: 'fmnist-export',
    ...summary,
    model: cfg.model,
    embeddings: cfg.embeddings,
    result: cfg.result,
  });
  return 0;
}

/** `geolip-train run fmnist-export`: the bundled Fashion-MNIST model of @geolip/vision from an fmnist-vit run. */
export const fmnistExport = defineRecipe<FmnistExportConfig>({
  name: 'fmnist-export',
  description:
    'the Fashion-MNIST model bundled with @geolip/vision (fp16, class names, per-anchor labels) from an fmnist-vit run',
  help: `the export stage of fmnist-vit: the bundled @geolip/vision model from a run's
files; config {"run": "<fmnist-vit --out dir>", "data", "file", "note"} (or "model",
"embeddings", "result" one by one); writes <out>/fmnist-dual-stream.safetensors (or
"file") and <out>/result.json (anchors, label purity).`,
  parse: parseFmnistExportConfig,
  run,
});
