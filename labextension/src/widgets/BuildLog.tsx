/**
 * A build's progress and live log, as it arrives by polling the task.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ITask } from '../api';
import { IBuild } from '../model';
import { describeProgress, plainLogLine } from './format';
import { trans } from '../i18n';

export interface IBuildLogProps {
  build: IBuild;
  onDismiss: () => void;
}

export function BuildLog(props: IBuildLogProps): JSX.Element {
  const { task, log, error } = props.build;
  const logRef = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    const node = logRef.current;
    if (node) {
      node.scrollTop = node.scrollHeight;
    }
  }, [log.length]);

  const running = task.state === 'running' && !error;
  const title = titleOf(task);
  // Shown once, cause first (the server's message); the log, which also holds it, folds.
  const failure = task.error ?? error;
  const logView = (
    <pre
      className="jp-isocell-Log"
      ref={logRef}
      role="log"
      aria-label={trans().__(
        'Build log of %1',
        task.kind === 'cell' ? title : task.name
      )}
    >
      {log.length > 0
        ? log.map(plainLogLine).join('\n')
        : trans().__('Waiting for the build log…')}
    </pre>
  );
  return (
    <section
      className={`jp-isocell-Build jp-mod-${error ? 'failed' : task.state}`}
      aria-label={title}
      data-task={task.id}
    >
      <div className="jp-isocell-Build-head">
        <span className="jp-isocell-Build-title">{title}</span>
        <span className="jp-isocell-Build-status" aria-live="polite">
          {describeProgress(task)}
        </span>
      </div>
      {task.kind === 'cell' && (
        <code className="jp-isocell-Build-cell" title={task.notebook ?? ''}>
          {task.name}
        </code>
      )}
      {running ? (
        <progress
          className="jp-isocell-Progress"
          aria-label={`${title}: ${task.phase}`}
        />
      ) : (
        <progress
          className="jp-isocell-Progress"
          aria-label={`${title}: ${task.state}`}
          max={1}
          value={1}
        />
      )}
      {failure && <BuildError message={failure} cause={task.cause} />}
      {running ? (
        logView
      ) : (
        <details className="jp-isocell-BuildLogToggle">
          <summary>
            {trans()._n(
              'Build log (%1 line)',
              'Build log (%1 lines)',
              log.length
            )}
          </summary>
          {logView}
        </details>
      )}
      {!running && (
        <Button
          minimal
          small
          onClick={props.onDismiss}
          aria-label={trans().__(
            'Dismiss the build of %1',
            task.kind === 'cell' ? trans().__('a cell') : task.name
          )}
        >
          {trans().__('Dismiss')}
        </Button>
      )}
    </section>
  );
}

/**
 * A failed build's message, once: its cause (the builder's own words, else the first line)
 * stands out, what failed and where the full log is follows.
 */
function BuildError(props: {
  message: string;
  cause: string | null;
}): JSX.Element {
  const { message } = props;
  const known = props.cause !== null && message.startsWith(props.cause);
  const cause = known ? props.cause! : message.split('\n')[0];
  const rest = message.slice(cause.length).replace(/^\n/, '');
  return (
    <div className="jp-isocell-Error" role="alert">
      <strong className="jp-isocell-Error-cause">{cause}</strong>
      {rest.length > 0 && <div className="jp-isocell-Error-more">{rest}</div>}
    </div>
  );
}

/** "Building analytics", "Rebuilding analytics", "Building for a cell of nb.ipynb". */
export function titleOf(task: ITask): string {
  if (task.kind === 'cell') {
    const notebook = task.notebook?.split('/').pop();
    return notebook
      ? trans().__('Building for a cell of %1', notebook)
      : trans().__('Building for a cell');
  }
  return task.kind === 'rebuild'
    ? trans().__('Rebuilding %1', task.name)
    : trans().__('Building %1', task.name);
}
