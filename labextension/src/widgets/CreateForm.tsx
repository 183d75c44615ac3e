/**
 * The form that creates an environment from requirements.
 */
import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreateRequest, IPython } from '../api';
import { messageOf } from '../model';
import { IFormDefaults, NO_DEFAULTS } from '../settings';
import { nameProblem, parseRequirementLines } from './format';
import { trans } from '../i18n';

/** The picker's value for "the server's own interpreter". */
const SERVER_PYTHON = '';

/** The picker value for `wanted` (a version such as `3.9`, or a path) among `pythons`. */
export function pickPython(
  wanted: string,
  pythons: ReadonlyArray<IPython>
): string {
  if (!wanted) {
    return SERVER_PYTHON;
  }
  const found =
    pythons.find(p => p.path === wanted) ??
    pythons.find(
      p => p.version === wanted || p.version.startsWith(`${wanted}.`)
    );
  return found ? found.path : SERVER_PYTHON;
}

export interface ICreateFormProps {
  pythons: ReadonlyArray<IPython>;
  /** Send the request; a rejection's message shows under the form. */
  onSubmit: (request: ICreateRequest) => Promise<void>;
  defaults?: IFormDefaults;
  /** The names in use: a new name must be another. */
  taken?: ReadonlyArray<string>;
}

export function CreateForm(props: ICreateFormProps): JSX.Element {
  const id = React.useId();
  const defaults = props.defaults ?? NO_DEFAULTS;
  const [name, setName] = React.useState('');
  const [python, setPython] = React.useState(
    pickPython(defaults.python, props.pythons)
  );
  const [pythonChosen, setPythonChosen] = React.useState(false);
  const [requirements, setRequirements] = React.useState('');
  const [systemSite, setSystemSite] = React.useState(false);
  const [indexUrl, setIndexUrl] = React.useState(defaults.indexUrl);
  const [excludeNewer, setExcludeNewer] = React.useState('');
  const [builder, setBuilder] = React.useState<'uv' | 'virtualenv'>(
    defaults.builder
  );
  // The interpreters arrive after the form: the default Python is picked once they do,
  // unless the user picked one already.
  React.useEffect(() => {
    if (!pythonChosen) {
      setPython(pickPython(defaults.python, props.pythons));
    }
  }, [props.pythons, defaults.python]);
  const [error, setError] = React.useState<string | null>(null);
  const problem = nameProblem(name, props.taken ?? []);
  const [sending, setSending] = React.useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setSending(true);
    setError(null);
    try {
      await props.onSubmit({
        name: name.trim(),
        python: python === SERVER_PYTHON ? null : python,
        requirements: parseRequirementLines(requirements),
        system_site_packages: systemSite,
        builder,
        ...(indexUrl.trim() ? { index_url: indexUrl.trim() } : {}),
        ...(excludeNewer.trim() ? { exclude_newer: excludeNewer.trim() } : {})
      });
      setName('');
      setRequirements('');
    } catch (reason) {
      setError(messageOf(reason));
    } finally {
      setSending(false);
    }
  };

  const pythonOptions = [
    { value: SERVER_PYTHON, label: trans().__("The server's Python") },
    ...props.pythons.map(item => ({
      value: item.path,
      label: trans().__('Python %1 (%2)', item.version, item.source)
    }))
  ];

  return (
    <form
      className="jp-isocell-Form"
      aria-label={trans().__('New environment')}
      onSubmit={submit}
    >
      <label htmlFor={`${id}-name`}>{trans().__('Name')}</label>
      <InputGroup
        id={`${id}-name`}
        aria-label={trans().__('Environment name')}
        placeholder={trans().__('e.g. analytics')}
        value={name}
        required
        aria-invalid={problem !== null}
        aria-describedby={`${id}-name-problem`}
        onChange={event => setName(event.target.value)}
      />
      <p
        id={`${id}-name-problem`}
        className="jp-isocell-Hint"
        aria-live="polite"
      >
        {problem ?? ''}
      </p>
      <label htmlFor={`${id}-python`}>{trans().__('Python')}</label>
      <HTMLSelect
        id={`${id}-python`}
        aria-label={trans().__('Python interpreter')}
        value={python}
        options={pythonOptions}
        onChange={event => {
          setPythonChosen(true);
          setPython(event.target.value);
        }}
      />
      <label htmlFor={`${id}-requirements`}>
        {trans().__('Requirements, one per line')}
      </label>
      <textarea
        id={`${id}-requirements`}
        className="jp-isocell-Requirements"
        aria-label={trans().__('Requirements, one per line')}
        placeholder={'pandas==1.4.4\nrequests'}
        rows={4}
        value={requirements}
        onChange={event => setRequirements(event.target.value)}
      />
      <details className="jp-isocell-Options">
        <summary>{trans().__('Options')}</summary>
        <label className="jp-isocell-Check">
          <input
            type="checkbox"
            aria-label={trans().__('System site packages')}
            checked={systemSite}
            onChange={event => setSystemSite(event.target.checked)}
          />
          {trans().__('System site packages')}
        </label>
        <label htmlFor={`${id}-index`}>{trans().__('Index URL')}</label>
        <InputGroup
          id={`${id}-index`}
          aria-label={trans().__('Index URL')}
          placeholder={trans().__('default: PyPI')}
          value={indexUrl}
          onChange={event => setIndexUrl(event.target.value)}
        />
        <label htmlFor={`${id}-exclude`}>
          {trans().__('Exclude newer than (date)')}
        </label>
        <InputGroup
          id={`${id}-exclude`}
          aria-label={trans().__('Exclude packages newer than')}
          placeholder={trans().__('YYYY-MM-DD')}
          value={excludeNewer}
          onChange={event => setExcludeNewer(event.target.value)}
        />
        <label htmlFor={`${id}-builder`}>{trans().__('Builder')}</label>
        <HTMLSelect
          id={`${id}-builder`}
          aria-label={trans().__('Builder')}
          value={builder}
          options={['uv', 'virtualenv']}
          onChange={event =>
            setBuilder(event.target.value as 'uv' | 'virtualenv')
          }
        />
      </details>
      {error && (
        <p className="jp-isocell-Error" role="alert">
          {error}
        </p>
      )}
      <Button
        type="submit"
        aria-label={trans().__('Create environment')}
        disabled={sending || !name.trim() || problem !== null}
      >
        {sending ? trans().__('Starting…') : trans().__('Create')}
      </Button>
    </form>
  );
}
