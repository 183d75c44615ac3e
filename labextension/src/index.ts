/**
 * isocell's JupyterLab extension: the "Isolated environments" sidebar and the export of a
 * notebook to an Airflow DAG (toolbar button, File menu and palette; the button and the
 * menu item are declared in `schema/plugin.json`).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';

import { IsocellAPI } from './api';
import { addCommands, CommandIDs, PALETTE_CATEGORY } from './commands';
import { EnvironmentsModel } from './model';
import { EnvironmentsPanel, PANEL_ID } from './widgets/EnvironmentsPanel';
import { followWhereCellsRan } from './where';
import { addCellMenu, CellMenuIDs } from './cellmenu';
import { followSettings } from './settings';
import { addStatusItem } from './status';
import { setTranslator, trans } from './i18n';
import { addCacheCommands, CacheCommandIDs } from './cache';
import {
  addKernelCommands,
  addRunningKernels,
  KernelCommandIDs
} from './kernels';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'isocell:plugin',
  description:
    'Isolated environments for notebook cells, and the export to an Airflow DAG.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry,
    IStatusBar,
    IRunningSessionManagers,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    running: IRunningSessionManagers | null,
    translator: ITranslator | null
  ) => {
    // First: every string below is read through it.
    setTranslator(translator);
    const api = new IsocellAPI();
    const model = new EnvironmentsModel(api);
    if (settingRegistry) {
      void settingRegistry
        .load(plugin.id)
        .then(settings => followSettings(settings, model))
        .catch(reason => console.warn('isocell: settings not read', reason));
    }
    addCommands({ app, model, api, tracker, panelId: PANEL_ID });
    addKernelCommands(app, model);
    addCacheCommands(app, model);
    if (running) {
      // The child kernels in Lab's Running panel, beside the notebooks' own kernels.
      addRunningKernels(running, model, app);
    }

    const panel = new EnvironmentsPanel(model, app.commands);
    app.shell.add(panel, 'left', { rank: 210 });
    restorer?.add(panel, 'isocell-environments');

    // Pick a cell's environment from its context menu or toolbar.
    addCellMenu(app, model, tracker, () => {
      app.shell.activateById(PANEL_ID);
      requestAnimationFrame(() =>
        document
          .querySelector<HTMLInputElement>(
            `#${PANEL_ID} input[aria-label="Environment name"]`
          )
          ?.focus()
      );
    });
    tracker.widgetAdded.connect(() => {
      if (!model.environments.length && !model.loading) {
        void model.refresh();
      }
      if (!model.pythons.length) {
        void model.loadPythons();
      }
    });

    if (statusBar) {
      addStatusItem(statusBar, model, () => app.shell.activateById(PANEL_ID));
    }

    // Where each isolated cell ran: a header on the cell, an entry in its metadata.
    followWhereCellsRan(tracker);

    // A build an isolated cell starts shows in the sidebar while it runs; a cell that ran
    // changes its environment's "last used" and kernel state.
    const isolated = (cell: {
      model: { sharedModel: { getSource(): string } };
    }) => cell.model.sharedModel.getSource().startsWith('%%isolated');
    NotebookActions.executionScheduled.connect((_, { cell }) => {
      if (isolated(cell)) {
        model.cellStarted();
      }
    });
    NotebookActions.executed.connect((_, { cell }) => {
      if (isolated(cell)) {
        model.cellEnded();
        void model.refresh(); // the sidebar, the Running panel, the status bar
      }
    });

    // Every sidebar action is in the palette too (those of one environment ask which).
    for (const command of [
      CommandIDs.showEnvironments,
      CommandIDs.refreshEnvironments,
      CellMenuIDs.newEnvironment,
      CellMenuIDs.pick,
      CommandIDs.insertIsolatedLine,
      CommandIDs.copyIsolatedLine,
      CommandIDs.rebuildEnvironment,
      CommandIDs.removeEnvironment,
      CacheCommandIDs.prune,
      KernelCommandIDs.restart,
      KernelCommandIDs.stop,
      CommandIDs.exportDag
    ]) {
      palette?.addItem({ command, category: trans().__(PALETTE_CATEGORY) });
    }
  }
};

export default plugin;
