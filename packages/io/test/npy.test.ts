// parseNpy on hand-built .npy bytes (moved from @geolip/train with the parser; the numpy-written files are read
// through readExpertFeatures in train's tests).
import { FormatError, InvalidArgumentError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { parseNpy } from '../src/npy.js';
import { float64Bytes as f8, npyBytes } from '../src/testing/index.js';

describe('parseNpy on hand-built bytes', () => {
  it('reads a v1 <f8 file and a v2 file', () => {
    const dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
    for (const major of [1, 2]) {
      const m = parseNpy(npyBytes(dict, f8([1, 2, 3, -4]), major), 'x.npy');
      expect([m.rows, m.cols, ...m.data]).toEqual([2, 2, 1, 2, 3, -4]);
    }
  });

  it('accepts keys in any order and no trailing comma', () => {
    const m = parseNpy(
      npyBytes(
        "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f4'}",
        new Uint8Array(Float32Array.from([0.5, 2]).buffer),
      ),
      'x.npy',
    );
    expect(Array.from(m.data)).toEqual([0.5, 2]);
  });

  it.each([
    ['bad magic', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), /bad magic/],
    ['big-endian', npyBytes("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 1), }", f8([1])), /dtype '>f8'/],
    ['3-D', npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }", f8([1])), /2-D shape/],
    ['missing key', npyBytes("{'descr': '<f8', 'shape': (1, 1), }", f8([1])), /incomplete/],
    [
      'unknown key',
      npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), 'x': 1}", f8([1])),
      /malformed/,
    ],
    ['trailing bytes', npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", f8([1, 2])), /trailing/],
    ['short data', npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", f8([1])), /truncated/],
    [
      'short header',
      npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", f8([])).subarray(0, 40),
      /truncated/,
    ],
  ])('rejects %s', (_label, bytes, pattern) => {
    expect(() => parseNpy(bytes, 'bad.npy')).toThrow(FormatError);
    expect(() => parseNpy(bytes, 'bad.npy')).toThrow(pattern);
    expect(() => parseNpy(bytes, 'bad.npy')).toThrow(/'bad\.npy'/);
  });
});

describe('parseNpy arguments', () => {
  it('names the function and the argument', () => {
    expect(() => parseNpy('x' as unknown as Uint8Array, 'x.npy')).toThrow(InvalidArgumentError);
    expect(() => parseNpy(new Uint8Array(3), 'x.npy')).toThrow(/^parseNpy: 'x\.npy'/);
    expect(() => parseNpy(new Uint8Array(3), 'x.npy', 'readExpertFeatures')).toThrow(/^readExpertFeatures: 'x\.npy'/);
  });
});
