/**
 * An environment's facts in one line of the sidebar: Python, packages, size, last use.
 */
import * as React from 'react';

import { IEnvironment } from '../api';
import { trans } from '../i18n';
import { formatBytes, formatRelative } from './format';

export function EnvironmentFacts(props: {
  environment: IEnvironment;
}): JSX.Element {
  const { environment } = props;
  return (
    <div className="jp-isocell-Environment-details">
      <span title={environment.python}>
        {trans().__('Python %1', environment.python_version)}
      </span>
      <span>
        {trans()._n('%1 package', '%1 packages', environment.packages)}
      </span>
      <span>{formatBytes(environment.size_bytes)}</span>
      <span title={environment.last_used ?? undefined}>
        {trans().__('used %1', formatRelative(environment.last_used))}
      </span>
    </div>
  );
}
