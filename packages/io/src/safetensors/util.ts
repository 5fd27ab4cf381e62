/** Small helpers of the safetensors module: value descriptions for messages, shapes, own-property records. */
import * as tf from '@tensorflow/tfjs-core';

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor`;
  switch (typeof value) {
    case 'number':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'string':
      return quote(value);
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return typeof value === 'object' ? 'an object' : typeof value;
  }
}

/** A name quoted as JSON, shortened if long (messages stay readable on hostile input). */
export function quote(name: string): string {
  const text = name.length > 80 ? `${name.slice(0, 60)}…(${name.length} characters)` : name;
  return JSON.stringify(text);
}

export function formatShape(shape: readonly unknown[]): string {
  const shown = shape.length > 16 ? [...shape.slice(0, 16).map(String), '…'] : shape.map(String);
  return `[${shown.join(', ')}]`;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0);
}

export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Defines an own, enumerable property even for names like `__proto__`. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
