// GeoLIP in the browser: the geolip-text sentence encoder that @geolip/text ships and the Fashion-MNIST Dual-Stream
// ViT that @geolip/vision ships, run by TensorFlow.js on the best backend the browser has (webgpu → webgl →
// wasm → cpu). Type sentences, see their cosine-similarity heatmap, their 2-D projection among a 16-anchor
// constellation and the geometry numbers of the embedding cloud; pick or upload a picture and see its class and
// nearest anchors.
//
// URL parameters: ?backend=cpu|wasm|webgl|webgpu forces a backend; ?weights=<url> and ?vocab=<url> load another text
// model, ?visionWeights=<url> another Dual-Stream ViT.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { parseBackendName } from '@geolip/geometry/backend';
import { initBackend } from '@geolip/nn/backend';
import { Constellation } from '@geolip/anchors';
import { BertTokenizer, SentenceEmbedder } from '@geolip/text';
import defaultVocabUrl from '@geolip/text/vocab/bert-base-uncased-vocab.txt?url';
import defaultWeightsUrl from '@geolip/text/weights/geolip-text.safetensors?url';
import defaultVisionWeightsUrl from '@geolip/vision/weights/fmnist-dual-stream.safetensors?url';

import { $, errorText, setMessage } from './dom.js';
import { MIN_CV_SENTENCES, analyze, checkSentences, toRows, type Analysis } from './analysis.js';
import { heatmapSvg, projectionSvg } from './render.js';
import { startVisionPanel } from './vision.js';
import reference from '../data/reference.json';

/**
 * Anchors of the page's constellation, built from the reference sentences (3 genre centroids, 3 midpoints,
 * 10 repelled).
 */
const ANCHORS = 16;

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

const status = $('status');
const errorBox = $('error');
const input = $<HTMLTextAreaElement>('sentences');
const button = $<HTMLButtonElement>('embed');
const results = $('results');

const showError = (message: string): void => setMessage(errorBox, message);

/**
 * The constellation the sentences are placed among: `Constellation.fromData` (@geolip/anchors) over the embeddings
 * of 96 STS-B dev sentences (32 per genre, `scripts/make-reference.mjs`) with the genres as labels. Unit rows.
 */
async function buildAnchors(model: SentenceEmbedder): Promise<Float64Array> {
  const texts = reference.sentences.map((s) => s.text);
  const genres = [...new Set(reference.sentences.map((s) => s.genre))];
  const labels = reference.sentences.map((s) => genres.indexOf(s.genre));
  const rows = await model.embed(texts);
  const constellation = Constellation.fromData(toRows(rows, model.dim), labels, { anchors: ANCHORS, seed: 0 });
  try {
    const unit = constellation.normalizedAnchors();
    const values = Float64Array.from(await unit.data());
    unit.dispose();
    return values;
  } finally {
    constellation.dispose();
  }
}

const params = new URLSearchParams(location.search);

async function chooseBackend(): Promise<void> {
  const param = params.get('backend');
  const forced = param === null ? null : parseBackendName('demo', '?backend', param);
  status.textContent = 'choosing a backend…';
  const info = await initBackend(forced !== null ? { prefer: [forced] } : {});
  $('backend').textContent = info.name;
}

async function load(): Promise<SentenceEmbedder> {
  const weightsUrl = params.get('weights') ?? defaultWeightsUrl;
  const vocabUrl = params.get('vocab') ?? defaultVocabUrl;
  status.textContent = 'loading the model…';
  let model: SentenceEmbedder;
  try {
    // Both accept a URL: fetched, with HTTP errors and HTML pages reported as errors naming the URL.
    const tokenizer = await BertTokenizer.fromFile(vocabUrl);
    model = await SentenceEmbedder.fromWeights(weightsUrl, { name: 'geolip-text', tokenizer });
  } catch (e) {
    throw new Error(`the text model did not load: ${errorText(e)}`);
  }
  $('model').textContent = `${model.name}, ${model.params.toLocaleString('en-US')} parameters, ${model.dim}-d`;
  return model;
}

function show(a: Analysis): void {
  $('heatmap').innerHTML = heatmapSvg(a.sentences, a.similarity);
  $('projection').innerHTML = projectionSvg(a.sentences, a.projection, 360, a.anchorProjection, a.nearest);
  $('active').textContent = `${a.activeAnchors} / ${a.anchorProjection.length / 2}`;
  $('cv').textContent =
    a.cv === null
      ? `needs ≥ ${MIN_CV_SENTENCES} sentences`
      : Number.isFinite(a.cv)
        ? a.cv.toFixed(4)
        : 'n/a (degenerate simplices)';
  $('effdim').textContent = a.effectiveDimension.toFixed(2);
  $('count').textContent = String(a.sentences.length);
  results.hidden = false;
}

async function main(): Promise<void> {
  let model: SentenceEmbedder;
  let anchors: Float64Array;
  try {
    await chooseBackend();
  } catch (e) {
    status.textContent = 'no backend';
    $('vision-status').textContent = 'no backend';
    showError(errorText(e));
    return;
  }
  void startVisionPanel(params.get('visionWeights') ?? defaultVisionWeightsUrl);
  try {
    model = await load();
    status.textContent = 'building the constellation…';
    anchors = await buildAnchors(model);
  } catch (e) {
    status.textContent = 'the model did not load';
    showError(errorText(e));
    return;
  }
  status.textContent = 'ready';
  button.disabled = false;
  const run = async (): Promise<void> => {
    setMessage(errorBox, null);
    const checked = checkSentences(input.value);
    if (typeof checked === 'string') {
      showError(checked);
      return;
    }
    button.disabled = true;
    status.textContent = `embedding ${checked.length} sentence${checked.length === 1 ? '' : 's'}…`;
    try {
      const t0 = performance.now();
      const rows = await model.embed(checked);
      show(analyze(checked, rows, model.dim, anchors));
      status.textContent = `ready (${(performance.now() - t0).toFixed(0)} ms)`;
    } catch (e) {
      showError(errorText(e));
      status.textContent = 'ready';
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener('click', () => void run());
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void run();
  });
}

void main();
