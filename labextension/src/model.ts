/**
 * The state behind the environments sidebar: the environments, the interpreters the
 * server found, and the builds started from this page with their live logs.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  ICreateRequest,
  IEnvironment,
  IKernel,
  IPruneResult,
  IPython,
  IsocellAPI,
  ITask
} from './api';
import { watchTask } from './tasks';
import { IFormDefaults, NO_DEFAULTS } from './settings';

/** A build started from the sidebar, with its whole log so far. */
export interface IBuild {
  task: ITask;
  log: string[];
  /** Why following the build stopped, when the server could not be asked any more. */
  error: string | null;
}

export class EnvironmentsModel {
  constructor(
    readonly api: IsocellAPI = new IsocellAPI(),
    /** Milliseconds between two polls of a build. */
    readonly pollInterval = 500
  ) {}

  /** The create form's starting values (the extension's settings). */
  get defaults(): IFormDefaults {
    return this._defaults;
  }

  set defaults(value: IFormDefaults) {
    this._defaults = value;
    this._changed.emit();
  }

  /** Seconds between two reads of the list while the sidebar shows; 0: only on demand. */
  refreshSeconds = 0;

  /** Emitted whenever anything below changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The named environments (built ones and registered interpreters). */
  get environments(): ReadonlyArray<IEnvironment> {
    return this._environments;
  }

  /** The environments cells built for themselves, and the kernel layers. */
  get cached(): ReadonlyArray<IEnvironment> {
    return this._cached;
  }

  /** The child kernels of every notebook on the server's machine. */
  get kernels(): ReadonlyArray<IKernel> {
    return this._kernels;
  }

  get pythons(): ReadonlyArray<IPython> {
    return this._pythons;
  }

  /** Builds started from this page, newest first, until dismissed. */
  get builds(): ReadonlyArray<IBuild> {
    return this._builds;
  }

  /** Why the last refresh failed, or `null`. */
  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  /**
   * Read the environments and the running kernels again. Failures are kept in `error`,
   * not thrown.
   */
  async refresh(): Promise<void> {
    this._loading = true;
    this._changed.emit();
    try {
      const [environments, kernels] = await Promise.all([
        this.api.listEnvironments(true),
        this.api.listKernels()
      ]);
      const named = (e: IEnvironment) =>
        e.kind === 'spec' || e.kind === 'external';
      this._environments = environments.filter(named);
      this._cached = environments.filter(e => !named(e));
      this._kernels = kernels;
      this._error = null;
    } catch (error) {
      this._error = messageOf(error);
    } finally {
      this._loading = false;
      this._changed.emit();
    }
  }

  /** Read the interpreters the server can build with (once is enough). */
  async loadPythons(): Promise<void> {
    try {
      this._pythons = await this.api.listPythons();
    } catch (error) {
      this._error = messageOf(error);
    }
    this._changed.emit();
  }

  /**
   * Create an environment: register an external interpreter at once, or start a build
   * and follow it (the build's progress shows in `builds`).
   *
   * @returns once the server accepted the request; the build goes on after that
   * @throws {IsocellRequestError} when the server refuses the request (bad name, taken...)
   */
  async create(request: ICreateRequest): Promise<void> {
    const result = await this.api.createEnvironment(request);
    if ('environment' in result) {
      await this.refresh();
      return;
    }
    this._follow(result.task);
  }

  /**
   * Follow the builds that run on the server but are not followed here yet: those started
   * before this page loaded, or from another page or the command line's server.
   * A server without the task list is ignored.
   */
  async resume(): Promise<void> {
    let tasks: ITask[];
    try {
      tasks = await this.api.listTasks();
    } catch {
      return;
    }
    for (const task of tasks) {
      const followed = this._builds.some(build => build.task.id === task.id);
      const seen = this._seen.has(task.id);
      this._seen.add(task.id);
      // A cell's build that failed since the last look shows once, with its cause.
      const failedLately =
        this._looked &&
        !seen &&
        task.kind === 'cell' &&
        task.state === 'failed';
      if (!followed && (task.state === 'running' || failedLately)) {
        this._follow(task);
      }
    }
    this._looked = true;
  }

  /**
   * An isolated cell started running in some notebook: until it ends, look for the build
   * it may start (`resume`) every other poll interval.
   */
  cellStarted(): void {
    this._cellsRunning += 1;
    if (this._cellsRunning === 1) {
      this._lookForCellBuilds();
    }
  }

  /** An isolated cell ended: one last look catches a build that ended with it. */
  cellEnded(): void {
    this._cellsRunning = Math.max(0, this._cellsRunning - 1);
    void this.resume();
  }

  private _lookForCellBuilds(): void {
    window.clearTimeout(this._cellTimer);
    if (this._cellsRunning === 0 || this._watches.signal.aborted) {
      return;
    }
    void this.resume().then(() => {
      this._cellTimer = window.setTimeout(
        () => this._lookForCellBuilds(),
        this.pollInterval * 2
      );
    });
  }

  /** Rebuild a spec environment and follow the build. */
  async rebuild(name: string): Promise<void> {
    this._follow(await this.api.rebuildEnvironment(name));
  }

  /** Remove an environment (the caller asks for confirmation first). */
  async remove(name: string): Promise<void> {
    await this.api.removeEnvironment(name);
    await this.refresh();
  }

  /** Delete a cell's cached environment. */
  async removeCached(key: string): Promise<void> {
    try {
      await this.api.removeCached(key);
    } finally {
      await this.refresh();
    }
  }

  /** Remove the cached environments no kernel runs in (`dryRun`: only say which). */
  async prune(dryRun: boolean): Promise<IPruneResult> {
    const result = await this.api.prune({ dry_run: dryRun });
    if (!dryRun) {
      await this.refresh();
    }
    return result;
  }

  /** Stop a child kernel (the caller asks for confirmation first, if at all). */
  async stopKernel(pid: number): Promise<void> {
    try {
      await this.api.stopKernel(pid);
    } finally {
      await this.refresh();
    }
  }

  /** Restart a child kernel: `queued` when its notebook is busy. */
  async restartKernel(pid: number): Promise<'restarted' | 'queued'> {
    try {
      return await this.api.restartKernel(pid);
    } finally {
      await this.refresh();
    }
  }

  /** Forget a finished build. */
  dismiss(taskId: string): void {
    this._builds = this._builds.filter(build => build.task.id !== taskId);
    this._changed.emit();
  }

  /** Stop following every build (the builds go on on the server). */
  dispose(): void {
    this._watches.abort();
    window.clearTimeout(this._cellTimer);
    Signal.clearData(this);
  }

  private _follow(task: ITask): void {
    this._setBuild({ task, log: [], error: null });
    void watchTask(
      (id, since) => this.api.getTask(id, since),
      task.id,
      {
        interval: this.pollInterval,
        signal: this._watches.signal,
        onUpdate: progress => this._setBuild({ ...progress, error: null })
      },
      task
    ).then(
      () => this.refresh(),
      error => {
        if (!(error instanceof Error && error.name === 'AbortError')) {
          const build = this._builds.find(item => item.task.id === task.id);
          this._setBuild({
            task,
            log: build?.log ?? [],
            error: messageOf(error)
          });
        }
      }
    );
  }

  private _setBuild(build: IBuild): void {
    const known = this._builds.some(item => item.task.id === build.task.id);
    this._builds = known
      ? this._builds.map(item =>
          item.task.id === build.task.id ? build : item
        )
      : [build, ...this._builds];
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _defaults: IFormDefaults = NO_DEFAULTS;
  private _environments: IEnvironment[] = [];
  private _cached: IEnvironment[] = [];
  private _kernels: IKernel[] = [];
  private _pythons: IPython[] = [];
  private _builds: IBuild[] = [];
  private _error: string | null = null;
  private _loading = false;
  private _watches = new AbortController();
  /** Tasks listed so far, and whether the list was read once. */
  private _seen = new Set<string>();
  private _looked = false;
  private _cellsRunning = 0;
  private _cellTimer = 0;
}

/** The message of an error of any kind. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
