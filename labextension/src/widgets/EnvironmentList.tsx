/**
 * The list of environments, or what to do when there is none.
 */
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { IEnvironment, IsocellAPI } from '../api';
import { EnvironmentItem } from './EnvironmentItem';
import { trans } from '../i18n';

export interface IEnvironmentListProps {
  environments: ReadonlyArray<IEnvironment>;
  commands: CommandRegistry;
  api: IsocellAPI;
  loading: boolean;
}

export function EnvironmentList(props: IEnvironmentListProps): JSX.Element {
  if (props.environments.length === 0) {
    return (
      <p className="jp-isocell-Empty">
        {props.loading
          ? trans().__('Loading environments…')
          : trans().__(
              'No environment yet. Create one below, or let `%1` build one.',
              '%%isolated'
            )}
      </p>
    );
  }
  return (
    <ul
      className="jp-isocell-EnvironmentList"
      aria-label={trans().__('Environments')}
    >
      {props.environments.map(environment => (
        <EnvironmentItem
          key={environment.name}
          environment={environment}
          commands={props.commands}
          api={props.api}
        />
      ))}
    </ul>
  );
}
