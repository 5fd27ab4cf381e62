import { InvalidArgumentError } from '@geolip/geometry';

import { Module } from '../module.js';

/**
 * An ordered list of modules registered under `0`, `1`, … (PyTorch `nn.ModuleList`), so their
 * parameters are named `layers.0.…`, `layers.1.…` inside a parent.
 *
 * @example
 * const list = new ModuleList([new Linear(4, 4), new Linear(4, 2)]);
 * Object.keys(list.getWeights()); // ['0.weight', '0.bias', '1.weight', '1.bias']
 */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: readonly M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds `module` under the next index and returns it. */
  append(module: M): M {
    if (!(module instanceof Module)) throw new InvalidArgumentError('ModuleList.append', 'module', 'must be a Module');
    this.items.push(this.addModule(String(this.items.length), module));
    return module;
  }

  /** The module at `index` (0-based). */
  get(index: number): M {
    const m = this.items[index];
    if (m === undefined)
      throw new InvalidArgumentError(
        'ModuleList.get',
        'index',
        `must be an integer in [0, ${this.items.length - 1}], got ${index}`,
      );
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): IterableIterator<M> {
    return this.items[Symbol.iterator]();
  }
}
