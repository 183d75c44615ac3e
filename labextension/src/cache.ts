/**
 * Commands on the environments cells built for themselves: remove one, or every unused one
 * (after saying which, and how much room that frees).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';

import { IEnvironment } from './api';
import { EnvironmentsModel, messageOf } from './model';
import { formatBytes } from './widgets/format';

export namespace CacheCommandIDs {
  export const remove = 'isocell:remove-cached-environment';
  export const prune = 'isocell:remove-unused-environments';
}

/** "Python 3.9.18 with pandas==1.4.4", or "the kernel layer of Python 3.9.18". */
export function describeCached(environment: IEnvironment): string {
  if (environment.kind === 'layer') {
    return `the kernel layer of Python ${environment.python_version}`;
  }
  const packages = environment.requirements.join(', ') || 'no extra packages';
  return `Python ${environment.python_version} with ${packages}`;
}

export function addCacheCommands(
  app: JupyterFrontEnd,
  model: EnvironmentsModel
): void {
  app.commands.addCommand(CacheCommandIDs.remove, {
    label: 'Remove Cached Environment…',
    caption:
      'Delete an environment a cell built (the next such cell builds it again)',
    execute: async args => {
      const environment = model.cached.find(e => e.key === args.key);
      if (!environment || !environment.key) {
        return;
      }
      const label = describeCached(environment);
      const answer = await showDialog({
        title: 'Remove cached environment?',
        body: `${label} (${formatBytes(environment.size_bytes)}). A cell that asks for it again builds it again.`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
      });
      if (!answer.button.accept) {
        return;
      }
      try {
        await model.removeCached(environment.key);
      } catch (error) {
        Notification.error(`Could not remove ${label}: ${messageOf(error)}`, {
          autoClose: false
        });
      }
    }
  });

  app.commands.addCommand(CacheCommandIDs.prune, {
    label: 'Remove Unused Cached Environments…',
    caption:
      'Delete the environments cells built that no kernel runs in (named ones stay)',
    execute: async () => {
      try {
        const plan = await model.prune(true);
        if (!plan.removed.length) {
          Notification.info('No cached environment is unused.', {
            autoClose: 4000
          });
          return;
        }
        const answer = await showDialog({
          title: `Remove ${plan.removed.length} unused cached environments?`,
          body: `${plan.removed.map(describeCached).join('; ')}. This frees ${formatBytes(plan.freed_bytes)}; named environments and those a kernel runs in stay.`,
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: 'Remove' })
          ]
        });
        if (!answer.button.accept) {
          return;
        }
        const done = await model.prune(false);
        Notification.success(
          `Removed ${done.removed.length} cached environments, ${formatBytes(done.freed_bytes)} freed.`,
          { autoClose: 4000 }
        );
      } catch (error) {
        Notification.error(
          `Could not remove the unused environments: ${messageOf(error)}`,
          { autoClose: false }
        );
      }
    }
  });
}
