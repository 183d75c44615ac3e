/**
 * The child kernels of isolated cells as Lab shows kernels: a section of the Running
 * panel (`IRunningSessionManagers`, as Lab's own kernels and terminals), with Stop on each
 * and Restart in its context menu, and two commands the sidebar and the palette run.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { InputDialog, Notification } from '@jupyterlab/apputils';
import { IRunningSessionManagers, IRunningSessions } from '@jupyterlab/running';
import { IDisposable } from '@lumino/disposable';

import { IKernel } from './api';
import { environmentsIcon } from './icons';
import { EnvironmentsModel, messageOf } from './model';
import { trans } from './i18n';

export namespace KernelCommandIDs {
  export const stop = 'isocell:stop-kernel';
  export const restart = 'isocell:restart-kernel';
}

/** The class of a child kernel's row in the Running panel; its pid follows as a class. */
export const RUNNING_ITEM_CLASS = 'jp-isocell-RunningKernel';
const PID_CLASS = 'jp-isocell-pid-';

/** "analytics (Python 3.9.18)": what a child kernel is called in lists and dialogs. */
export function kernelLabel(kernel: IKernel): string {
  return trans().__(
    '%1 (Python %2)',
    kernel.name ?? kernel.environment,
    kernel.python_version
  );
}

function notebookOf(kernel: IKernel): string {
  const notebook =
    kernel.notebook ?? trans().__('notebook kernel %1', kernel.owner_pid);
  return notebook.split('/').pop() || notebook;
}

/**
 * The pid a command was given (`{ pid }`), else the Running panel row it was opened on,
 * else the one the user picks; `null` when they cancel or none runs.
 */
async function askKernel(
  app: JupyterFrontEnd,
  model: EnvironmentsModel,
  args: Record<string, unknown>,
  title: string
): Promise<IKernel | null> {
  if (!model.kernels.length) {
    await model.refresh();
  }
  const row = app.contextMenuHitTest(node =>
    node.classList.contains(RUNNING_ITEM_CLASS)
  );
  const fromRow = [...(row?.classList ?? [])]
    .find(name => name.startsWith(PID_CLASS))
    ?.slice(PID_CLASS.length);
  const pid = typeof args.pid === 'number' ? args.pid : Number(fromRow);
  const given = model.kernels.find(kernel => kernel.pid === pid);
  if (given || typeof args.pid === 'number') {
    return given ?? null;
  }
  if (!model.kernels.length) {
    Notification.info(trans().__('No child kernel runs.'), { autoClose: 4000 });
    return null;
  }
  const items = model.kernels.map(kernel =>
    trans().__(
      '%1 · %2 · pid %3',
      kernelLabel(kernel),
      notebookOf(kernel),
      kernel.pid
    )
  );
  const answer = await InputDialog.getItem({ title, items });
  const index = answer.value ? items.indexOf(answer.value) : -1;
  return answer.button.accept && index >= 0 ? model.kernels[index] : null;
}

export function addKernelCommands(
  app: JupyterFrontEnd,
  model: EnvironmentsModel
): void {
  app.commands.addCommand(KernelCommandIDs.stop, {
    label: trans().__('Stop Child Kernel'),
    caption: trans().__(
      'End this child kernel; its notebook starts a fresh one for the next cell'
    ),
    execute: async args => {
      const kernel = await askKernel(
        app,
        model,
        args,
        trans().__('Stop which kernel?')
      );
      if (kernel) {
        try {
          await model.stopKernel(kernel.pid);
        } catch (error) {
          Notification.error(
            trans().__(
              'Could not stop %1: %2',
              kernelLabel(kernel),
              messageOf(error)
            ),
            { autoClose: false }
          );
        }
      }
    }
  });

  app.commands.addCommand(KernelCommandIDs.restart, {
    label: trans().__('Restart Child Kernel'),
    caption: trans().__(
      'Start this child kernel afresh now, through its notebook (as %1)',
      '%isocell restart'
    ),
    execute: async args => {
      const kernel = await askKernel(
        app,
        model,
        args,
        trans().__('Restart which kernel?')
      );
      if (!kernel) {
        return;
      }
      try {
        const state = await model.restartKernel(kernel.pid);
        Notification.info(
          state === 'queued'
            ? trans().__(
                '%1 restarts when the cell running in %2 ends.',
                kernelLabel(kernel),
                notebookOf(kernel)
              )
            : trans().__('Restarted %1.', kernelLabel(kernel)),
          { autoClose: 4000 }
        );
      } catch (error) {
        Notification.error(
          trans().__(
            'Could not restart %1: %2',
            kernelLabel(kernel),
            messageOf(error)
          ),
          { autoClose: false }
        );
      }
    }
  });

  app.contextMenu.addItem({
    command: KernelCommandIDs.restart,
    selector: `.${RUNNING_ITEM_CLASS}`,
    rank: 1
  });
  app.contextMenu.addItem({
    command: KernelCommandIDs.stop,
    selector: `.${RUNNING_ITEM_CLASS}`,
    rank: 2
  });
}

/** One child kernel as a row of the Running panel. */
function runningItem(
  kernel: IKernel,
  app: JupyterFrontEnd
): IRunningSessions.IRunningItem {
  return {
    className: `${RUNNING_ITEM_CLASS} ${PID_CLASS}${kernel.pid}`,
    icon: () => environmentsIcon,
    label: () => kernelLabel(kernel),
    labelTitle: () =>
      trans()._n(
        '%2\npid %3 · %1 cell run',
        '%2\npid %3 · %1 cells run',
        kernel.cells_run,
        kernel.interpreter,
        kernel.pid
      ),
    detail: () => notebookOf(kernel),
    shutdown: () =>
      void app.commands.execute(KernelCommandIDs.stop, { pid: kernel.pid })
  };
}

/** Add the section "Isolated Cell Kernels" to the Running panel. */
export function addRunningKernels(
  managers: IRunningSessionManagers,
  model: EnvironmentsModel,
  app: JupyterFrontEnd
): IDisposable {
  return managers.add({
    name: trans().__('Isolated Cell Kernels'),
    supportsMultipleViews: false,
    running: () => model.kernels.map(kernel => runningItem(kernel, app)),
    shutdownAll: () => {
      void Promise.all(
        model.kernels.map(kernel => model.stopKernel(kernel.pid))
      ).catch(error =>
        Notification.error(
          trans().__('Could not stop every kernel: %1', messageOf(error))
        )
      );
    },
    refreshRunning: () => void model.refresh(),
    runningChanged: model.changed,
    shutdownLabel: trans().__('Stop'),
    shutdownAllLabel: trans().__('Stop All'),
    shutdownAllConfirmationText: trans().__(
      'Stop every child kernel of isolated cells? Their notebooks keep their values and start fresh ones for their next cells.'
    )
  });
}
