import { ITask, parseTask } from '../api';
import { IsocellRequestError } from '../request';
import { appendLog, ITaskProgress, watchTask } from '../tasks';
import { task } from './server';

/** A fetcher that plays a build: each poll returns the next state, with lines from `since`. */
function playBuild(states: Array<Partial<ITask>>, wholeLog: string[]) {
  const calls: number[] = [];
  let step = 0;
  const fetchTask = async (id: string, since: number): Promise<ITask> => {
    calls.push(since);
    const state = states[Math.min(step++, states.length - 1)];
    const visible = (state as { visible?: number }).visible ?? wholeLog.length;
    return parseTask(
      task({ ...state, log: wholeLog.slice(since, visible), log_offset: since })
    );
  };
  return { fetchTask, calls };
}

describe('watchTask', () => {
  it('polls until the task ends, asking only for new lines', async () => {
    const { fetchTask, calls } = playBuild(
      [
        { state: 'running', phase: 'resolving', visible: 1 } as Partial<ITask>,
        {
          state: 'running',
          phase: 'installing',
          packages: 3,
          visible: 3
        } as Partial<ITask>,
        { state: 'done', phase: 'done', packages: 3 }
      ],
      [
        'Resolved 3 packages',
        'Prepared 3 packages',
        'Installed 3 packages',
        'done'
      ]
    );
    const updates: ITaskProgress[] = [];
    const result = await watchTask(fetchTask, 't1', {
      interval: 1,
      onUpdate: progress => updates.push(progress)
    });
    expect(calls).toEqual([0, 1, 3]);
    expect(result.task.state).toBe('done');
    expect(result.log).toEqual([
      'Resolved 3 packages',
      'Prepared 3 packages',
      'Installed 3 packages',
      'done'
    ]);
    expect(updates.map(u => u.log.length)).toEqual([1, 3, 4]);
    expect(updates[1].task.phase).toBe('installing');
  });

  it('starts from the task its creation returned', async () => {
    const { fetchTask, calls } = playBuild([{ state: 'done' }], ['a', 'b']);
    const first = parseTask(task({ log: ['a'], log_offset: 0 }));
    const result = await watchTask(fetchTask, 't1', { interval: 1 }, first);
    expect(calls).toEqual([1]);
    expect(result.log).toEqual(['a', 'b']);
  });

  it('resolves with a failed task (the error is in the task)', async () => {
    const { fetchTask } = playBuild(
      [{ state: 'failed', error: 'no such package: sixx' }],
      []
    );
    const result = await watchTask(fetchTask, 't1', { interval: 1 });
    expect(result.task.state).toBe('failed');
    expect(result.task.error).toMatch(/sixx/);
  });

  it('rides out a few failed polls', async () => {
    let attempts = 0;
    const fetchTask = async (): Promise<ITask> => {
      attempts += 1;
      if (attempts < 3) {
        throw new IsocellRequestError('Cannot reach the Jupyter server', 0);
      }
      return parseTask(task({ state: 'done' }));
    };
    const result = await watchTask(fetchTask, 't1', {
      interval: 1,
      retries: 2
    });
    expect(result.task.state).toBe('done');
    expect(attempts).toBe(3);
  });

  it('gives up after too many failed polls', async () => {
    const fetchTask = async (): Promise<ITask> => {
      throw new IsocellRequestError('Cannot reach the Jupyter server', 0);
    };
    await expect(
      watchTask(fetchTask, 't1', { interval: 1, retries: 2 })
    ).rejects.toThrow(/Cannot reach/);
  });

  it('stops at once when the task is gone', async () => {
    let attempts = 0;
    const fetchTask = async (): Promise<ITask> => {
      attempts += 1;
      throw new IsocellRequestError('no task', 404);
    };
    await expect(watchTask(fetchTask, 't1', { interval: 1 })).rejects.toThrow(
      'no task'
    );
    expect(attempts).toBe(1);
  });

  it('can be stopped', async () => {
    const { fetchTask } = playBuild([{ state: 'running' }], []);
    const controller = new AbortController();
    const watching = watchTask(fetchTask, 't1', {
      interval: 5,
      signal: controller.signal,
      onUpdate: () => controller.abort()
    });
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('appendLog', () => {
  it('skips lines it already holds', () => {
    const log = ['a', 'b'];
    appendLog(log, parseTask(task({ log: ['b', 'c'], log_offset: 1 })));
    expect(log).toEqual(['a', 'b', 'c']);
  });
});
