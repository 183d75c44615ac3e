import { IsocellAPI } from '../api';
import { EnvironmentsModel } from '../model';
import { kernel, MockServer, row, task } from './server';

/** Wait until `check` holds (the model follows builds in the background). */
async function until(check: () => boolean, timeout = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeout) {
      throw new Error('timed out');
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

describe('EnvironmentsModel', () => {
  let server: MockServer;
  let model: EnvironmentsModel;
  beforeEach(() => {
    server = new MockServer();
    model = new EnvironmentsModel(new IsocellAPI(server.settings), 1);
  });
  afterEach(() => model.dispose());

  it('follows a build to its end and then lists the new environment', async () => {
    const log = [
      'Using CPython 3.11',
      'Resolved 1 package',
      'Installed 1 package'
    ];
    let polls = 0;
    let built = false;
    server.on('GET envs', () => ({
      json: { environments: built ? [row()] : [] }
    }));
    server.on('POST envs', { status: 202, json: { task: task() } });
    server.on('GET tasks/t1', request => {
      const since = Number(request.path.split('since=')[1]);
      polls += 1;
      built = polls >= 3;
      const visible = Math.min(polls, log.length);
      return {
        json: {
          task: task({
            state: built ? 'done' : 'running',
            phase: built ? 'done' : 'installing',
            log: log.slice(since, visible),
            log_offset: since,
            environment: built ? row() : null
          })
        }
      };
    });
    let changes = 0;
    model.changed.connect(() => (changes += 1));

    await model.create({
      name: 'analytics',
      python: null,
      requirements: ['six==1.16.0']
    });
    await until(() => model.environments.length === 1);

    expect(model.builds[0].task.state).toBe('done');
    expect(model.builds[0].log).toEqual(log);
    expect(changes).toBeGreaterThan(3);
    model.dismiss('t1');
    expect(model.builds).toHaveLength(0);
  });

  it('reads the running kernels with the environments', async () => {
    server.on('GET envs', { json: { environments: [row()] } });
    server.on('GET kernels', { json: { kernels: [kernel()] } });
    await model.refresh();
    expect(model.kernels.map(k => k.pid)).toEqual([4242]);
    server.on('GET kernels', { json: { kernels: [] } });
    await model.refresh();
    expect(model.kernels).toEqual([]);
    expect(model.error).toBeNull();
  });

  it('keeps a refresh failure as its error', async () => {
    server.on('GET envs', {
      status: 500,
      json: { message: 'registry unreadable' }
    });
    await model.refresh();
    expect(model.error).toBe('registry unreadable');
    expect(model.loading).toBe(false);
  });

  it('lets a refused creation reach the form', async () => {
    server.on('POST envs', {
      status: 409,
      json: { message: 'exists already' }
    });
    await expect(
      model.create({ name: 'a', python: null, requirements: [] })
    ).rejects.toThrow('exists already');
  });

  it('registers an external interpreter without a build', async () => {
    server.on('POST envs', {
      status: 201,
      json: { environment: row({ kind: 'external' }) }
    });
    server.on('GET envs', {
      json: { environments: [row({ kind: 'external' })] }
    });
    await model.create({
      name: 'analytics',
      python: '/usr/bin/python3',
      requirements: [],
      external: true
    });
    expect(model.builds).toHaveLength(0);
    expect(model.environments[0].kind).toBe('external');
  });

  it('keeps the log when following a build fails', async () => {
    server.on('POST envs', {
      status: 202,
      json: { task: task({ log: ['start'] }) }
    });
    server.on('GET tasks/t1', { status: 404, json: { message: 'no task t1' } });
    await model.create({ name: 'analytics', python: null, requirements: [] });
    await until(() => model.builds[0]?.error !== null);
    expect(model.builds[0].error).toBe('no task t1');
    expect(model.builds[0].log).toEqual(['start']);
  });

  it('follows the builds already running on the server', async () => {
    server.on('GET tasks', {
      json: {
        tasks: [
          task({ id: 'old', state: 'done', log_offset: 9 }),
          task({ id: 't1', log_offset: 2 })
        ]
      }
    });
    server.on('GET tasks/t1', request => ({
      json: {
        task: task({
          state: 'done',
          log: ['a', 'b'].slice(Number(request.path.split('since=')[1])),
          log_offset: Number(request.path.split('since=')[1])
        })
      }
    }));
    server.on('GET envs', { json: { environments: [row()] } });
    await model.resume();
    await until(() => model.builds[0]?.task.state === 'done');
    expect(model.builds.map(build => build.task.id)).toEqual(['t1']);
    expect(model.builds[0].log).toEqual(['a', 'b']);
  });

  it('ignores a server without the task list', async () => {
    await model.resume();
    expect(model.builds).toHaveLength(0);
  });

  it('follows the build a running isolated cell starts, and shows a failed one once', async () => {
    let listed: Record<string, unknown>[] = [
      task({ id: 'old', kind: 'cell', state: 'failed' })
    ];
    server.on('GET tasks', () => ({ json: { tasks: listed } }));
    server.on('GET envs', { json: { environments: [] } });
    server.on('GET kernels', { json: { kernels: [] } });
    server.on('GET tasks/cell-1', {
      json: {
        task: task({
          id: 'cell-1',
          kind: 'cell',
          state: 'done',
          notebook: 'a/nb.ipynb',
          log: ['Resolved 1 package']
        })
      }
    });
    server.on('GET tasks/cell-2', {
      json: {
        task: task({
          id: 'cell-2',
          kind: 'cell',
          state: 'failed',
          error: 'no six==0'
        })
      }
    });
    await model.resume(); // a failure from before this page looked is not shown
    expect(model.builds).toHaveLength(0);

    model.cellStarted();
    listed = [
      ...listed,
      task({ id: 'cell-1', kind: 'cell', notebook: 'a/nb.ipynb' })
    ];
    await until(() => model.builds[0]?.task.state === 'done');
    expect(model.builds[0].task.notebook).toBe('a/nb.ipynb');
    expect(model.builds[0].log).toEqual(['Resolved 1 package']);

    listed = [
      ...listed,
      task({ id: 'cell-2', kind: 'cell', state: 'failed', error: 'no six==0' })
    ];
    model.cellEnded();
    await until(() => model.builds.length === 2);
    expect(model.builds[0].task.error).toBe('no six==0');
    model.dismiss('cell-2');
    await model.resume();
    expect(model.builds.map(build => build.task.id)).toEqual(['cell-1']);
  });

  it('stops and restarts a child kernel, then reads the kernels again', async () => {
    const calls: string[] = [];
    let kernels = [kernel({ pid: 5 })];
    server.on('GET envs', { json: { environments: [] } });
    server.on('GET kernels', () => ({ json: { kernels } }));
    server.on('POST kernels/5/restart', () => {
      calls.push('restart');
      kernels = [kernel({ pid: 6 })];
      return { json: { state: 'restarted', kernel: kernels[0] } };
    });
    server.on('POST kernels/6/restart', {
      status: 202,
      json: { state: 'queued' }
    });
    server.on('DELETE kernels/6', () => {
      calls.push('stop');
      kernels = [];
      return { status: 204 };
    });
    await model.refresh();
    expect(await model.restartKernel(5)).toBe('restarted');
    expect(model.kernels.map(k => k.pid)).toEqual([6]);
    expect(await model.restartKernel(6)).toBe('queued');
    await model.stopKernel(6);
    expect(calls).toEqual(['restart', 'stop']);
    expect(model.kernels).toHaveLength(0);
  });

  it('keeps the named environments apart from the cached ones', async () => {
    server.on('GET envs', {
      json: {
        environments: [
          row(),
          row({ name: '', kind: 'cached', key: 'k1' }),
          row({ name: '', kind: 'layer', key: 'k2' })
        ]
      }
    });
    await model.refresh();
    expect(model.environments.map(e => e.name)).toEqual(['analytics']);
    expect(model.cached.map(e => e.kind)).toEqual(['cached', 'layer']);
  });
});
