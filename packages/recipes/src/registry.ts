// The recipes `geolip-train run <name>` knows: the built-in ones, and any a model family registers.
import { InvalidArgumentError } from '@geolip/geometry';
import type { Recipe } from '@geolip/train';

import { cocoConsensus } from './recipes/coco-consensus.js';
import { cocoDavid } from './recipes/coco-david.js';
import { cocoSoup } from './recipes/coco-soup.js';
import { fmnistDavid } from './recipes/fmnist-david.js';
import { fmnistEmbed } from './recipes/fmnist-embed.js';
import { fmnistExport } from './recipes/fmnist-export.js';
import { fmnistVit } from './recipes/fmnist-vit.js';
import { glfm } from './recipes/glfm.js';
import { mlpStudent } from './recipes/mlp-student.js';
import { textBank } from './recipes/text-bank.js';
import { textConsensus } from './recipes/text-consensus.js';
import { textCosent } from './recipes/text-cosent.js';
import { textHeads } from './recipes/text-heads.js';

const registry: Record<string, Recipe> = Object.create(null) as Record<string, Recipe>;

/** Every registered recipe by name (a live, read-only view: registering adds to it). */
export const RECIPES: Readonly<Record<string, Recipe>> = registry;

/**
 * Adds a recipe under its `name`, so `geolip-train run <name>` and `help` know it; a model family registers its
 * recipes this way without touching the CLI. Returns the recipe.
 * @throws {InvalidArgumentError} If `recipe` has no usable name or run, or the name is taken.
 */
export function registerRecipe(recipe: Recipe): Recipe {
  const op = 'registerRecipe';
  if (typeof recipe?.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(recipe.name)) {
    throw new InvalidArgumentError(
      op,
      'recipe.name',
      `must be lower-case letters, digits and dashes, got ${JSON.stringify(recipe?.name)}`,
    );
  }
  if (typeof recipe.run !== 'function') throw new InvalidArgumentError(op, 'recipe.run', 'must be a function');
  if (Object.hasOwn(registry, recipe.name))
    throw new InvalidArgumentError(op, 'recipe.name', `'${recipe.name}' is registered already`);
  registry[recipe.name] = recipe;
  return recipe;
}

/** The recipe registered as `name`, or undefined. */
export function getRecipe(name: string): Recipe | undefined {
  return Object.hasOwn(registry, name) ? registry[name] : undefined;
}

/** Names of the registered recipes, in registration order. */
export function recipeNames(): string[] {
  return Object.keys(registry);
}

/** The recipes of this package, in the order `geolip-train help` lists them. */
export const BUILTIN_RECIPES: readonly Recipe[] = Object.freeze([
  mlpStudent,
  textConsensus,
  textHeads,
  textCosent,
  textBank,
  fmnistVit,
  fmnistExport,
  fmnistEmbed,
  fmnistDavid,
  cocoSoup,
  cocoConsensus,
  cocoDavid,
  glfm,
]);

for (const recipe of BUILTIN_RECIPES) registerRecipe(recipe);
