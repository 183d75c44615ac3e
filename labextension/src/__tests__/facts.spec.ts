import { headerText, lasting, titleOf } from '../facts';

const facts = {
  environment: 'py3.9 pandas==1.4.4',
  id: 'abc123',
  python: '3.9.18',
  interpreter: '/envs/abc123/bin/python',
  lock: 'sha256:00ff',
  name: null,
  packages: 6,
  built: false,
  kernel: 4242,
  ok: true
};

describe('where a cell ran', () => {
  it('keeps only the lasting facts in the metadata', () => {
    expect(lasting(facts)).toEqual({
      environment: 'py3.9 pandas==1.4.4',
      id: 'abc123',
      python: '3.9.18',
      interpreter: '/envs/abc123/bin/python',
      lock: 'sha256:00ff'
    });
  });

  it('reads as one line: environment, Python, built or reused, child kernel', () => {
    expect(headerText(facts, true)).toBe(
      'ran in py3.9 pandas==1.4.4 · Python 3.9.18 · reused · child kernel 4242'
    );
    expect(headerText({ ...facts, built: true }, true)).toContain(
      'built for this cell'
    );
  });

  it('says a header from the saved notebook is a record', () => {
    expect(headerText(lasting(facts), false)).toBe(
      'ran in py3.9 pandas==1.4.4 · Python 3.9.18 · as recorded'
    );
  });

  it('puts the interpreter, id and lock in the tooltip', () => {
    expect(titleOf(facts)).toBe(
      'interpreter: /envs/abc123/bin/python\nid: abc123\nlock: sha256:00ff'
    );
    expect(titleOf({ ...facts, lock: null })).not.toContain('lock');
  });
});
