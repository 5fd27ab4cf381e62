/**
 * The strict JSON parser (RFC 8259) for the safetensors header: rejects duplicate keys, keeps numbers written with a
 * fraction or an exponent apart, limits nesting depth, and reports the character position.
 */
import { FormatError } from '@geolip/geometry';
import { quote } from './util.js';

// ---------------------------------------------------------------------------------------------
// A strict JSON parser (RFC 8259) for the header
// ---------------------------------------------------------------------------------------------
// JSON.parse silently keeps the last of duplicate keys, accepts `1e2` where an integer is meant
// and lets `__proto__` through as a key; this parser rejects duplicates, keeps numbers that are
// not written as integers apart (so shapes and offsets must be plain integer literals, as in the
// reference implementation), limits nesting depth, and reports the character position.

/** A JSON number written with a fraction or an exponent. */
export class JsonNonInteger {
  constructor(readonly text: string) {}
}

export type Json = null | boolean | number | JsonNonInteger | string | Json[] | Map<string, Json>;

const MAX_JSON_DEPTH = 16;

export class HeaderParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly fail: (message: string) => FormatError,
  ) {}

  parseDocument(): Json {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) throw this.syntax(`unexpected ${this.charAt(this.pos)} after the top-level value`);
    return value;
  }

  private syntax(message: string): FormatError {
    return this.fail(`header is not valid JSON: ${message} at character ${this.pos}`);
  }

  private charAt(pos: number): string {
    if (pos >= this.text.length) return 'end of header';
    const c = this.text.charCodeAt(pos);
    return c < 0x20 || c > 0x7e
      ? `character U+${c.toString(16).toUpperCase().padStart(4, '0')}`
      : `'${this.text[pos]}'`;
  }

  private skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  private parseValue(depth: number): Json {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b:
        return this.parseObject(depth + 1); // {
      case 0x5b:
        return this.parseArray(depth + 1); // [
      case 0x22:
        return this.parseString(); // "
      case 0x74:
        return this.parseLiteral('true', true);
      case 0x66:
        return this.parseLiteral('false', false);
      case 0x6e:
        return this.parseLiteral('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        throw this.syntax(`unexpected ${this.charAt(this.pos)}`);
    }
  }

  private parseLiteral(word: string, value: boolean | null): boolean | null {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    throw this.syntax(`unexpected ${this.charAt(this.pos)}`);
  }

  private parseObject(depth: number): Map<string, Json> {
    if (depth > MAX_JSON_DEPTH) throw this.syntax(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const map = new Map<string, Json>();
    this.pos++; // {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return map;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22)
        throw this.syntax(`expected a string key, got ${this.charAt(this.pos)}`);
      const keyAt = this.pos;
      const key = this.parseString();
      if (map.has(key)) {
        throw this.fail(
          `header has duplicate key ${quote(key)} at character ${keyAt}; the format forbids duplicate keys`,
        );
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) throw this.syntax(`expected ':', got ${this.charAt(this.pos)}`);
      this.pos++;
      this.skipWhitespace();
      map.set(key, this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 0x7d) {
        this.pos++;
        return map;
      } else {
        throw this.syntax(`expected ',' or '}', got ${this.charAt(this.pos)}`);
      }
    }
  }

  private parseArray(depth: number): Json[] {
    if (depth > MAX_JSON_DEPTH) throw this.syntax(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const items: Json[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 0x5d) {
        this.pos++;
        return items;
      } else {
        throw this.syntax(`expected ',' or ']', got ${this.charAt(this.pos)}`);
      }
    }
  }

  private parseString(): string {
    const t = this.text;
    this.pos++; // opening quote
    let start = this.pos;
    let out = '';
    for (;;) {
      if (this.pos >= t.length) throw this.syntax('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) throw this.syntax(`unescaped control ${this.charAt(this.pos)} in a string`);
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      this.pos++; // backslash
      const e = t.charCodeAt(this.pos);
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          // u
          const unit = this.hex4(this.pos + 1);
          this.pos += 4;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed by an escaped low surrogate.
            const low =
              t.charCodeAt(this.pos + 1) === 0x5c && t.charCodeAt(this.pos + 2) === 0x75 ? this.hex4(this.pos + 3) : -1;
            if (low < 0xdc00 || low > 0xdfff) throw this.syntax('lone surrogate in a \\u escape');
            this.pos += 6;
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            throw this.syntax('lone surrogate in a \\u escape');
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          throw this.syntax(`invalid escape \\${this.pos < t.length ? t[this.pos] : ''}`);
      }
      this.pos++;
      start = this.pos;
    }
  }

  private hex4(at: number): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(at + i);
      let digit: number;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
      else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
      else {
        this.pos = at + i;
        throw this.syntax('invalid \\u escape');
      }
      value = value * 16 + digit;
    }
    return value;
  }

  private parseNumber(): number | JsonNonInteger {
    const t = this.text;
    const start = this.pos;
    const digits = (): number => {
      const from = this.pos;
      while (this.pos < t.length && t.charCodeAt(this.pos) >= 0x30 && t.charCodeAt(this.pos) <= 0x39) this.pos++;
      return this.pos - from;
    };
    if (t.charCodeAt(this.pos) === 0x2d) this.pos++;
    if (t.charCodeAt(this.pos) === 0x30) this.pos++;
    else if (digits() === 0) throw this.syntax('invalid number');
    let integer = true;
    if (t.charCodeAt(this.pos) === 0x2e) {
      this.pos++;
      if (digits() === 0) throw this.syntax('invalid number');
      integer = false;
    }
    const c = t.charCodeAt(this.pos);
    if (c === 0x65 || c === 0x45) {
      this.pos++;
      const s = t.charCodeAt(this.pos);
      if (s === 0x2b || s === 0x2d) this.pos++;
      if (digits() === 0) throw this.syntax('invalid number');
      integer = false;
    }
    const literal = t.slice(start, this.pos);
    return integer ? Number(literal) : new JsonNonInteger(literal.length > 40 ? `${literal.slice(0, 40)}…` : literal);
  }
}

export function describeJson(value: Json | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value))
    return `[${value.slice(0, 16).map(describeJson).join(', ')}${value.length > 16 ? ', …' : ''}]`;
  if (value instanceof JsonNonInteger) return value.text;
  if (typeof value === 'string') return quote(value);
  return String(value);
}
