// The Fashion-MNIST panel: the Dual-Stream ViT that @geolip/vision ships classifies a picked test image or an uploaded
// picture, and the page shows the model's 28×28 input, the class probabilities and the nearest anchors with the class
// of the training images nearest to each.
import { FashionMnistClassifier, fashionMnistInput } from '@geolip/vision';
import type { FashionMnistPrediction } from '@geolip/vision';

import { $, errorText, setMessage } from './dom.js';
import samples from '../data/fmnist-samples.json';
import {
  anchorsHtml,
  decodeBase64,
  decodeProblem,
  decodeSize,
  probabilitiesHtml,
  uploadProblem,
} from './vision-view.js';

/** Draws `[side, side]` gray values (bytes, or floats in [0, 1]) on a canvas of that size. */
function draw(canvas: HTMLCanvasElement, pixels: Uint8Array | Float32Array, side: number): void {
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(side, side);
  const scale = pixels instanceof Float32Array ? 255 : 1;
  for (let i = 0; i < side * side; i++) {
    const v = Math.round(pixels[i]! * scale);
    image.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

/** Decodes an uploaded picture to RGBA pixels, drawn at most MAX_DECODE_SIDE on its longest side (one decode). */
async function decode(file: File): Promise<ImageData> {
  const bitmap = await createImageBitmap(file);
  try {
    const size = decodeSize(bitmap.width, bitmap.height);
    const canvas = document.createElement('canvas');
    canvas.width = size.width;
    canvas.height = size.height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    return ctx.getImageData(0, 0, size.width, size.height);
  } finally {
    bitmap.close();
  }
}

/**
 * Starts the panel once the tfjs backend is chosen: loads the weights from `weightsUrl`, then enables the samples and
 * the upload. Every failure ends as a message in the panel.
 */
export async function startVisionPanel(weightsUrl: string): Promise<void> {
  const status = $('vision-status');
  const errorBox = $('vision-error');
  const result = $('vision-result');
  const upload = $<HTMLInputElement>('upload');
  const sampleBox = $('samples');
  const showError = (message: string): void => setMessage(errorBox, message);

  const pictures = samples.samples.map((s) => ({ ...s, bytes: decodeBase64(s.pixels) }));
  for (const [i, s] of pictures.entries()) {
    const button = document.createElement('button');
    button.className = 'sample';
    button.disabled = true;
    button.dataset.index = String(i);
    button.dataset.label = String(s.label);
    button.title = `Fashion-MNIST test image ${s.index}: ${s.className}`;
    button.setAttribute('aria-label', button.title);
    const canvas = document.createElement('canvas');
    draw(canvas, s.bytes, 28);
    button.append(canvas);
    sampleBox.append(button);
  }

  let classifier: FashionMnistClassifier;
  try {
    status.textContent = 'loading the model…';
    classifier = await FashionMnistClassifier.fromWeights(weightsUrl); // a URL: fetched, failures name it
  } catch (e) {
    status.textContent = 'the model did not load';
    showError(`the vision model did not load: ${errorText(e)}`);
    return;
  }
  const params = classifier.model.paramCount().toLocaleString('en-US');
  const accuracy = Number(classifier.extra.testAccuracy);
  $('vision-model').textContent =
    `Dual-Stream ViT, ${params} parameters, ${classifier.model.config.anchors} anchors` +
    (Number.isFinite(accuracy) ? `, ${(100 * accuracy).toFixed(2)}% test accuracy` : '');

  let busy = false;
  const classify = async (pixels: Uint8Array | Float32Array, what: string, truth: string | null): Promise<void> => {
    if (busy) return;
    busy = true;
    setMessage(errorBox, null);
    status.textContent = `classifying ${what}…`;
    try {
      const t0 = performance.now();
      const [p] = (await classifier.classify(pixels)) as [FashionMnistPrediction];
      draw($<HTMLCanvasElement>('vision-input'), pixels, classifier.imageSize);
      $('vision-what').textContent = what;
      $('prediction').textContent = p.className;
      $('prediction').dataset.label = String(p.label);
      $('truth').textContent = truth === null ? '' : `true class: ${truth}`;
      $('probabilities').innerHTML = probabilitiesHtml(classifier.classes, p);
      $('anchors').innerHTML = anchorsHtml(classifier.classes, p);
      result.hidden = false;
      status.textContent = `ready (${(performance.now() - t0).toFixed(0)} ms)`;
    } catch (e) {
      showError(errorText(e));
      status.textContent = 'ready';
    } finally {
      busy = false;
    }
  };

  sampleBox.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.sample');
    if (button === null) return;
    const s = pictures[Number(button.dataset.index)]!;
    for (const b of sampleBox.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
    void classify(s.bytes, `test image ${s.index}`, s.className);
  });
  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    upload.value = ''; // the same file can be chosen again
    if (file === undefined) return;
    for (const b of sampleBox.querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
    const problem = uploadProblem(file);
    if (problem !== null) {
      showError(problem);
      return;
    }
    void (async () => {
      let image: ImageData;
      try {
        image = await decode(file);
      } catch (e) {
        showError(decodeProblem(file.name, e));
        return;
      }
      await classify(fashionMnistInput(image), `“${file.name}”`, null);
    })();
  });
  for (const b of sampleBox.querySelectorAll('button')) b.disabled = false;
  upload.disabled = false;
  status.textContent = 'ready';
}
