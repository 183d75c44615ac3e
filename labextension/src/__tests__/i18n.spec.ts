import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { headerText } from '../facts';
import { setTranslator, trans } from '../i18n';
import { packagesText, renderBuild } from '../mime';
import { statusText } from '../status';
import {
  describeProgress,
  formatRelative,
  nameProblem
} from '../widgets/format';
import { titleOf } from '../widgets/BuildLog';
import { task } from './server';
import { parseTask } from '../api';

/** A translator that marks every string it translates, with the domain it was asked for. */
function marking(domains: string[]): ITranslator {
  const base = nullTranslator.load('isocell');
  const bundle = {
    __: (text: string, ...args: unknown[]) => `«${base.__(text, ...args)}»`,
    _n: (one: string, many: string, n: number, ...args: unknown[]) =>
      `«${base._n(one, many, n, ...args)}»`
  } as unknown as TranslationBundle;
  return {
    languageCode: 'xx',
    load: (domain: string) => {
      domains.push(domain);
      return bundle;
    }
  };
}

describe('the strings go through the translator', () => {
  const domains: string[] = [];
  beforeAll(() => setTranslator(marking(domains)));
  afterAll(() => setTranslator(null));

  it('loads the isocell domain', () => {
    expect(domains).toEqual(['isocell']);
    expect(trans().__('x')).toBe('«x»');
  });

  it('in the status bar, the headers, the formats and the build titles', () => {
    expect(statusText(2, 1)).toBe('«isocell: «2 kernels» · «1 build»»');
    expect(headerText({ environment: 'e', python: '3.9.1' }, false)).toBe(
      '«ran in e» · «Python 3.9.1» · «as recorded»'
    );
    expect(formatRelative(null)).toBe('«never»');
    expect(nameProblem('a b', [])).toMatch(/^«Use 1-64/);
    const running = parseTask(task({ packages: 3, elapsed: 1 }));
    expect(describeProgress(running)).toBe(
      'resolving · «3 packages» · «1.0 s»'
    );
    expect(titleOf(running)).toBe('«Building analytics»');
  });

  it('in the build renderer, from the translator it is given', () => {
    const node = document.createElement('div');
    const state = {
      steps: [{ name: 'resolve', status: 'active' as const }],
      step: 'resolve',
      message: 'resolving',
      elapsed: 1,
      packages: 2,
      total: 5,
      log: ['a'],
      summary: null,
      failed: false
    };
    renderBuild(node, state, trans());
    expect(node.querySelector('li')!.textContent).toBe('«resolve»');
    expect(node.querySelector('summary')!.textContent).toBe(
      '«Build log (1 line)»'
    );
    expect(packagesText(state)).toBe('2 of 5 packages'); // no translator: as written
  });
});
