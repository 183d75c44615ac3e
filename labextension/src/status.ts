/**
 * A status-bar item: the child kernels running on the server's machine and the builds
 * running from this page (`isocell: 2 kernels · 1 build`); a click opens the sidebar.
 */
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { EnvironmentsModel } from './model';
import { trans } from './i18n';

/** The item's text, or empty when there is nothing to tell. */
export function statusText(kernels: number, builds: number): string {
  const parts = [];
  if (kernels) {
    parts.push(trans()._n('%1 kernel', '%1 kernels', kernels));
  }
  if (builds) {
    parts.push(trans()._n('%1 build', '%1 builds', builds));
  }
  return parts.length ? trans().__('isocell: %1', parts.join(' · ')) : '';
}

export function addStatusItem(
  statusBar: IStatusBar,
  model: EnvironmentsModel,
  open: () => void
): void {
  const item = new Widget();
  item.addClass('jp-isocell-Status');
  item.node.title = trans().__(
    'Isolated environments: child kernels and builds (click to show)'
  );
  item.node.setAttribute('role', 'button');
  item.node.tabIndex = 0;
  item.node.addEventListener('click', open);
  const update = () => {
    const running = model.builds.filter(b => b.task.state === 'running').length;
    item.node.textContent = statusText(model.kernels.length, running);
  };
  update();
  model.changed.connect(update);
  statusBar.registerStatusItem('isocell:status', {
    item,
    align: 'left',
    rank: 5,
    isActive: () => item.node.textContent !== '',
    activeStateChanged: model.changed
  });
}
