/**
 * Commands on the environments cells built for themselves: remove one, or every unused one
 * (after saying which, and how much room that frees).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

import { IEnvironment } from './api';
import { confirmRemoval } from './commands';
import { EnvironmentsModel, messageOf } from './model';
import { formatBytes } from './widgets/format';
import { trans } from './i18n';

export namespace CacheCommandIDs {
  export const remove = 'isocell:remove-cached-environment';
  export const prune = 'isocell:remove-unused-environments';
}

/** "Python 3.9.18 with pandas==1.4.4", or "the kernel layer of Python 3.9.18". */
export function describeCached(environment: IEnvironment): string {
  if (environment.kind === 'layer') {
    return trans().__(
      'the kernel layer of Python %1',
      environment.python_version
    );
  }
  const packages =
    environment.requirements.join(', ') || trans().__('no extra packages');
  return trans().__('Python %1 with %2', environment.python_version, packages);
}

export function addCacheCommands(
  app: JupyterFrontEnd,
  model: EnvironmentsModel
): void {
  app.commands.addCommand(CacheCommandIDs.remove, {
    label: trans().__('Remove Cached Environment…'),
    caption: trans().__(
      'Delete an environment a cell built (the next such cell builds it again)'
    ),
    execute: async args => {
      const environment = model.cached.find(e => e.key === args.key);
      if (!environment || !environment.key) {
        return;
      }
      const label = describeCached(environment);
      const confirmed = await confirmRemoval(
        trans().__('Remove cached environment?'),
        trans().__(
          '%1 (%2). A cell that asks for it again builds it again.',
          label,
          formatBytes(environment.size_bytes)
        )
      );
      if (!confirmed) {
        return;
      }
      try {
        await model.removeCached(environment.key);
      } catch (error) {
        Notification.error(
          trans().__('Could not remove %1: %2', label, messageOf(error)),
          {
            autoClose: false
          }
        );
      }
    }
  });

  app.commands.addCommand(CacheCommandIDs.prune, {
    label: trans().__('Remove Unused Cached Environments…'),
    caption: trans().__(
      'Delete the environments cells built that no kernel runs in (named ones stay)'
    ),
    execute: async () => {
      try {
        const plan = await model.prune(true);
        if (!plan.removed.length) {
          Notification.info(trans().__('No cached environment is unused.'), {
            autoClose: 4000
          });
          return;
        }
        const confirmed = await confirmRemoval(
          trans()._n(
            'Remove %1 unused cached environment?',
            'Remove %1 unused cached environments?',
            plan.removed.length
          ),
          trans().__(
            '%1. This frees %2; named environments and those a kernel runs in stay.',
            plan.removed.map(describeCached).join('; '),
            formatBytes(plan.freed_bytes)
          )
        );
        if (!confirmed) {
          return;
        }
        const done = await model.prune(false);
        Notification.success(
          trans()._n(
            'Removed %1 cached environment, %2 freed.',
            'Removed %1 cached environments, %2 freed.',
            done.removed.length,
            formatBytes(done.freed_bytes)
          ),
          { autoClose: 4000 }
        );
      } catch (error) {
        Notification.error(
          trans().__(
            'Could not remove the unused environments: %1',
            messageOf(error)
          ),
          { autoClose: false }
        );
      }
    }
  });
}
