/**
 * isocell's commands. The sidebar's buttons, the palette, the File menu and the notebook
 * toolbar all run these, so each action is written once.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  InputDialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { IsocellAPI } from './api';
import { isolatedLine, withIsolatedLine } from './cells';
import { exportNotebookToDag } from './export';
import { dagIcon, environmentsIcon } from './icons';
import { EnvironmentsModel, messageOf } from './model';
import { trans } from './i18n';

export namespace CommandIDs {
  export const showEnvironments = 'isocell:show-environments';
  export const refreshEnvironments = 'isocell:refresh-environments';
  export const insertIsolatedLine = 'isocell:insert-isolated-line';
  export const copyIsolatedLine = 'isocell:copy-isolated-line';
  export const removeEnvironment = 'isocell:remove-environment';
  export const rebuildEnvironment = 'isocell:rebuild-environment';
  export const exportDag = 'isocell:export-dag';
}

/** The palette's category for isocell's commands. */
export const PALETTE_CATEGORY = 'Isolated environments';

export interface ICommandContext {
  app: JupyterFrontEnd;
  model: EnvironmentsModel;
  api: IsocellAPI;
  tracker: INotebookTracker;
  /** The sidebar's widget id. */
  panelId: string;
}

/** The environment name a command was given (`{ name }`); throws without one. */
function nameOf(args: Record<string, unknown>): string {
  if (typeof args.name !== 'string' || !args.name) {
    throw new Error(
      trans().__(
        'This command needs the environment\'s name: { "name": "NAME" }'
      )
    );
  }
  return args.name;
}

/**
 * The environment name a command was given, or, from the palette (no name), the one the
 * user picks among `model`'s; `null` when they cancel or there is none.
 */
async function askName(
  args: Record<string, unknown>,
  model: EnvironmentsModel,
  title: string
): Promise<string | null> {
  if (typeof args.name === 'string' && args.name) {
    return args.name;
  }
  if (!model.environments.length) {
    await model.refresh();
  }
  const names = model.environments.map(e => e.name);
  if (!names.length) {
    Notification.info(trans().__('There is no named environment yet.'), {
      autoClose: 4000
    });
    return null;
  }
  const answer = await InputDialog.getItem({ title, items: names });
  return answer.button.accept && answer.value ? answer.value : null;
}

/** Ask before removing something: Cancel, or Remove (a warning button). */
export async function confirmRemoval(
  title: string,
  body: string
): Promise<boolean> {
  const answer = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans().__('Cancel') }),
      Dialog.warnButton({ label: trans().__('Remove') })
    ]
  });
  return answer.button.accept;
}

export function addCommands(context: ICommandContext): void {
  const { app, model, api, tracker, panelId } = context;
  const { commands, shell } = app;

  commands.addCommand(CommandIDs.showEnvironments, {
    label: trans().__('Show Isolated Environments'),
    caption: trans().__('Show the isolated environments sidebar'),
    icon: environmentsIcon,
    execute: () => shell.activateById(panelId)
  });

  commands.addCommand(CommandIDs.refreshEnvironments, {
    label: trans().__('Refresh Isolated Environments'),
    execute: () => model.refresh()
  });

  commands.addCommand(CommandIDs.insertIsolatedLine, {
    label: args =>
      args.name
        ? trans().__('Insert "%1"', isolatedLine(nameOf(args)))
        : trans().__('Insert %1 Line', '%%isolated'),
    caption: trans().__(
      'Make the active cell run in this environment (its first line)'
    ),
    execute: async args => {
      const name = await askName(
        args,
        model,
        trans().__('Insert the line of which environment?')
      );
      if (name === null) {
        return;
      }
      const notebook = tracker.currentWidget;
      const cell = tracker.activeCell;
      if (!notebook || !cell) {
        Notification.warning(
          trans().__(
            'Open a notebook and select a cell to insert "%1" into.',
            isolatedLine(name)
          ),
          { autoClose: 5000 }
        );
        return;
      }
      const source = cell.model.sharedModel.getSource();
      cell.model.sharedModel.setSource(withIsolatedLine(source, name));
      shell.activateById(notebook.id);
    }
  });

  commands.addCommand(CommandIDs.copyIsolatedLine, {
    label: args =>
      args.name
        ? trans().__('Copy "%1"', isolatedLine(nameOf(args)))
        : trans().__('Copy %1 Line', '%%isolated'),
    caption: trans().__(
      'Copy the magic line that runs a cell in this environment'
    ),
    execute: async args => {
      const name = await askName(
        args,
        model,
        trans().__('Copy the line of which environment?')
      );
      if (name === null) {
        return;
      }
      const line = isolatedLine(name);
      Clipboard.copyToSystem(line);
      Notification.info(trans().__('Copied "%1" to the clipboard.', line), {
        autoClose: 3000
      });
    }
  });

  commands.addCommand(CommandIDs.removeEnvironment, {
    label: args =>
      args.name
        ? trans().__('Remove Environment %1…', String(args.name))
        : trans().__('Remove Environment…'),
    execute: async args => {
      const name = await askName(
        args,
        model,
        trans().__('Remove which environment?')
      );
      if (name === null) {
        return;
      }
      const confirmed = await confirmRemoval(
        trans().__('Remove environment "%1"?', name),
        trans().__(
          'isocell forgets the name and deletes the environment it built (an external interpreter is only forgotten). Cells with "--env %1" will fail until it exists again.',
          name
        )
      );
      if (!confirmed) {
        return;
      }
      try {
        await model.remove(name);
      } catch (error) {
        Notification.error(
          trans().__('Could not remove "%1": %2', name, messageOf(error)),
          {
            autoClose: false
          }
        );
      }
    }
  });

  commands.addCommand(CommandIDs.rebuildEnvironment, {
    label: args =>
      args.name
        ? trans().__('Rebuild Environment %1', String(args.name))
        : trans().__('Rebuild Environment'),
    execute: async args => {
      const name = await askName(
        args,
        model,
        trans().__('Rebuild which environment?')
      );
      if (name === null) {
        return;
      }
      try {
        await model.rebuild(name);
      } catch (error) {
        Notification.error(
          trans().__('Could not rebuild "%1": %2', name, messageOf(error)),
          {
            autoClose: false
          }
        );
      }
    }
  });

  commands.addCommand(CommandIDs.exportDag, {
    label: args =>
      args.toolbar ? '' : trans().__('Export Notebook to Airflow DAG…'),
    caption: trans().__('Export this notebook to an Airflow DAG file'),
    icon: dagIcon,
    isEnabled: () => tracker.currentWidget !== null,
    execute: async () => {
      const panel = tracker.currentWidget;
      if (panel) {
        await exportNotebookToDag(panel, api, commands);
      }
    }
  });
}
