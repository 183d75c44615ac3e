/**
 * The child kernels running now, in every notebook: what `%isocell kernels` prints in each.
 */
import * as React from 'react';

import { IKernel } from '../api';
import { formatBytes, formatRelative } from './format';

export interface IKernelListProps {
  kernels: ReadonlyArray<IKernel>;
}

export function KernelList(props: IKernelListProps): JSX.Element {
  const { kernels } = props;
  return (
    <details className="jp-isocell-Section jp-isocell-Kernels" open>
      <summary>Running kernels ({kernels.length})</summary>
      {kernels.length === 0 ? (
        <p className="jp-isocell-Empty">
          No child kernel runs: an `%%isolated` cell starts one.
        </p>
      ) : (
        <ul className="jp-isocell-KernelList" aria-label="Running kernels">
          {kernels.map(kernel => (
            <KernelItem
              key={`${kernel.owner_pid}-${kernel.pid}`}
              kernel={kernel}
            />
          ))}
        </ul>
      )}
    </details>
  );
}

function KernelItem(props: { kernel: IKernel }): JSX.Element {
  const { kernel } = props;
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
        <span title={kernel.interpreter}>Python {kernel.python_version}</span>
        <span>pid {kernel.pid}</span>
        <span>
          {kernel.cells_run} {kernel.cells_run === 1 ? 'cell' : 'cells'} run
        </span>
        <span title="Resident memory">{formatBytes(kernel.memory_bytes)}</span>
        <span title={started}>started {formatRelative(started)}</span>
      </div>
      <div className="jp-isocell-Environment-requirements" title={notebook}>
        {basename(notebook)}
      </div>
    </li>
  );
}

function basename(path: string): string {
  return path.split('/').pop() || path;
}
