/**
 * An environment's details, read when first opened: its folder, how and when it was built,
 * its lock, and the build log folded behind its own toggle.
 */
import * as React from 'react';

import { IEnvironmentDetail } from '../api';
import { messageOf } from '../model';
import { plainLogLine } from './format';
import { trans } from '../i18n';

export interface IEnvironmentDetailsProps {
  /** What the details are of, for the labels (a name, or a cell's requirements). */
  label: string;
  /** Reads the details from the server. */
  load: () => Promise<IEnvironmentDetail>;
}

export function EnvironmentDetails(
  props: IEnvironmentDetailsProps
): JSX.Element {
  const [detail, setDetail] = React.useState<IEnvironmentDetail | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const onToggle = (event: React.SyntheticEvent<HTMLDetailsElement>) => {
    if (event.currentTarget.open && !detail) {
      props.load().then(setDetail, reason => setError(messageOf(reason)));
    }
  };
  return (
    <details className="jp-isocell-Details" onToggle={onToggle}>
      <summary aria-label={trans().__('Details of %1', props.label)}>
        {trans().__('Details')}
      </summary>
      {error && (
        <p className="jp-isocell-Error" role="alert">
          {error}
        </p>
      )}
      {!detail && !error && (
        <p className="jp-isocell-Empty">{trans().__('Loading…')}</p>
      )}
      {detail && <DetailView detail={detail} label={props.label} />}
    </details>
  );
}

function DetailView(props: {
  detail: IEnvironmentDetail;
  label: string;
}): JSX.Element {
  const { detail, label } = props;
  const log = detail.build_log.trimEnd();
  const lines = log ? log.split('\n') : [];
  return (
    <div className="jp-isocell-Details-body">
      <dl className="jp-isocell-Facts">
        <dt>{trans().__('Folder')}</dt>
        <dd>
          <code>{detail.path}</code>
        </dd>
        <dt>{trans().__('Interpreter')}</dt>
        <dd>
          <code>{detail.python}</code>
        </dd>
        {detail.builder && (
          <>
            <dt>{trans().__('Built')}</dt>
            <dd title={detail.built_at ?? undefined}>
              {detail.built_at
                ? trans().__('with %1, %2', detail.builder, detail.built_at)
                : trans().__('with %1', detail.builder)}
            </dd>
          </>
        )}
        {detail.exclude_newer && detail.exclude_newer !== 'none' && (
          <>
            <dt>{trans().__('Resolved as of')}</dt>
            <dd>{detail.exclude_newer}</dd>
          </>
        )}
      </dl>
      <details className="jp-isocell-Lock">
        <summary>{trans().__('Lock (%1)', detail.lock.length)}</summary>
        <pre aria-label={trans().__('Lock of %1', label)}>
          {detail.lock.join('\n')}
        </pre>
      </details>
      {lines.length > 0 && (
        <details className="jp-isocell-BuildLogToggle">
          <summary>
            {trans()._n(
              'Build log (%1 line)',
              'Build log (%1 lines)',
              lines.length
            )}
          </summary>
          <pre
            className="jp-isocell-Log"
            role="log"
            aria-label={trans().__('Build log of %1', label)}
          >
            {lines.map(plainLogLine).join('\n')}
          </pre>
        </details>
      )}
    </div>
  );
}
