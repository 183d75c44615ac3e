import { readSettings } from '../settings';
import { pickPython } from '../widgets/CreateForm';

const pythons = [
  { version: '3.13.0', path: '/py/3.13/bin/python3', source: 'pyenv' },
  { version: '3.9.18', path: '/py/3.9/bin/python3', source: 'pyenv' }
];

describe('the settings', () => {
  it('read with the schema defaults for what is missing or wrong', () => {
    expect(readSettings({})).toEqual({
      defaults: { python: '', builder: 'uv', indexUrl: '' },
      refreshSeconds: 0
    });
    expect(
      readSettings({
        defaultPython: ' 3.9 ',
        defaultBuilder: 'virtualenv',
        indexUrl: 'https://example.org/simple',
        refreshInterval: 30
      })
    ).toEqual({
      defaults: {
        python: '3.9',
        builder: 'virtualenv',
        indexUrl: 'https://example.org/simple'
      },
      refreshSeconds: 30
    });
    expect(
      readSettings({ defaultBuilder: 'conda', refreshInterval: -1 })
    ).toEqual({
      defaults: { python: '', builder: 'uv', indexUrl: '' },
      refreshSeconds: 0
    });
  });

  it('pick the default Python by version or path, else the server’s', () => {
    expect(pickPython('3.9', pythons)).toBe('/py/3.9/bin/python3');
    expect(pickPython('/py/3.13/bin/python3', pythons)).toBe(
      '/py/3.13/bin/python3'
    );
    expect(pickPython('3.1', pythons)).toBe('');
    expect(pickPython('', pythons)).toBe('');
  });
});
