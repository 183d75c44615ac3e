/**
 * The child kernels running now, in every notebook: what `%isocell kernels` prints in each.
 */
import { Button } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { IKernel } from '../api';
import { KernelCommandIDs, kernelLabel } from '../kernels';
import { formatBytes, formatRelative } from './format';
import { trans } from '../i18n';

export interface IKernelListProps {
  kernels: ReadonlyArray<IKernel>;
  commands: CommandRegistry;
}

export function KernelList(props: IKernelListProps): JSX.Element {
  const { kernels, commands } = props;
  return (
    <details className="jp-isocell-Section jp-isocell-Kernels" open>
      <summary>{trans().__('Running kernels (%1)', kernels.length)}</summary>
      {kernels.length === 0 ? (
        <p className="jp-isocell-Empty">
          {trans().__('No child kernel runs: an `%%isolated` cell starts one.')}
        </p>
      ) : (
        <ul
          className="jp-isocell-KernelList"
          aria-label={trans().__('Running kernels')}
        >
          {kernels.map(kernel => (
            <KernelItem
              key={`${kernel.owner_pid}-${kernel.pid}`}
              kernel={kernel}
              commands={commands}
            />
          ))}
        </ul>
      )}
    </details>
  );
}

function KernelItem(props: {
  kernel: IKernel;
  commands: CommandRegistry;
}): JSX.Element {
  const { kernel, commands } = props;
  const [busy, setBusy] = React.useState(false);
  const run = (command: string) => {
    setBusy(true);
    void commands
      .execute(command, { pid: kernel.pid })
      .finally(() => setBusy(false));
  };
  const started = new Date(kernel.started * 1000).toISOString();
  const notebook = kernel.notebook ?? `notebook kernel ${kernel.owner_pid}`;
  return (
    <li className="jp-isocell-KernelItem" data-pid={kernel.pid}>
      <div className="jp-isocell-Environment-head">
        <span
          className="jp-isocell-Environment-name"
          title={kernel.interpreter}
        >
          {kernel.name ?? kernel.environment}
        </span>
      </div>
      <div className="jp-isocell-Environment-details">
        <span title={kernel.interpreter}>
          {trans().__('Python %1', kernel.python_version)}
        </span>
        <span>{trans().__('pid %1', kernel.pid)}</span>
        <span>
          {trans()._n('%1 cell run', '%1 cells run', kernel.cells_run)}
        </span>
        <span title={trans().__('Resident memory')}>
          {formatBytes(kernel.memory_bytes)}
        </span>
        <span title={started}>
          {trans().__('started %1', formatRelative(started))}
        </span>
      </div>
      <div className="jp-isocell-Environment-requirements" title={notebook}>
        {basename(notebook)}
      </div>
      <div className="jp-isocell-Environment-actions">
        <Button
          minimal
          small
          disabled={busy}
          onClick={() => run(KernelCommandIDs.restart)}
          aria-label={trans().__('Restart %1', kernelLabel(kernel))}
          title={trans().__(
            'Start it afresh now, through its notebook (as %isocell restart)'
          )}
        >
          {trans().__('Restart')}
        </Button>
        <Button
          minimal
          small
          disabled={busy}
          onClick={() => run(KernelCommandIDs.stop)}
          aria-label={trans().__('Stop %1', kernelLabel(kernel))}
          title={trans().__(
            'End it; its notebook starts a fresh one for the next cell'
          )}
        >
          {trans().__('Stop')}
        </Button>
      </div>
    </li>
  );
}

function basename(path: string): string {
  return path.split('/').pop() || path;
}
