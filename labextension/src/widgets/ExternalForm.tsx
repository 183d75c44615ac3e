/**
 * The form that registers an existing interpreter under a name.
 */
import { Button, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreateRequest, IPython } from '../api';
import { messageOf } from '../model';

export interface IExternalFormProps {
  pythons: ReadonlyArray<IPython>;
  onSubmit: (request: ICreateRequest) => Promise<void>;
}

export function ExternalForm(props: IExternalFormProps): JSX.Element {
  const id = React.useId();
  const [name, setName] = React.useState('');
  const [path, setPath] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [sending, setSending] = React.useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setSending(true);
    setError(null);
    try {
      await props.onSubmit({
        name: name.trim(),
        python: path.trim(),
        requirements: [],
        external: true
      });
      setName('');
      setPath('');
    } catch (reason) {
      setError(messageOf(reason));
    } finally {
      setSending(false);
    }
  };

  return (
    <form
      className="jp-isocell-Form"
      aria-label="Register an interpreter"
      onSubmit={submit}
    >
      <label htmlFor={`${id}-name`}>Name</label>
      <InputGroup
        id={`${id}-name`}
        aria-label="Interpreter name"
        placeholder="e.g. legacy"
        value={name}
        required
        onChange={event => setName(event.target.value)}
      />
      <label htmlFor={`${id}-path`}>Interpreter path</label>
      <InputGroup
        id={`${id}-path`}
        aria-label="Interpreter path"
        placeholder="e.g. /opt/venvs/legacy/bin/python"
        list={`${id}-pythons`}
        value={path}
        required
        onChange={event => setPath(event.target.value)}
      />
      <datalist id={`${id}-pythons`}>
        {props.pythons.map(item => (
          <option key={item.path} value={item.path}>
            Python {item.version}
          </option>
        ))}
      </datalist>
      {error && (
        <p className="jp-isocell-Error" role="alert">
          {error}
        </p>
      )}
      <Button
        type="submit"
        aria-label="Register interpreter"
        disabled={sending || !name.trim() || !path.trim()}
      >
        Register
      </Button>
    </form>
  );
}
