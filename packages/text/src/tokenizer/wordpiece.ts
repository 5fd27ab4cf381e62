/**
 * WordPiece, as HuggingFace `WordpieceTokenizer`: greedy longest-match-first over the word's code points;
 * pieces after the first carry the '##' prefix; a word with a part that no piece matches, or longer than
 * `maxInputCharsPerWord` code points, becomes the unknown token as a whole.
 */
export function wordpieceTokenize(
  word: string,
  vocab: ReadonlyMap<string, number>,
  unkToken: string,
  maxInputCharsPerWord = 100,
): string[] {
  const chars = Array.from(word);
  if (chars.length > maxInputCharsPerWord) return [unkToken];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let found: string | undefined;
    while (start < end) {
      const sub = chars.slice(start, end).join('');
      const candidate = start > 0 ? `##${sub}` : sub;
      if (vocab.has(candidate)) {
        found = candidate;
        break;
      }
      end--;
    }
    if (found === undefined) return [unkToken];
    pieces.push(found);
    start = end;
  }
  return pieces;
}
