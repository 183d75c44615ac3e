/**
 * The extension's strings go through JupyterLab's `ITranslator`, under the domain `isocell`
 * (a language pack with an `isocell` catalog translates them; without one, or without a
 * translator, they read as written). The plugin sets the translator once, at activation,
 * before anything is drawn; every module then reads its strings from `trans()`.
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

/** The translation domain of isocell's strings. */
export const DOMAIN = 'isocell';

let bundle: TranslationBundle = nullTranslator.load(DOMAIN);

/** Use `translator` for every string from now on (`null`: the strings as written). */
export function setTranslator(translator: ITranslator | null): void {
  bundle = (translator ?? nullTranslator).load(DOMAIN);
}

/** The current bundle: `trans().__('Remove %1', name)`, `trans()._n(...)`. */
export function trans(): TranslationBundle {
  return bundle;
}
