/**
 * The environments cells built for themselves (`--req`, `--python`), which no name refers
 * to, and the kernel layers: their size, last use, details; removal one by one, or of every
 * unused one at once.
 */
import { deleteIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { IEnvironment, IsocellAPI } from '../api';
import { CacheCommandIDs, describeCached } from '../cache';
import { EnvironmentDetails } from './EnvironmentDetails';
import { formatBytes, formatRelative } from './format';

export interface ICachedListProps {
  cached: ReadonlyArray<IEnvironment>;
  commands: CommandRegistry;
  api: IsocellAPI;
}

export function CachedList(props: ICachedListProps): JSX.Element {
  const { cached, commands, api } = props;
  const total = cached.reduce((sum, e) => sum + (e.size_bytes ?? 0), 0);
  return (
    <details className="jp-isocell-Section jp-isocell-Cached">
      <summary>
        Cached environments ({cached.length} · {formatBytes(total)})
      </summary>
      {cached.length === 0 ? (
        <p className="jp-isocell-Empty">
          No cell has built an environment of its own yet.
        </p>
      ) : (
        <>
          <ul
            className="jp-isocell-EnvironmentList"
            aria-label="Cached environments"
          >
            {cached.map(environment => (
              <CachedItem
                key={environment.key ?? environment.python}
                environment={environment}
                commands={commands}
                api={api}
              />
            ))}
          </ul>
          <button
            className="jp-mod-styled jp-isocell-Prune"
            onClick={() => void commands.execute(CacheCommandIDs.prune)}
          >
            Remove Unused…
          </button>
        </>
      )}
    </details>
  );
}

function CachedItem(props: {
  environment: IEnvironment;
  commands: CommandRegistry;
  api: IsocellAPI;
}): JSX.Element {
  const { environment, commands, api } = props;
  const key = environment.key ?? '';
  const label = describeCached(environment);
  const layer = environment.kind === 'layer';
  return (
    <li className="jp-isocell-Environment jp-isocell-CachedItem" data-key={key}>
      <div className="jp-isocell-Environment-head">
        <span
          className="jp-isocell-Environment-name"
          title={environment.python}
        >
          {layer
            ? 'kernel layer'
            : environment.requirements.join(', ') || 'no packages'}
        </span>
        {environment.kernel_running && (
          <span className="jp-isocell-Badge">kernel running</span>
        )}
        {!layer && (
          <span className="jp-isocell-Environment-actions">
            <ToolbarButtonComponent
              icon={deleteIcon}
              tooltip={
                environment.kernel_running
                  ? 'A child kernel runs in it: stop it first'
                  : `Remove ${label}`
              }
              enabled={!environment.kernel_running}
              onClick={() =>
                void commands.execute(CacheCommandIDs.remove, { key })
              }
              dataset={{ action: 'remove-cached' }}
            />
          </span>
        )}
      </div>
      <div className="jp-isocell-Environment-details">
        <span title={environment.python}>
          Python {environment.python_version}
        </span>
        <span>
          {environment.packages}{' '}
          {environment.packages === 1 ? 'package' : 'packages'}
        </span>
        <span>{formatBytes(environment.size_bytes)}</span>
        <span title={environment.last_used ?? undefined}>
          used {formatRelative(environment.last_used)}
        </span>
      </div>
      <EnvironmentDetails label={label} load={() => api.getCached(key)} />
    </li>
  );
}
