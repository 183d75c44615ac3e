/**
 * The renderer of a build's progress in a cell (`application/vnd.isocell.build+json`, sent by
 * isocell/_build_progress.py): the steps resolve → download → install → lock, a bar, the
 * packages and seconds, the builder's log folded; at the end one summary line with the log
 * behind it. A JupyterLab MIME renderer extension (package.json's `mimeExtension`); every
 * other frontend shows the bundle's `text/plain` line.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { DOMAIN } from './i18n';

/** The strings as written, for callers without a translator. */
const AS_WRITTEN = nullTranslator.load(DOMAIN);

/** The MIME type it renders. */
export const MIME_TYPE = 'application/vnd.isocell.build+json';

/** One step of the build and where it stands. */
export interface IBuildStep {
  name: string;
  status: 'done' | 'active' | 'waiting' | 'failed';
}

/** What the kernel sends of a build (BuildState.bundle). */
export interface IBuildState {
  steps: IBuildStep[];
  step: string | null;
  message: string;
  elapsed: number;
  packages: number | null;
  total: number | null;
  log: string[];
  summary: string | null;
  failed: boolean;
}

/** How far the build is, from 0 to 1: the steps done, the active one half. */
export function fraction(state: IBuildState): number {
  if (state.summary !== null && !state.failed) {
    return 1;
  }
  const steps = state.steps.length || 1;
  const done = state.steps.filter(s => s.status === 'done').length;
  const active = state.steps.some(s => s.status === 'active') ? 0.5 : 0;
  return Math.min(1, (done + active) / steps);
}

/** `12 packages` or `3 of 14 packages`, or empty. */
export function packagesText(
  state: IBuildState,
  trans: TranslationBundle = AS_WRITTEN
): string {
  if (state.packages === null) {
    return '';
  }
  if (
    state.total !== null &&
    state.packages !== state.total &&
    state.summary === null
  ) {
    return trans.__('%1 of %2 packages', state.packages, state.total);
  }
  return trans._n('%1 package', '%1 packages', state.packages);
}

/** A step's name as shown (the kernel's names, each a string of its own to translate). */
function stepLabel(name: string, trans: TranslationBundle): string {
  switch (name) {
    case 'resolve':
      return trans.__('resolve');
    case 'download':
      return trans.__('download');
    case 'install':
      return trans.__('install');
    case 'lock':
      return trans.__('lock');
    default:
      return name;
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Fill `node` with the view of `state`, its words from `trans`. */
export function renderBuild(
  node: HTMLElement,
  state: IBuildState,
  trans: TranslationBundle = AS_WRITTEN
): void {
  node.textContent = '';
  node.classList.toggle('jp-isocell-Build-failed', state.failed);
  if (state.summary !== null) {
    node.appendChild(element('div', 'jp-isocell-Build-summary', state.summary));
  } else {
    const steps = element('ol', 'jp-isocell-Build-steps');
    steps.setAttribute('aria-label', trans.__('Build steps'));
    for (const step of state.steps) {
      const item = element(
        'li',
        `jp-isocell-Build-step jp-mod-${step.status}`,
        stepLabel(step.name, trans)
      );
      item.dataset.status = step.status;
      steps.appendChild(item);
    }
    node.appendChild(steps);
    const bar = element('progress', 'jp-isocell-Build-bar');
    bar.max = 1;
    bar.value = fraction(state);
    bar.setAttribute('aria-label', trans.__('Build progress'));
    node.appendChild(bar);
    const facts = [
      packagesText(state, trans),
      trans.__('%1 s', state.elapsed.toFixed(1)),
      state.message
    ];
    node.appendChild(
      element(
        'div',
        'jp-isocell-Build-facts',
        facts.filter(Boolean).join(' · ')
      )
    );
  }
  if (state.log.length > 0) {
    const log = element('details', 'jp-isocell-Build-log');
    log.appendChild(
      element(
        'summary',
        '',
        trans._n(
          'Build log (%1 line)',
          'Build log (%1 lines)',
          state.log.length
        )
      )
    );
    log.appendChild(element('pre', '', state.log.join('\n')));
    node.appendChild(log);
  }
}

/** The widget a cell shows the bundle in. */
export class BuildRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this._trans = (options.translator ?? nullTranslator).load(DOMAIN);
    this.addClass('jp-isocell-Build');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    // A folded log stays open while the build goes on.
    const open = this.node.querySelector('details')?.open ?? false;
    renderBuild(
      this.node,
      model.data[this._mimeType] as unknown as IBuildState,
      this._trans
    );
    const details = this.node.querySelector('details');
    if (details) {
      details.open = open;
    }
    return Promise.resolve();
  }

  private _mimeType: string;
  private _trans: TranslationBundle;
}

/** The renderer factory. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  createRenderer: options => new BuildRenderer(options)
};

const extension: IRenderMime.IExtension = {
  id: 'isocell:build-progress',
  description: "An environment build's progress in a cell.",
  rendererFactory,
  rank: 0,
  dataType: 'json'
};

export default extension;
