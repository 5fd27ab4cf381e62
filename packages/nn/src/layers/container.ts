import { Module } from '../module.js';

/**
 * A plain module that only holds children under names chosen by its owner, as a PyTorch `nn.Sequential` whose
 * parameter-free layers (activations, dropout) keep their index: children `0`, `2`, `4` give the names
 * `head.0.weight`, `head.2.weight`, … of the PyTorch model. It has no forward of its own: the owner calls the
 * children.
 * For children numbered `0, 1, 2, …` use {@link ModuleList}.
 *
 * @example
 * const head = model.addModule('head', new Container());   // inside a Module's constructor
 * const fc0 = head.add('0', new Linear(768, 768));         // head.0.weight, head.0.bias
 * const norm = head.add('2', new LayerNorm(768));          // head.2.weight, head.2.bias
 */
export class Container extends Module {
  /**
   * Registers `module` under `name` and returns it.
   * @throws {InvalidArgumentError} naming `name` when it is taken or not an identifier / index.
   */
  add<M extends Module>(name: string, module: M): M {
    return this.addModule(name, module);
  }
}
