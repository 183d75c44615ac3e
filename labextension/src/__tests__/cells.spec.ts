import { isolatedLine, withIsolatedLine } from '../cells';
import { dagIdFor } from '../widgets/ExportDialog';
import { describeLocation } from '../widgets/format';

describe('withIsolatedLine', () => {
  it('puts the magic line first', () => {
    expect(isolatedLine('a')).toBe('%%isolated --env a');
    expect(withIsolatedLine('x = 1\nprint(x)', 'a')).toBe(
      '%%isolated --env a\nx = 1\nprint(x)'
    );
    expect(withIsolatedLine('', 'a')).toBe('%%isolated --env a');
  });

  it('replaces an existing %%isolated line', () => {
    expect(withIsolatedLine('%%isolated --python 3.9 pandas\nx = 1', 'b')).toBe(
      '%%isolated --env b\nx = 1'
    );
    expect(withIsolatedLine('%%isolated --env a', 'b')).toBe(
      '%%isolated --env b'
    );
  });
});

describe('export helpers', () => {
  it('makes a DAG id from the notebook name', () => {
    expect(dagIdFor('work/ETL to Airflow.ipynb')).toBe('ETL_to_Airflow');
    expect(dagIdFor('-.ipynb')).toBe('notebook');
  });

  it('adds the location, counting cells from 1, only when the message lacks it', () => {
    // the server's index 2 is the third cell, as its message and `isocell export` say
    expect(
      describeLocation({
        cell: 2,
        line: 3,
        message: 'cannot export: cell 3, line 3: x'
      })
    ).toBe('');
    expect(describeLocation({ cell: 2, line: 3, message: 'bad' })).toBe(
      ' (cell 3, line 3)'
    );
    expect(
      describeLocation({ cell: 2, line: null, message: 'cell 30 is fine' })
    ).toBe(' (cell 3)');
    expect(describeLocation({ cell: null, line: null, message: 'bad' })).toBe(
      ''
    );
  });
});
