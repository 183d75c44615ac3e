import {
  ExportError,
  IsocellAPI,
  parseEnvironment,
  parseKernel,
  parseTask
} from '../api';
import { IsocellRequestError } from '../request';
import { kernel, MockServer, rejection, row, task } from './server';

describe('IsocellAPI', () => {
  let server: MockServer;
  let api: IsocellAPI;
  beforeEach(() => {
    server = new MockServer();
    api = new IsocellAPI(server.settings);
  });

  it('lists environments as typed rows', async () => {
    server.on('GET envs', {
      json: { environments: [row(), row({ name: 'b', size_bytes: null })] }
    });
    const environments = await api.listEnvironments();
    expect(environments.map(e => e.name)).toEqual(['analytics', 'b']);
    expect(environments[0].size_bytes).toBe(12_582_912);
    expect(environments[1].size_bytes).toBeNull();
  });

  it('names the field when a row has the wrong shape', async () => {
    server.on('GET envs', {
      json: { environments: [row({ packages: 'many' })] }
    });
    await expect(api.listEnvironments()).rejects.toThrow(
      /environments\[0\]\.packages/
    );
  });

  it("lists every notebook's child kernels", async () => {
    server.on('GET kernels', {
      json: {
        kernels: [kernel(), kernel({ name: null, notebook: null, pid: 7 })]
      }
    });
    const kernels = await api.listKernels();
    expect(kernels.map(k => [k.pid, k.name, k.notebook])).toEqual([
      [4242, 'analytics', '/home/me/work/analysis.ipynb'],
      [7, null, null]
    ]);
    expect(kernels[0].memory_bytes).toBe(73_400_320);
  });

  it('names the field of a kernel with the wrong shape', () => {
    expect(() => parseKernel(kernel({ pid: '4242' }), 'kernels[0]')).toThrow(
      /kernels\[0\]\.pid should be a number/
    );
    expect(() => parseKernel(kernel({ notebook: 3 }))).toThrow(
      /kernel\.notebook/
    );
  });

  it('rejects an unknown kind', () => {
    expect(() => parseEnvironment(row({ kind: 'conda' }))).toThrow(
      /"spec", "external", "cached" or "layer", got "conda"/
    );
  });

  it('creates a spec environment as a task and an external one as a row', async () => {
    server.on('POST envs', request => {
      const body = request.body as { external?: boolean };
      return body.external
        ? {
            status: 201,
            json: { environment: row({ kind: 'external', name: 'x' }) }
          }
        : { status: 202, json: { task: task() } };
    });
    const built = await api.createEnvironment({
      name: 'a',
      python: null,
      requirements: ['six']
    });
    expect('task' in built && built.task.state).toBe('running');
    const external = await api.createEnvironment({
      name: 'x',
      python: '/usr/bin/python3',
      requirements: [],
      external: true
    });
    expect('environment' in external && external.environment.kind).toBe(
      'external'
    );
    expect(server.requests[0].body).toEqual({
      name: 'a',
      python: null,
      requirements: ['six']
    });
  });

  it('escapes names in paths and asks tasks from a log line', async () => {
    server.on('GET tasks/t%201', {
      json: { task: task({ log: ['c'], log_offset: 2 }) }
    });
    server.on('DELETE envs/a%2Fb', { status: 204 });
    const polled = await api.getTask('t 1', 2);
    expect(polled.log_offset).toBe(2);
    expect(server.requests[0].path).toBe('tasks/t%201?since=2');
    await api.removeEnvironment('a/b');
  });

  it('reads an environment with its lock, and the interpreters', async () => {
    server.on('GET envs/analytics', {
      json: {
        environment: {
          ...row(),
          lock: ['six==1.16.0'],
          path: '/home/u/.isocell/envs/abc',
          builder: 'uv',
          built_at: '2025-01-02T03:04:05+00:00',
          exclude_newer: null,
          build_log: 'Resolved 1 package\n'
        }
      }
    });
    server.on('GET pythons', {
      json: {
        pythons: [
          { version: '3.9.19', path: '/py/3.9/bin/python', source: 'pyenv' }
        ]
      }
    });
    expect((await api.getEnvironment('analytics')).lock).toEqual([
      'six==1.16.0'
    ]);
    expect((await api.listPythons())[0].version).toBe('3.9.19');
  });

  it('returns the export result', async () => {
    server.on('POST export', {
      json: {
        dag_file: 'dags/nb.py',
        dag_id: 'nb',
        tasks: ['a'],
        files: ['dags/nb.py'],
        text: ''
      }
    });
    const result = await api.exportNotebook({ path: 'nb.ipynb', airflow: 3 });
    expect(result.dag_file).toBe('dags/nb.py');
  });

  it('turns a 400 export answer into an ExportError with cell and line', async () => {
    server.on('POST export', {
      status: 400,
      json: { message: 'cannot export: cell 1, line 2: bad', cell: 1, line: 2 }
    });
    const error = (await rejection(
      api.exportNotebook({ path: 'nb.ipynb' })
    )) as ExportError;
    expect(error).toBeInstanceOf(ExportError);
    expect(error).toBeInstanceOf(IsocellRequestError);
    expect([error.cell, error.line]).toEqual([1, 2]);
  });

  it('keeps other export failures as they are', async () => {
    server.on('POST export', {
      status: 404,
      json: { message: 'no notebook at x.ipynb' }
    });
    const error = await rejection(api.exportNotebook({ path: 'x.ipynb' }));
    expect(error).not.toBeInstanceOf(ExportError);
    expect(error.status).toBe(404);
  });

  it('lists the cached environments, reads one, removes it and prunes', async () => {
    const cached = row({ name: '', kind: 'cached', key: 'ab12cd34ef56ab78' });
    server.on('GET envs', { json: { environments: [row(), cached] } });
    server.on('GET cache/ab12cd34ef56ab78', {
      json: { environment: { ...cached, lock: [], path: '/e', build_log: '' } }
    });
    server.on('DELETE cache/ab12cd34ef56ab78', { status: 204 });
    server.on('POST cache/prune', request => ({
      json: {
        removed: [cached],
        freed_bytes: 2048,
        dry_run: Boolean((request.body as { dry_run?: boolean }).dry_run)
      }
    }));
    const all = await api.listEnvironments(true);
    expect(all.map(e => e.kind)).toEqual(['spec', 'cached']);
    expect(server.requests[0].path).toBe('envs?all=1');
    const detail = await api.getCached('ab12cd34ef56ab78');
    expect(detail.path).toBe('/e');
    expect(detail.builder).toBeNull();
    await api.removeCached('ab12cd34ef56ab78');
    const plan = await api.prune({ dry_run: true });
    expect(plan).toMatchObject({ freed_bytes: 2048, dry_run: true });
    expect(plan.removed[0].key).toBe('ab12cd34ef56ab78');
    server.on('GET envs', {
      json: { environments: [{ ...cached, kind: 'other' }] }
    });
    await expect(api.listEnvironments(true)).rejects.toThrow(
      'environments[0].kind'
    );
  });
});

describe('parseTask', () => {
  it('accepts a finished task with its environment', () => {
    const parsed = parseTask(
      task({ state: 'done', environment: row(), packages: 1 })
    );
    expect(parsed.environment?.name).toBe('analytics');
  });

  it('rejects an unknown state', () => {
    expect(() => parseTask(task({ state: 'paused' }))).toThrow(/task\.state/);
  });
});
