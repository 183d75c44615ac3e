/**
 * Pick where a cell runs without typing the magic: "Run in Environment ▸" in a code cell's
 * context menu and an environment button in the cell toolbar, listing the named
 * environments, the interpreters found, "New Environment…" (the sidebar's form) and the
 * notebook's own kernel. Each writes or changes the cell's `%%isolated` line.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Menu } from '@lumino/widgets';

import { isolatedLine, pythonLine, withMagicLine } from './cells';
import { environmentsIcon } from './icons';
import { EnvironmentsModel } from './model';
import { trans } from './i18n';

export namespace CellMenuIDs {
  export const runIn = 'isocell:run-in';
  export const pick = 'isocell:pick-environment';
  export const newEnvironment = 'isocell:new-environment-for-cell';
}

/** The line a `run-in` command's arguments ask for: `{ name }`, `{ python }` or neither
 * (the notebook's own kernel: no line). */
export function lineFor(args: Record<string, unknown>): string | null {
  if (typeof args.name === 'string' && args.name) {
    return isolatedLine(args.name);
  }
  if (typeof args.python === 'string' && args.python) {
    return pythonLine(args.python);
  }
  return null;
}

/** The menu's entries for `model`'s environments and interpreters, as `run-in` arguments. */
export function menuEntries(model: EnvironmentsModel): {
  environments: { name: string }[];
  pythons: { python: string; label: string }[];
} {
  return {
    environments: model.environments.map(e => ({ name: e.name })),
    pythons: model.pythons.map(p => ({
      python: p.path,
      label: trans().__('Python %1 (%2)', p.version, p.path)
    }))
  };
}

export function addCellMenu(
  app: JupyterFrontEnd,
  model: EnvironmentsModel,
  tracker: INotebookTracker,
  showForm: () => void
): Menu {
  const { commands } = app;
  commands.addCommand(CellMenuIDs.runIn, {
    label: args =>
      typeof args.label === 'string'
        ? args.label
        : (lineFor(args) ??
          trans().__("The Notebook's Kernel (no %1)", '%%isolated')),
    caption: trans().__(
      "Write the cell's %1 line for this environment",
      '%%isolated'
    ),
    isToggled: args => {
      const source = tracker.activeCell?.model.sharedModel.getSource() ?? '';
      const first = source.split('\n', 1)[0].trim();
      const line = lineFor(args);
      return line === null ? !first.startsWith('%%isolated') : first === line;
    },
    execute: args => {
      const cell = tracker.activeCell;
      if (!cell || cell.model.type !== 'code') {
        Notification.warning(trans().__('Select a code cell first.'), {
          autoClose: 4000
        });
        return;
      }
      const source = cell.model.sharedModel.getSource();
      cell.model.sharedModel.setSource(withMagicLine(source, lineFor(args)));
    }
  });
  commands.addCommand(CellMenuIDs.newEnvironment, {
    label: trans().__('New Environment…'),
    caption: trans().__(
      'Build a new environment in the sidebar, then pick it here'
    ),
    execute: () => showForm()
  });

  const menu = new Menu({ commands });
  menu.title.label = trans().__('Run in Environment');
  menu.title.icon = environmentsIcon;
  let stale = false;
  const fill = () => {
    if (menu.isAttached) {
      stale = true; // not under the pointer: once it closes
      return;
    }
    stale = false;
    menu.clearItems();
    const { environments, pythons } = menuEntries(model);
    for (const args of environments) {
      menu.addItem({ command: CellMenuIDs.runIn, args: { ...args } });
    }
    if (environments.length && pythons.length) {
      menu.addItem({ type: 'separator' });
    }
    for (const args of pythons) {
      menu.addItem({ command: CellMenuIDs.runIn, args: { ...args } });
    }
    menu.addItem({ type: 'separator' });
    menu.addItem({ command: CellMenuIDs.newEnvironment });
    menu.addItem({ command: CellMenuIDs.runIn, args: {} });
  };
  fill();
  model.changed.connect(fill);
  menu.aboutToClose.connect(() => {
    if (stale) {
      requestAnimationFrame(fill);
    }
  });
  app.contextMenu.addItem({
    type: 'submenu',
    submenu: menu,
    selector: '.jp-Notebook .jp-CodeCell',
    rank: 20
  });

  // The cell toolbar's button (schema/plugin.json): the same menu, under the button.
  commands.addCommand(CellMenuIDs.pick, {
    label: trans().__('Run in Environment…'),
    caption: trans().__('Pick the environment this cell runs in'),
    icon: environmentsIcon,
    execute: () => {
      const cell = tracker.activeCell;
      const anchor = cell?.node
        .querySelector('[data-command="isocell:pick-environment"]')
        ?.getBoundingClientRect();
      const rect = anchor ?? cell?.node.getBoundingClientRect();
      menu.open(rect ? rect.left : 0, rect ? rect.bottom : 0);
    }
  });
  return menu;
}
