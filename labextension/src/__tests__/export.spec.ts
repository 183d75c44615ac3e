import { IsocellAPI } from '../api';
import { exportAskingFirst } from '../export';
import { MockServer } from './server';

const WRITTEN = {
  dag_file: 'work/dags/nb.py',
  dag_id: 'nb',
  tasks: ['x'],
  files: ['work/dags/nb.py'],
  text: ''
};

describe('an export that would replace a DAG file', () => {
  let server: MockServer;
  let api: IsocellAPI;
  beforeEach(() => {
    server = new MockServer();
    api = new IsocellAPI(server.settings);
    server.on('POST export', request => {
      const body = request.body as { overwrite: boolean };
      return body.overwrite
        ? { json: WRITTEN }
        : {
            status: 409,
            json: {
              message:
                'work/dags/nb.py exists; replace it, or export elsewhere',
              error: 'DagFileExistsError',
              dag_file: 'work/dags/nb.py'
            }
          };
    });
  });

  it('asks first, naming the file, and replaces it when the user agrees', async () => {
    const asked: string[] = [];
    const result = await exportAskingFirst(
      api,
      { path: 'work/nb.ipynb', start_date: '2025-03-04', output: 'work/dags' },
      file => {
        asked.push(file);
        return Promise.resolve(true);
      }
    );
    expect(asked).toEqual(['work/dags/nb.py']);
    expect(result?.dag_file).toBe('work/dags/nb.py');
    const bodies = server.requests.map(r => r.body as Record<string, unknown>);
    expect(bodies.map(b => b.overwrite)).toEqual([false, true]);
    expect(bodies[1].start_date).toBe('2025-03-04');
    expect(bodies[1].output).toBe('work/dags');
  });

  it('keeps the file when the user says so', async () => {
    const result = await exportAskingFirst(api, { path: 'work/nb.ipynb' }, () =>
      Promise.resolve(false)
    );
    expect(result).toBeNull();
    expect(server.requests.filter(r => r.path === 'export')).toHaveLength(1);
  });
});
