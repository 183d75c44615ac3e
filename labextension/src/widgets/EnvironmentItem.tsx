/**
 * One environment in the sidebar's list: what it holds and what can be done with it.
 */
import {
  addAboveIcon,
  circleEmptyIcon,
  circleIcon,
  copyIcon,
  deleteIcon,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { IEnvironment, IsocellAPI } from '../api';
import { isolatedLine } from '../cells';
import { CommandIDs } from '../commands';
import { EnvironmentDetails } from './EnvironmentDetails';
import { EnvironmentFacts } from './EnvironmentFacts';
import { trans } from '../i18n';

export interface IEnvironmentItemProps {
  environment: IEnvironment;
  commands: CommandRegistry;
  api: IsocellAPI;
}

export function EnvironmentItem(props: IEnvironmentItemProps): JSX.Element {
  const { environment, commands } = props;
  const { name } = environment;
  const run = (id: string) => () => void commands.execute(id, { name });
  const line = isolatedLine(name);
  return (
    <li className="jp-isocell-Environment" data-environment={name}>
      <div className="jp-isocell-Environment-head">
        <KernelIndicator running={environment.kernel_running} />
        <span
          className="jp-isocell-Environment-name"
          title={environment.python}
        >
          {name}
        </span>
        {environment.kind === 'external' && (
          <span className="jp-isocell-Badge">external</span>
        )}
        {!environment.built && (
          <span className="jp-isocell-Badge">not built</span>
        )}
        <span className="jp-isocell-Environment-actions">
          <ToolbarButtonComponent
            icon={addAboveIcon}
            tooltip={trans().__('Insert "%1" into the active cell', line)}
            onClick={run(CommandIDs.insertIsolatedLine)}
            dataset={{ action: 'insert' }}
          />
          <ToolbarButtonComponent
            icon={copyIcon}
            tooltip={trans().__('Copy "%1"', line)}
            onClick={run(CommandIDs.copyIsolatedLine)}
            dataset={{ action: 'copy' }}
          />
          {environment.kind === 'spec' && (
            <ToolbarButtonComponent
              icon={refreshIcon}
              tooltip={trans().__('Rebuild environment %1', name)}
              onClick={run(CommandIDs.rebuildEnvironment)}
              dataset={{ action: 'rebuild' }}
            />
          )}
          <ToolbarButtonComponent
            icon={deleteIcon}
            tooltip={trans().__('Remove environment %1', name)}
            onClick={run(CommandIDs.removeEnvironment)}
            dataset={{ action: 'remove' }}
          />
        </span>
      </div>
      <EnvironmentFacts environment={environment} />
      {environment.requirements.length > 0 && (
        <div
          className="jp-isocell-Environment-requirements"
          title={trans().__('Requirements')}
        >
          {environment.requirements.join(', ')}
        </div>
      )}
      <EnvironmentDetails
        label={name}
        load={() => props.api.getEnvironment(name)}
      />
    </li>
  );
}

function KernelIndicator(props: { running: boolean }): JSX.Element {
  const label = props.running
    ? trans().__('A kernel runs in this environment')
    : trans().__('No kernel running');
  const Icon = props.running ? circleIcon : circleEmptyIcon;
  return (
    <span
      className={`jp-isocell-Kernel ${props.running ? 'jp-mod-running' : ''}`}
      role="img"
      aria-label={label}
      title={label}
    >
      <Icon.react tag="span" width="10px" height="10px" />
    </span>
  );
}
