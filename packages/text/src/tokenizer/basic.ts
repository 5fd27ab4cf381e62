/**
 * The "basic" half of BERT tokenization: HuggingFace `BasicTokenizer(do_lower_case=True)`, step for step.
 *
 * 1. clean: drop U+0000, U+FFFD and control characters (categories Cc, Cf, except tab, LF, CR);
 *    turn whitespace (space, tab, LF, CR, category Zs) into a space;
 * 2. put spaces around every CJK ideograph (the reference's code-point ranges, below);
 * 3. NFC, then split on whitespace;
 * 4. per word: lower-case, NFD, drop nonspacing marks (category Mn), i.e. strip accents;
 * 5. split every punctuation character off as its own token (ASCII 33–47, 58–64, 91–96, 123–126,
 *    and every Unicode P* category).
 *
 * Characters are code points, as in Python (an emoji outside the BMP is one character, not two).
 */

const CONTROL = /^[\p{Cc}\p{Cf}]$/u;
const SPACE_SEPARATOR = /^\p{Zs}$/u;
const PUNCTUATION = /^\p{P}$/u;
const NONSPACING_MARK = /\p{Mn}/gu;
const WHITESPACE_RUN = /\s+/u;

/** `_is_whitespace` of the reference: space, tab, LF, CR, or category Zs. */
export function isWhitespace(ch: string): boolean {
  if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') return true;
  return SPACE_SEPARATOR.test(ch);
}

/** `_is_control` of the reference: category Cc or Cf, except tab, LF and CR (those are whitespace). */
export function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return CONTROL.test(ch);
}

/** `_is_punctuation` of the reference: the ASCII non-alphanumeric ranges, plus every Unicode P* category. */
export function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  if (cp < 128) return false;
  return PUNCTUATION.test(ch);
}

/**
 * `_is_chinese_char` of the reference: the CJK Unified Ideographs blocks and extensions A–E plus the
 * compatibility ideographs. Hiragana, katakana and hangul are deliberately not in it (the reference
 * treats them like any other letters).
 */
export function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** Steps 1 and 2: drops invalid and control characters, maps whitespace to ' ', pads CJK ideographs with spaces. */
export function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) out += ' ';
    else if (isCjkIdeograph(cp)) out += ` ${ch} `;
    else out += ch;
  }
  return out;
}

/** Python's `str.split()` on text that `cleanText` has already cleaned. */
function whitespaceSplit(text: string): string[] {
  const trimmed = text.trim();
  return trimmed === '' ? [] : trimmed.split(WHITESPACE_RUN);
}

/** NFD, then drop the nonspacing marks (category Mn): 'café' → 'cafe'. */
export function stripAccents(word: string): string {
  return word.normalize('NFD').replace(NONSPACING_MARK, '');
}

/** Splits every punctuation character off as its own token: "don't!" → ['don', "'", 't', '!']. */
export function splitOnPunctuation(word: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of word) {
    if (isPunctuation(ch)) {
      if (current !== '') out.push(current);
      out.push(ch);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

/**
 * Lower-cases code point by code point, as Python's and Rust's per-character lower-casing do: JavaScript's
 * `String.prototype.toLowerCase` applies Unicode's context rule for a word-final capital sigma (Σ → ς), which
 * the reference BERT tokenizers do not (Σ → σ everywhere).
 */
export function lowerPerChar(text: string): string {
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/** The whole basic tokenizer (lower-casing and accent stripping on): text → words and punctuation. */
export function basicTokenize(text: string): string[] {
  const words = whitespaceSplit(cleanText(text).normalize('NFC'));
  const out: string[] = [];
  for (const word of words) {
    for (const piece of splitOnPunctuation(stripAccents(lowerPerChar(word)))) out.push(piece);
  }
  return out;
}
