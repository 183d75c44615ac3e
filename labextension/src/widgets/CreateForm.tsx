/**
 * The form that creates an environment from requirements.
 */
import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreateRequest, IPython } from '../api';
import { messageOf } from '../model';
import { IFormDefaults, NO_DEFAULTS } from '../settings';
import { nameProblem, parseRequirementLines } from './format';

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
    { value: SERVER_PYTHON, label: "The server's Python" },
    ...props.pythons.map(item => ({
      value: item.path,
      label: `Python ${item.version} (${item.source})`
    }))
  ];

  return (
    <form
      className="jp-isocell-Form"
      aria-label="New environment"
      onSubmit={submit}
    >
      <label htmlFor={`${id}-name`}>Name</label>
      <InputGroup
        id={`${id}-name`}
        aria-label="Environment name"
        placeholder="e.g. analytics"
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
      <label htmlFor={`${id}-python`}>Python</label>
      <HTMLSelect
        id={`${id}-python`}
        aria-label="Python interpreter"
        value={python}
        options={pythonOptions}
        onChange={event => {
          setPythonChosen(true);
          setPython(event.target.value);
        }}
      />
      <label htmlFor={`${id}-requirements`}>Requirements, one per line</label>
      <textarea
        id={`${id}-requirements`}
        className="jp-isocell-Requirements"
        aria-label="Requirements, one per line"
        placeholder={'pandas==1.4.4\nrequests'}
        rows={4}
        value={requirements}
        onChange={event => setRequirements(event.target.value)}
      />
      <details className="jp-isocell-Options">
        <summary>Options</summary>
        <label className="jp-isocell-Check">
          <input
            type="checkbox"
            aria-label="System site packages"
            checked={systemSite}
            onChange={event => setSystemSite(event.target.checked)}
          />
          System site packages
        </label>
        <label htmlFor={`${id}-index`}>Index URL</label>
        <InputGroup
          id={`${id}-index`}
          aria-label="Index URL"
          placeholder="default: PyPI"
          value={indexUrl}
          onChange={event => setIndexUrl(event.target.value)}
        />
        <label htmlFor={`${id}-exclude`}>Exclude newer than (date)</label>
        <InputGroup
          id={`${id}-exclude`}
          aria-label="Exclude packages newer than"
          placeholder="YYYY-MM-DD"
          value={excludeNewer}
          onChange={event => setExcludeNewer(event.target.value)}
        />
        <label htmlFor={`${id}-builder`}>Builder</label>
        <HTMLSelect
          id={`${id}-builder`}
          aria-label="Builder"
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
        aria-label="Create environment"
        disabled={sending || !name.trim() || problem !== null}
      >
        {sending ? 'Starting…' : 'Create'}
      </Button>
    </form>
  );
}
