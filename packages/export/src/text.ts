/**
 * `exportTextModel`: a GeoLIP text model (shipped, or any `text/caption-encoder` weights file) as a transformers.js
 * folder.
 */
import { InvalidArgumentError } from '@geolip/geometry';
import { bertTokenizerToJson, captionEncoderOnnxFromFile, loadBertUncasedTokenizer, textModels } from '@geolip/text';
import type { BertTokenizer } from '@geolip/text';

import { json, readCommonOptions, variantFile, variantWeightType, writeOne } from './layout.js';
import { textPackageFile } from './require.js';
import type { ExportProgress, ExportVariant, ExportedFile } from './layout.js';

/** Options of {@link exportTextModel}. */
export interface ExportTextOptions {
  /** The folder to write (created if missing; existing files of the layout are replaced). */
  outDir: string;
  /** A `text/caption-encoder` weights file (safetensors or `.pt`). Default: the shipped weights `shipped`. */
  weights?: string;
  /** A name of `textModels.shipped()` (default `geolip-text`), used when `weights` is not given. */
  shipped?: string;
  /** Variants to write. Default both, `['fp32', 'fp16']`. */
  variants?: readonly ExportVariant[];
  /** The tokenizer. Default the bundled bert-base-uncased one. */
  tokenizer?: BertTokenizer;
  /** Progress lines. */
  onProgress?: ExportProgress;
}

/** What {@link exportTextModel} wrote. */
export interface ExportTextResult {
  outDir: string;
  files: ExportedFile[];
  /** Embedding width (the graph's `sentence_embedding` / `last_hidden_state` width). */
  dim: number;
  maxLength: number;
  params: number;
}

const OP = 'exportTextModel';

/**
 * Writes the transformers.js layout of a text model: `config.json`, `tokenizer.json`, `tokenizer_config.json`,
 * `special_tokens_map.json`, `onnx/model.onnx` and `onnx/model_fp16.onnx`. The graph holds the whole embedder
 * (encoder, masked mean pooling, head, L2 normalization); in transformers.js use
 * `pipeline('feature-extraction', dir, { local_files_only: true })` and call it with
 * `{ pooling: 'none', normalize: false }` (the rows come out pooled and normalized).
 * @throws {InvalidArgumentError} naming the option at fault; {@link FormatError} from the weights reader.
 */
export async function exportTextModel(options: ExportTextOptions): Promise<ExportTextResult> {
  const { outDir, variants, onProgress } = readCommonOptions(OP, options);
  let source: string;
  let label: string;
  if (options.weights !== undefined) {
    if (typeof options.weights !== 'string' || options.weights.length === 0)
      throw new InvalidArgumentError(OP, 'options.weights', 'must be a path to a weights file');
    source = options.weights;
    label = options.weights;
  } else {
    const name = options.shipped ?? 'geolip-text';
    const shipped = textModels.shipped();
    const entry = Object.hasOwn(shipped, name) ? shipped[name] : undefined;
    if (entry === undefined)
      throw new InvalidArgumentError(
        OP,
        'options.shipped',
        `must name shipped weights (${Object.keys(shipped).join(', ')})`,
      );
    source = textPackageFile(`weights/${entry.file}`);
    label = `shipped ${name}`;
  }
  onProgress(`reading ${label}`);
  const tokenizer = options.tokenizer ?? (await loadBertUncasedTokenizer());
  const files: ExportedFile[] = [];
  let first: Awaited<ReturnType<typeof captionEncoderOnnxFromFile>> | undefined;
  for (const v of variants) {
    onProgress(`building the ${v} graph`);
    const model = await captionEncoderOnnxFromFile(source, {
      op: OP,
      weightType: variantWeightType(v),
    });
    first ??= model;
    await writeOne(outDir, variantFile(v), model.onnx, files, onProgress);
  }
  const m = first!;
  if (tokenizer.vocabSize !== m.config.vocabSize)
    throw new InvalidArgumentError(
      OP,
      'options.tokenizer',
      `has ${tokenizer.vocabSize} tokens; the weights expect ${m.config.vocabSize}`,
    );
  const specials = {
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
  const config = {
    model_type: 'bert',
    architectures: ['BertModel'],
    vocab_size: m.config.vocabSize,
    hidden_size: m.config.dModel,
    num_hidden_layers: m.config.layers,
    num_attention_heads: m.config.heads,
    intermediate_size: m.config.ffDim,
    max_position_embeddings: m.config.maxPositions,
    pad_token_id: tokenizer.padId,
    layer_norm_eps: m.config.eps ?? 1e-5,
    geolip: {
      type: 'text/caption-encoder',
      note:
        'Not a BERT graph: a GeoLIP CaptionEncoder with pooling, head and L2 normalization inside the ONNX graph. ' +
        'Outputs sentence_embedding and last_hidden_state (the same [batch, dim] rows): in transformers.js call the ' +
        "feature-extraction pipeline with { pooling: 'none', normalize: false }. Inputs longer than max_length " +
        'are truncated in the graph as the GeoLIP tokenizer does (first max_length - 1 tokens, then [SEP]).',
      embedding_dim: m.config.outDim,
      max_length: m.maxLength,
      params: m.params,
      config: m.config,
      metadata: m.metadata,
    },
  };
  await writeOne(outDir, 'config.json', json(config), files, onProgress);
  await writeOne(outDir, 'tokenizer.json', JSON.stringify(bertTokenizerToJson(tokenizer)), files, onProgress);
  await writeOne(
    outDir,
    'tokenizer_config.json',
    json({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      strip_accents: null,
      tokenize_chinese_chars: true,
      clean_up_tokenization_spaces: true,
      // No limit for the tokenizer (HuggingFace's VERY_LARGE_INTEGER): the graph truncates to max_length itself,
      // keeping [SEP]; transformers.js would cut [SEP] off.
      model_max_length: 1e30,
      ...specials,
    }),
    files,
    onProgress,
  );
  await writeOne(outDir, 'special_tokens_map.json', json(specials), files, onProgress);
  return { outDir, files, dim: m.config.outDim, maxLength: m.maxLength, params: m.params };
}
