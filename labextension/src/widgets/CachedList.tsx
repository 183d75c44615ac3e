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
import { EnvironmentFacts } from './EnvironmentFacts';
import { formatBytes } from './format';
import { trans } from '../i18n';

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
          {trans().__('No cell has built an environment of its own yet.')}
        </p>
      ) : (
        <>
          <ul
            className="jp-isocell-EnvironmentList"
            aria-label={trans().__('Cached environments')}
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
            {trans().__('Remove Unused…')}
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
            ? trans().__('kernel layer')
            : environment.requirements.join(', ') || trans().__('no packages')}
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
                  ? trans().__('A child kernel runs in it: stop it first')
                  : trans().__('Remove %1', label)
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
      <EnvironmentFacts environment={environment} />
      <EnvironmentDetails label={label} load={() => api.getCached(key)} />
    </li>
  );
}
