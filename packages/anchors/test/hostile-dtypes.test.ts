// Issue 26: an integer or bool tensor is not loaded as a float weight, also into Patchwork's per-compartment keys
// (its own state-dict hooks carry the dtype).
import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { Patchwork } from '../src/patchwork.js';

describe('Patchwork.loadStateDict dtypes', () => {
  it('refuses an int32 tensor for a float32 compartment weight, naming the key', () => {
    const p = new Patchwork({ anchors: 8, compartments: 2, compartmentDim: 3, seed: 1 });
    const sd = p.stateDict();
    const key = Object.keys(sd)[0]!;
    const asInt = tf.cast(sd[key]!, 'int32');
    expect(() => p.loadStateDict({ ...sd, [key]: asInt })).toThrow(FormatError);
    expect(() => p.loadStateDict({ ...sd, [key]: asInt })).toThrow(/has dtype int32, not float32/);
    tf.dispose([...Object.values(sd), asInt]);
    p.dispose();
  });
});
