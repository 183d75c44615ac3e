/**
 * Export the current notebook to an Airflow DAG: ask for the options, save, call the
 * server, open the written DAG file, and say where it is (or which cell went wrong).
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { CommandRegistry } from '@lumino/commands';

import {
  DagFileExistsError,
  ExportError,
  IExportRequest,
  IExportResult,
  IsocellAPI
} from './api';
import { messageOf } from './model';
import { describeLocation } from './widgets/format';
import { dagIdFor, ExportOptionsBody, outputFor } from './widgets/ExportDialog';
import { trans } from './i18n';

/**
 * Run the export of `panel`'s notebook.
 *
 * @returns the export's result, or `null` when it was cancelled or failed (a failure is
 *   shown in a notification, with a button that selects the cell it concerns)
 */
export async function exportNotebookToDag(
  panel: NotebookPanel,
  api: IsocellAPI,
  commands: CommandRegistry
): Promise<IExportResult | null> {
  const path = panel.context.path;
  const choice = await showDialog({
    title: trans().__('Export to Airflow DAG'),
    body: new ExportOptionsBody(dagIdFor(path), outputFor(path)),
    buttons: [
      Dialog.cancelButton({ label: trans().__('Cancel') }),
      Dialog.okButton({ label: trans().__('Export') })
    ],
    focusNodeSelector: 'input'
  });
  if (!choice.button.accept || !choice.value) {
    return null;
  }
  const options = choice.value;
  const toast = Notification.emit(
    trans().__('Exporting %1 to an Airflow DAG…', path),
    'in-progress',
    {
      autoClose: false
    }
  );
  try {
    // The server reads the notebook from disk: what is on screen must be there first.
    await panel.context.save();
    const request: IExportRequest = {
      path,
      dag_id: options.dag_id || undefined,
      schedule: options.schedule,
      airflow: options.airflow,
      output: options.output || undefined,
      start_date: options.start_date || undefined,
      data_dir: options.data_dir || undefined,
      target: options.target,
      base_image: options.base_image || undefined,
      namespace: options.namespace || undefined,
      registry: options.registry || undefined,
      resources: options.resources || undefined
    };
    const result = await exportAskingFirst(api, request);
    if (result === null) {
      Notification.dismiss(toast);
      return null;
    }
    const open = () =>
      commands.execute('docmanager:open', { path: result.dag_file });
    await open();
    Notification.update({
      id: toast,
      type: 'success',
      message: trans().__(
        'DAG "%1" (%2) written to %3',
        result.dag_id,
        trans()._n('%1 task', '%1 tasks', result.tasks.length),
        result.dag_file
      ),
      autoClose: 10000,
      actions: [{ label: trans().__('Open'), callback: () => void open() }]
    });
    return result;
  } catch (error) {
    const location =
      error instanceof ExportError ? describeLocation(error) : '';
    Notification.update({
      id: toast,
      type: 'error',
      message: trans().__(
        'Export to Airflow failed: %1%2',
        messageOf(error),
        location
      ),
      autoClose: false,
      actions:
        error instanceof ExportError && error.cell !== null
          ? [
              {
                label: trans().__('Show cell'),
                callback: () => selectCell(panel, error.cell ?? 0)
              }
            ]
          : []
    });
    return null;
  }
}

/**
 * Export without replacing a DAG file that exists; if one does, ask, and replace it only if
 * the user agrees.
 *
 * @returns the result, or `null` when the user kept the file
 */
export async function exportAskingFirst(
  api: IsocellAPI,
  request: IExportRequest,
  confirm: (file: string) => Promise<boolean> = confirmReplace
): Promise<IExportResult | null> {
  try {
    return await api.exportNotebook({ ...request, overwrite: false });
  } catch (error) {
    if (!(error instanceof DagFileExistsError)) {
      throw error;
    }
    if (!(await confirm(error.dagFile))) {
      return null;
    }
    return api.exportNotebook({ ...request, overwrite: true });
  }
}

async function confirmReplace(file: string): Promise<boolean> {
  const answer = await showDialog({
    title: trans().__('Replace the DAG file?'),
    body: trans().__('%1 exists. Replace it with this export?', file),
    buttons: [
      Dialog.cancelButton({ label: trans().__('Keep it') }),
      Dialog.warnButton({ label: trans().__('Replace') })
    ]
  });
  return answer.button.accept;
}

function selectCell(panel: NotebookPanel, index: number): void {
  const notebook = panel.content;
  if (index >= 0 && index < notebook.widgets.length) {
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    void notebook.scrollToItem(index);
  }
}
