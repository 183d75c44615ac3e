"""The child's side of a cell: load the inputs into its namespace, dump the outputs.

The notebook calls these through ``user_expressions`` of its execute requests (Jupyter
messaging protocol), so each returns a short JSON string. It runs in the child (any
CPython >= 3.6; a Python 2.7 child runs :mod:`python2` instead) as ``__isocell__.agent``.
"""

import errno
import json
import os
import sys
import types

from . import exchange, iteration, kept, payload_file, rebinding, settings, variables, views

_state: dict = {"host": "", "digests": {}, "tracked": None}
_BEFORE = rebinding.Before()


def _namespace():  # type: ignore[no-untyped-def]
    from IPython import get_ipython

    return get_ipython().user_ns


def _cloudpickle():  # type: ignore[no-untyped-def]
    if _state["host"] != "{}.{}".format(*sys.version_info[:2]):
        return None
    try:
        import cloudpickle
    except ImportError:
        return None
    return cloudpickle


def setup(host_minor):  # type: ignore[no-untyped-def]
    """Called once when the child starts; returns facts the notebook needs.

    ``inline`` says whether the cell's own execute request can carry its inputs (see
    :func:`_load_first`): ipykernel >= 6 tells which request a cell belongs to.
    """
    _state["host"] = host_minor
    _offer_isocell()
    _end_group_with_parent()
    from IPython import get_ipython

    shell = get_ipython()
    # IPython's usage errors (`%nosuchmagic`) are the notebook's to show: it raises the one of
    # the cell, and without this the child would print it first, so it showed twice.
    shell.show_usage_error = lambda error: None
    inline = hasattr(getattr(shell, "kernel", None), "get_parent")
    if inline and _load_first not in shell.input_transformers_post:
        shell.input_transformers_post.append(_load_first)
    if _before_cell not in shell.events.callbacks.get("pre_run_cell", []):
        shell.events.register("pre_run_cell", _before_cell)
    return json.dumps(
        {
            "python": "{}.{}.{}".format(*sys.version_info[:3]),
            "executable": sys.executable,
            "cloudpickle": _cloudpickle() is not None,
            "pid": os.getpid(),
            "inline": inline,
        }
    )


def _end_group_with_parent():  # type: ignore[no-untyped-def]
    """When the notebook kernel dies, end this child's whole process group, the processes the
    cells started included (ipykernel itself only exits, and they would run on).

    The child leads its own session (jupyter_client starts kernels with ``start_new_session``);
    a child that does not lead its group kills nobody. A daemon thread checks the parent once a
    second.
    """
    if not hasattr(os, "killpg") or os.getpgid(0) != os.getpid():
        return
    import threading
    import time

    parent = os.getppid()

    def watch():  # type: ignore[no-untyped-def]
        while os.getppid() == parent:
            time.sleep(1.0)
        os.killpg(0, 9)

    threading.Thread(target=watch, name="isocell-parent-watch", daemon=True).start()


def _offer_isocell():  # type: ignore[no-untyped-def]
    """``from isocell import Variable, Connection`` in a child whose environment has no
    isocell: a module of that name with just those (and nothing if isocell is installed)."""
    import importlib.util

    if importlib.util.find_spec("isocell") is None:
        module = types.ModuleType("isocell")
        module.__doc__ = "Airflow's Variables and Connections in an isolated cell."
        for name in ("Variable", "Connection", "VariableNotFound", "ConnectionNotFound"):
            setattr(module, name, getattr(variables, name))
        sys.modules["isocell"] = module


# No space on the device, no memory to map the file, over a quota or a file size limit.
_NO_ROOM = (errno.ENOSPC, errno.ENOMEM, errno.EDQUOT, errno.EFBIG)


def _remove(path):  # type: ignore[no-untyped-def]
    try:
        os.unlink(path)
    except OSError:
        pass


def _no_room(error):  # type: ignore[no-untyped-def]
    return (
        f"there is no room for it, in memory or on disk ({error.strerror or error}). Free "
        "space there, set ISOCELL_SCRATCH_DIR (memory) or TMPDIR (disk) to a larger "
        "folder, or return less (--out)"
    )


def _no_room_to_load(error):  # type: ignore[no-untyped-def]
    return (
        f"the child kernel has no memory to map it ({error.strerror or error}): its address "
        "space is limited (ulimit -v, RLIMIT_AS) or the machine's memory is used up. Send "
        "less (--in), free memory in the child (del), or raise its limit"
    )


class TransferFailed(Exception):
    """An input could not be loaded before the cell ran; the argument is the JSON summary."""


class LoadInterrupted(KeyboardInterrupt):
    """The interrupt arrived while the inputs were being loaded: the cell did not run."""


def load_or_raise(path, candidates, secrets=(), changes=None):  # type: ignore[no-untyped-def]
    """:func:`load`, raising :class:`TransferFailed` instead of returning errors.

    The payload file is removed once loaded (what was mapped stays mapped): a long cell keeps
    no second name for its inputs in ``/dev/shm``, and none is left if the notebook dies.
    """
    try:
        summary = load(path, candidates, secrets, changes)
    except KeyboardInterrupt:
        raise LoadInterrupted() from None
    finally:
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
    if json.loads(summary).get("errors"):
        raise TransferFailed(summary)


def _before_cell(*_):  # type: ignore[no-untyped-def]
    """IPython ``pre_run_cell`` callback: what the names the cell binds refer to before it
    runs, so that after a failure :func:`dump` returns only the names the cell rebound before
    its error (as a local cell leaves them bound). The notebook names them in its request's
    metadata (``isocell_binds``); without that (ipykernel < 6), every name."""
    names = None
    try:
        from IPython import get_ipython

        parent = get_ipython().kernel.get_parent("shell")
        names = (parent or {}).get("metadata", {}).get("isocell_binds")
    except Exception:  # not in a kernel request, or an ipykernel that cannot tell
        pass
    _state["tracked"] = names
    _keep_before()


def _keep_before(with_settings=True):  # type: ignore[no-untyped-def]
    """What the tracked names refer to now, and (``with_settings``) the libraries'
    settings."""
    if with_settings:
        settings.apply_pending()  # a library imported since its settings came
        _state["settings"] = settings.current()
    _BEFORE.keep(_namespace(), _state["tracked"])


def follow(changes):  # type: ignore[no-untyped-def]
    """Follow the notebook before a cell (``isocell.runner._state``): its working folder
    (``cwd``), environment variables (``set``, ``unset``), its libraries' settings
    (``settings``: :mod:`settings`) and the names it no longer has (``forget``)."""
    settings.apply(changes.get("settings"))
    if changes.get("cwd"):
        try:
            os.chdir(changes["cwd"])
        except OSError:
            pass  # a folder this child cannot enter: it stays where it is
    os.environ.update(changes.get("set", {}))
    for name in changes.get("unset", []):
        os.environ.pop(name, None)
    namespace = _namespace()
    for name in changes.get("forget", []):
        namespace.pop(name, None)


def _load_first(lines):  # type: ignore[no-untyped-def]
    """IPython input transformer: load the cell's inputs as the first thing the cell does.

    The notebook names the payload in its execute request's metadata (``isocell_load``), so
    one request both loads and runs instead of two (about 3 ms a cell here). The call takes the
    place of line 1, the ``# %%isolated ...`` header comment, so line numbers stay the
    notebook's; tracebacks show the raw cell, which IPython keeps apart. A request without
    the metadata, or a cell without the header, is left alone.
    """
    from IPython import get_ipython

    try:
        parent = get_ipython().kernel.get_parent("shell")
    except Exception:  # not in a kernel request: nothing to do
        return lines
    task = (parent or {}).get("metadata", {}).get("isocell_load")
    if not task or not lines or not lines[0].startswith("# "):
        return lines
    call = "__import__('__isocell__').agent.load_or_raise({!r}, {!r}, {!r}, {!r})".format(
        task.get("path", ""),
        list(task.get("candidates", [])),
        list(task.get("secrets", [])),
        dict(task.get("follow", {})),
    )
    return [call + "  " + lines[0], *lines[1:]]


def load(path, candidates, secrets=(), changes=None):  # type: ignore[no-untyped-def]
    """Decode the inputs in ``path`` (if any) into the namespace, all or nothing.

    ``candidates`` are inputs the cell may change in place: their fingerprints are taken now,
    to be compared by :func:`dump`. ``secrets`` are the Variable and Connection secrets the
    notebook has read: an input may hold one, and the child's output hides them too.
    ``changes`` are the notebook's process state to follow first (:func:`follow`).
    """
    variables.remember_secrets(secrets)
    follow(changes or {})
    namespace = _namespace()
    if path:
        try:
            exchange.Unpacked(path).apply(namespace)
        except exchange.CrossError as error:
            return json.dumps({"errors": {error.name: [error.type_name, error.reason]}})
        except OSError as error:
            if error.errno not in _NO_ROOM:
                raise
            what = ", ".join(payload_file.names(path)) or "the inputs"
            return json.dumps({"errors": {what: ["payload", _no_room_to_load(error)]}})
    digests = _state["digests"]
    digests.clear()
    for name in candidates:
        # a value kept here (a figure) is never fingerprinted: it stays here changed or not
        if name in namespace and not kept.keeps(namespace[name]):
            digests[name] = exchange.fingerprint(namespace[name])
    # the inputs are the values the cell starts from, and the settings it followed
    _keep_before(with_settings=bool((changes or {}).get("settings")))
    return json.dumps({"loaded": True})


def dump(path, names, candidates, deletes, fallback="", star_modules=(), failed=False):  # type: ignore[no-untyped-def]
    """Encode the cell's outputs into ``path``; returns a JSON summary.

    ``names`` are bound by the cell; ``candidates`` are inputs it may have changed in place,
    sent back only if their fingerprint changed; ``deletes`` are names it may have deleted.
    When ``path``'s file system (a small ``/dev/shm``) or this process's memory has no room,
    the payload goes to ``fallback`` (on disk); the summary's ``path`` says which. A value that
    cannot be encoded (a generator, a thread, a lock, a connection) stays here, as a local
    cell's would stay in its kernel: the summary's ``held`` names it, with its type and why.
    After a cell that ``failed``, only the names it rebound before its error are written.
    """
    namespace = _namespace()
    # modules too: the notebook imports them by name where it can
    names = list(names) + _star_bound(star_modules, namespace)
    values, unchanged = rebinding.outputs(
        _BEFORE, namespace, names, candidates, _state["digests"], exchange.fingerprint, failed
    )
    # what stays here until the notebook needs it (a figure): not encoded now
    stays = {n: exchange.codec.type_name(v) for n, v in values.items() if kept.keeps(v)}
    for name in stays:
        del values[name]
    used = path
    held = {}
    try:
        for target in [path, fallback] if fallback else [path]:
            used = target
            held.clear()
            try:
                exchange.pack(target, values, _cloudpickle(), namespace, held)
                break
            except OSError as error:
                _remove(target)
                if error.errno not in _NO_ROOM or target != path or not fallback:
                    raise
    except exchange.CrossError as error:
        return json.dumps({"errors": {error.name: [error.type_name, error.reason]}})
    except OSError as error:
        if error.errno not in _NO_ROOM:
            raise
        what = ", ".join(sorted(values)) or "the outputs"
        return json.dumps({"errors": {what: ["payload", _no_room(error)]}})
    absent = [name for name in deletes if name not in namespace]
    written = sorted(name for name in values if name not in held)
    summary = {"written": written, "unchanged": unchanged, "deleted": absent, "held": held}
    summary["kept"] = stays
    # the libraries' settings the cell changed (a style, a seed): the notebook's too
    summary["settings"] = settings.changed_by_cell(_state.get("settings") or {})
    # where a returned NumPy view lies in an array of this namespace: the notebook's is its base
    summary["views"] = views.hints({name: values[name] for name in written}, namespace)
    summary["path"] = used
    # The secrets read here: an output may hold one, and the notebook's output hides them too.
    summary["secrets"] = variables.secret_values()
    return json.dumps(summary)


def _star_bound(modules, namespace):  # type: ignore[no-untyped-def]
    """The names ``from module import *`` bound here, for each of ``modules``: its
    ``__all__``, else its names not starting with an underscore (the language reference,
    "The import statement"), where the namespace holds that very object."""
    bound = []
    for module_name in modules:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        public = getattr(module, "__all__", None)
        if public is None:
            public = [n for n in vars(module) if not n.startswith("_")]
        for name in public:
            if isinstance(name, str) and namespace.get(name, _state) is getattr(module, name, None):
                bound.append(name)
    return bound


def advance(path, name, mode):  # type: ignore[no-untyped-def]
    """One step of a plain cell's iteration over the value held here as ``name``: ``mode``
    ``"start"`` keeps ``iter(value)``, ``"continue"`` takes its next item, ``"next"`` the
    value's own. The item is written to ``path``; answers ``stop`` at the end, ``held`` for an
    item that cannot cross, ``error`` ([class name, message]) for what the iteration raised."""
    namespace = _namespace()
    iterations = _state.setdefault("iterations", {})
    item, answer = iteration.step(namespace, iterations, name, mode)
    if answer is not None:
        return json.dumps(answer)
    held = {}
    exchange.pack(path, {"item": item}, _cloudpickle(), namespace, held)
    return json.dumps({"held": held})


def fetch(path, names):  # type: ignore[no-untyped-def]
    """Write the values kept here under ``names`` (:mod:`kept`) to ``path`` as one item,
    ``kept`` (a dict), so that what they share arrives shared; answers the names this
    namespace no longer has (``missing``)."""
    namespace = _namespace()
    values = {name: namespace[name] for name in names if name in namespace}
    exchange.pack(path, {"kept": values}, _cloudpickle(), namespace)
    return json.dumps({"missing": [name for name in names if name not in values]})


def last_error(path):  # type: ignore[no-untyped-def]
    """The exception of the cell that just failed, for the notebook to raise as its own.

    IPython keeps it as ``sys.last_value`` (``InteractiveShell._get_exc_info``). Answers its
    class (``module``, ``qualname``, ``bases``: the qualified names of its class and the
    classes it derives from, nearest first) and ``packed``: whether the exception itself (its
    attributes, not its traceback) was written to the payload ``path``.
    """
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if error is None:
        return json.dumps({})
    kind = type(error)
    bases = [f"{c.__module__}.{c.__qualname__}" for c in kind.__mro__]
    packed = False
    try:
        exchange.pack(path, {"error": error}, _cloudpickle(), _namespace())
        packed = True
    except Exception:  # a value of the exception that cannot cross: its class still can
        _remove(path)
    return json.dumps(
        {"module": kind.__module__, "qualname": kind.__qualname__, "bases": bases, "packed": packed}
    )
