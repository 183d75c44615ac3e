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

import { IsocellAPI } from './api';
import { addCommands, CommandIDs, PALETTE_CATEGORY } from './commands';
import { EnvironmentsModel } from './model';
import { EnvironmentsPanel, PANEL_ID } from './widgets/EnvironmentsPanel';
import { followWhereCellsRan } from './where';
import { addCellMenu } from './cellmenu';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'isocell:plugin',
  description:
    'Isolated environments for notebook cells, and the export to an Airflow DAG.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const api = new IsocellAPI();
    const model = new EnvironmentsModel(api);
    addCommands({ app, model, api, tracker, panelId: PANEL_ID });

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

    // Where each isolated cell ran: a header on the cell, an entry in its metadata.
    followWhereCellsRan(tracker);

    // An isolated cell that ran changes its environment's "last used" and kernel state.
    NotebookActions.executed.connect((_, { cell }) => {
      if (
        panel.isVisible &&
        cell.model.sharedModel.getSource().startsWith('%%isolated')
      ) {
        void model.refresh();
      }
    });

    for (const command of [
      CommandIDs.showEnvironments,
      CommandIDs.refreshEnvironments,
      CommandIDs.exportDag
    ]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};

export default plugin;
