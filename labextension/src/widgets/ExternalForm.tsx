/**
 * The form that registers an existing interpreter under a name.
 */
import { Button, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreateRequest, IPython } from '../api';
import { messageOf } from '../model';
import { trans } from '../i18n';

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
      aria-label={trans().__('Register an interpreter')}
      onSubmit={submit}
    >
      <label htmlFor={`${id}-name`}>{trans().__('Name')}</label>
      <InputGroup
        id={`${id}-name`}
        aria-label={trans().__('Interpreter name')}
        placeholder={trans().__('e.g. legacy')}
        value={name}
        required
        onChange={event => setName(event.target.value)}
      />
      <label htmlFor={`${id}-path`}>{trans().__('Interpreter path')}</label>
      <InputGroup
        id={`${id}-path`}
        aria-label={trans().__('Interpreter path')}
        placeholder={trans().__('e.g. /opt/venvs/legacy/bin/python')}
        list={`${id}-pythons`}
        value={path}
        required
        onChange={event => setPath(event.target.value)}
      />
      <datalist id={`${id}-pythons`}>
        {props.pythons.map(item => (
          <option key={item.path} value={item.path}>
            {trans().__('Python %1', item.version)}
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
        aria-label={trans().__('Register interpreter')}
        disabled={sending || !name.trim() || !path.trim()}
      >
        {trans().__('Register')}
      </Button>
    </form>
  );
}
