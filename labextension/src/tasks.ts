/**
 * Following a build task to its end by polling `GET /isocell/tasks/{id}?since=N`.
 *
 * Each answer carries only the log lines from `since` on; the watcher asks for the lines
 * after the ones it has, joins them into the whole log and reports every step, so a
 * widget can show the build's live log and progress.
 */
import { ITask } from './api';
import { IsocellRequestError } from './request';

/** The whole log so far and the latest state of a task. */
export interface ITaskProgress {
  task: ITask;
  log: string[];
}

/** Fetch a task with its log lines from `since` on (`IsocellAPI.getTask`). */
export type TaskFetcher = (id: string, since: number) => Promise<ITask>;

export interface IWatchOptions {
  /** Milliseconds between two polls; 500 by default. */
  interval?: number;
  /**
   * How many failed polls in a row are tolerated (a busy or restarting server) before
   * giving up; 5 by default. A `404` (the task is gone) ends at once.
   */
  retries?: number;
  /** Called after every poll with the whole log so far. */
  onUpdate?: (progress: ITaskProgress) => void;
  /** Stops the watch; the returned promise then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * Poll a task until it is done or failed.
 *
 * @param fetchTask - how to ask for the task
 * @param id - the task's id
 * @param first - the task as its start returned it (its log is kept), if known
 * @returns the final task with the whole log; a failed build resolves too
 *   (`task.state === 'failed'`, `task.error` says why)
 * @throws {IsocellRequestError} when polling keeps failing or the task is not found
 */
export async function watchTask(
  fetchTask: TaskFetcher,
  id: string,
  options: IWatchOptions = {},
  first?: ITask
): Promise<ITaskProgress> {
  const { interval = 500, retries = 5, onUpdate, signal } = options;
  const log: string[] = [];
  let task = first;
  let failures = 0;
  if (task) {
    appendLog(log, task);
    onUpdate?.({ task, log: [...log] });
  }
  while (!task || task.state === 'running') {
    if (task) {
      await sleep(interval, signal);
    }
    try {
      task = await fetchTask(id, log.length);
      failures = 0;
    } catch (error) {
      const gone = error instanceof IsocellRequestError && error.status === 404;
      if (gone || ++failures > retries) {
        throw error;
      }
      await sleep(interval, signal);
      continue;
    }
    appendLog(log, task);
    onUpdate?.({ task, log: [...log] });
  }
  return { task, log };
}

/**
 * Add a task's new lines to the whole log.
 *
 * `task.log` starts at line `task.log_offset`: lines already held are skipped, so a
 * repeated answer cannot duplicate lines.
 */
export function appendLog(log: string[], task: ITask): void {
  const skip = Math.max(0, log.length - task.log_offset);
  log.push(...task.log.slice(skip));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const error = new Error('The watch of the task was stopped');
  error.name = 'AbortError';
  return error;
}
