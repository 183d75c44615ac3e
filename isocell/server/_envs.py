"""Named environments over HTTP: list, create or register, show, remove, rebuild; interpreters.

The routes are thin: they check the request, then call :func:`isocell.envs.catalog` and its
siblings, as ``isocell env`` does. Everything that could be wrong with a new environment (its
name, its requirements, its interpreter, a name already taken) is refused before a build starts.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from isocell import envs
from isocell.envs import (
    EnvRequest,
    EnvStore,
    Registry,
    find_interpreters,
    parse_requirements,
    spec_for,
)
from isocell.errors import RequirementError
from isocell.kernel import running_kernels
from isocell.options import BUILD_OPTIONS, environment_request
from isocell.server._base import ApiError, Body, IsocellHandler
from isocell.server._tasks import Task, TaskBoard

__all__ = ["EnvHandler", "EnvsHandler", "PythonsHandler", "RebuildHandler"]


class _EnvRoute(IsocellHandler):
    """What the environment routes share: the store, the task board, conflict checks."""

    @property
    def board(self) -> TaskBoard:
        board: TaskBoard = self.settings["isocell_tasks"]
        return board

    def store(self) -> EnvStore:
        # Read per request: ISOCELL_HOME is the server process's, and tests change it.
        return EnvStore()

    def refuse_if_busy(self, name: str) -> None:
        """A 409 while a build of ``name`` runs."""
        task = self.board.running(name)
        if task is not None:
            raise ApiError(
                409,
                f"environment {name!r} is being built (task {task.id}); wait for it to finish",
                task=task.id,
            )

    def accepted(self, task: Task) -> None:
        """Answer 202 with the task and where to poll it."""
        base = self.settings.get("base_url", "/")
        self.set_header("Location", url_path_join(base, "isocell", "tasks", task.id))
        self.reply({"task": task.to_json()}, 202)


def _refuse_if_kernel_runs(store: EnvStore, name: str, doing: str) -> None:
    # Deleting the files under a live kernel would break it at its next import.
    if envs.interpreter_of(store, Registry(store.home).get(name)) in running_kernels():
        raise ApiError(
            409,
            f"a kernel is running in environment {name!r}: stop it first (`%isocell stop` in "
            f"the notebook that uses it, or shut that notebook's kernel down), then {doing} it",
            kernel_running=True,
        )


# The rows of the routes, made in a worker thread (``IsocellHandler.call``): each scans
# ``/proc`` for the kernels running now, one small read per process.
def _listing(store: EnvStore, everything: bool) -> list[dict[str, Any]]:
    return envs.catalog(
        store, Registry(store.home), running=running_kernels(), everything=everything
    )


def _registered(store: EnvStore, name: str, python: str) -> dict[str, Any]:
    return envs.register_external(name, python, store=store, running=running_kernels())


def _described(store: EnvStore, entry: envs.NamedEnvironment) -> dict[str, Any]:
    row = envs.describe(store, entry, running_kernels())
    row["build_log"] = envs.build_log(row["path"]) if entry.spec is not None else ""
    return row


class EnvsHandler(_EnvRoute):
    """``GET /isocell/envs`` (the named environments; ``?all=1``: and the unnamed ones cells
    built, ``kind`` ``"cached"``); ``POST`` creates or registers one."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        everything = self.get_query_argument("all", "0")
        if everything not in ("0", "1"):
            raise ApiError(400, f"'all' must be 0 or 1, not {everything!r}")
        store = self.store()
        rows = await self.call(_listing, store, everything == "1")
        self.reply({"environments": rows})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body()
        body.expect(*_FIELDS)
        name = self.checked_name(body.text("name", required=True) or "")
        if body.flag("external"):
            await self._register(name, body)
        else:
            await self._create(name, body)

    async def _register(self, name: str, body: Body) -> None:
        python = body.text("python")
        if not python:
            raise ApiError(
                400, "an external environment needs 'python': an interpreter's path or version"
            )
        if body.texts("requirements"):
            raise ApiError(
                400,
                "an external interpreter is used as it is: install requirements into it "
                "yourself, or create an environment without 'external' to have them built",
            )
        building = [key for key in _BUILD_FIELDS if body.data.get(key) not in (None, False)]
        if building:
            raise ApiError(
                400,
                f"an external interpreter is used as it is: {', '.join(map(repr, building))} "
                "only apply to an environment isocell builds; leave them out, or leave out "
                "'external'",
            )
        store = self.store()
        await self._refuse_if_taken(store, name)
        row = await self.call(_registered, store, name, python)
        self.reply({"environment": row}, 201)

    async def _create(self, name: str, body: Body) -> None:
        request = _request(body)
        try:
            parse_requirements(request.requirements)
        except RequirementError as error:
            raise ApiError.of(error) from None
        store = self.store()
        await self._refuse_if_taken(store, name)
        self.refuse_if_busy(name)
        spec = await self.call(spec_for, request)

        def work(progress: Any) -> dict[str, Any]:
            return envs.create_named(name, spec, progress, store=store, running=running_kernels())

        self.accepted(self.board.start("build", name, work))

    async def _refuse_if_taken(self, store: EnvStore, name: str) -> None:
        await self.call(Registry(store.home).refuse_taken, name)


# The fields of POST /isocell/envs, from the options table: a name, whether the interpreter is
# used as it is, and the build options a body can carry; those that only a build uses.
_OPTIONS = tuple(option for option in BUILD_OPTIONS if option.field)
_BUILD_FIELDS = tuple(
    str(option.field) for option in _OPTIONS if option.dest not in ("python", "requirements")
)
_FIELDS = ("name", "python", "requirements", "external", *_BUILD_FIELDS)


def _request(body: Body) -> EnvRequest:
    """The environment a body asks for: each build option's field read with the JSON type its
    shape gives (a flag: true or false; several values: a list of strings; else a string)."""
    values: dict[str, Any] = {}
    for option in _OPTIONS:
        field = str(option.field)
        if option.flag:
            values[option.dest] = body.flag(field)
            continue
        if option.many:
            values[option.dest] = tuple(body.texts(field))
            continue
        value = body.text(field) or None
        if value is not None and option.choices and value not in option.choices:
            raise ApiError(
                400, f"{field!r} must be one of {', '.join(option.choices)}, not {value!r}"
            )
        values[option.dest] = value
    # The URL reaches the builder as an option's value: refused here as on the command line.
    for url in (values["index_url"], *values["extra_index_urls"]):
        if url is not None and (url.strip().startswith("-") or not url.strip()):
            raise ApiError(400, f"{url!r} is not a package index URL")
    return environment_request(values)


class EnvHandler(_EnvRoute):
    """``GET /isocell/envs/{name}`` (with its lock and ``build_log``, the last
    megabyte of it: :func:`~isocell.envs.build_log`); ``DELETE`` unregisters and deletes it."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.checked_name(name)
        store = self.store()
        entry = await self.call(Registry(store.home).get, name)
        row = await self.call(_described, store, entry)
        self.reply({"environment": row})

    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        self.checked_name(name)
        self.refuse_if_busy(name)
        store = self.store()
        await self.call(_refuse_if_kernel_runs, store, name, "remove")
        await self.call(partial(envs.remove, name, store=store))
        self.set_status(204)
        self.finish()


class RebuildHandler(_EnvRoute):
    """``POST /isocell/envs/{name}/rebuild``: delete the built environment and build it again."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        self.checked_name(name)
        await self.body()  # none is needed, but one that is sent must be a JSON object
        self.refuse_if_busy(name)
        store = self.store()
        entry = await self.call(Registry(store.home).get, name)
        if entry.spec is None:
            raise ApiError(
                400,
                f"{name!r} is the interpreter {entry.python}, used as it is: isocell did not "
                "build it and cannot rebuild it",
                error="RegistryError",
            )
        await self.call(_refuse_if_kernel_runs, store, name, "rebuild")

        def work(progress: Any) -> dict[str, Any]:
            return envs.rebuild(name, progress, store=store, running=running_kernels())

        self.accepted(self.board.start("rebuild", name, work))


class PythonsHandler(IsocellHandler):
    """``GET /isocell/pythons``: the interpreters discovery finds, newest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        found = await self.call(find_interpreters)
        pythons = [
            {
                "version": i.version_str,
                "path": i.path,
                "source": i.source,
                "implementation": i.implementation,
            }
            for i in found
        ]
        self.reply({"pythons": pythons})
