/**
 * A build's progress and live log, as it arrives by polling the task.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ITask } from '../api';
import { IBuild } from '../model';
import { describeProgress, plainLogLine } from './format';

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
      <pre
        className="jp-isocell-Log"
        ref={logRef}
        role="log"
        aria-label={`Build log of ${task.kind === 'cell' ? title : task.name}`}
      >
        {log.length > 0
          ? log.map(plainLogLine).join('\n')
          : 'Waiting for the build log…'}
      </pre>
      {(task.error || error) && (
        <p className="jp-isocell-Error" role="alert">
          {task.error ?? error}
        </p>
      )}
      {!running && (
        <Button
          minimal
          small
          onClick={props.onDismiss}
          aria-label={`Dismiss the build of ${task.kind === 'cell' ? 'a cell' : task.name}`}
        >
          Dismiss
        </Button>
      )}
    </section>
  );
}

/** "Building analytics", "Rebuilding analytics", "Building for a cell of nb.ipynb". */
export function titleOf(task: ITask): string {
  if (task.kind === 'cell') {
    const notebook = task.notebook?.split('/').pop();
    return notebook
      ? `Building for a cell of ${notebook}`
      : 'Building for a cell';
  }
  return `${task.kind === 'rebuild' ? 'Rebuilding' : 'Building'} ${task.name}`;
}
