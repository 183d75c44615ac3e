"""The environment store with real uv and virtualenv builds: caching, atomicity, concurrency."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from isocell.envs import EnvRequest, EnvStore, resolve_environment, spec_for
from isocell.errors import BuildError
from tests.conftest import needs_py39

pytestmark = pytest.mark.slow

SIX = EnvRequest(requirements=("six==1.16.0",))


def events_of(request: EnvRequest, store: EnvStore) -> tuple[object, list]:
    events: list = []
    environment = resolve_environment(request, store, progress=events.append)
    return environment, events


def leftovers(home: Path) -> list[str]:
    """The folders under ``envs``, but complete kernel layers: built once per interpreter and
    shared, the first build of a Python makes one before the environment (and keeps it)."""
    envs = home / "envs"
    return sorted(p.name for p in envs.iterdir() if not _kernel_layer(p)) if envs.is_dir() else []


def _kernel_layer(folder: Path) -> bool:
    facts = folder / "isocell-env.json"
    return facts.is_file() and bool(json.loads(facts.read_text())["spec"].get("kernel_layer"))


def test_same_spec_is_built_once_then_reused_with_its_lock(fresh_home):
    store = EnvStore()
    first, built = events_of(SIX, store)
    again, reused = events_of(SIX, store)
    assert [e.phase for e in built][-1] == "done"
    assert reused == []  # nothing built, nothing resolved
    assert again.path == first.path
    lock = (first.path / "requirements.lock").read_text().split()
    assert lock == ["six==1.16.0"]  # the user's packages only: the kernel is in the layer
    meta = json.loads((first.path / "isocell-env.json").read_text())
    assert meta["exclude_newer"].startswith("2021-05-05")  # six 1.16.0's release
    assert first.kernel_layer is not None
    assert leftovers(fresh_home) == [first.path.name]
    assert _kernel_layer(first.kernel_layer.parents[2])


def test_exclude_newer_none_and_a_date_change_the_spec(fresh_home):
    auto = spec_for(SIX)
    off = spec_for(EnvRequest(requirements=("six==1.16.0",), exclude_newer="none"))
    dated = spec_for(EnvRequest(requirements=("six==1.16.0",), exclude_newer="2022-01-01"))
    assert len({auto.key, off.key, dated.key}) == 3
    assert dated.exclude_newer == "2022-01-01T00:00:00Z"


def test_failed_build_leaves_nothing_and_shows_the_resolver(fresh_home):
    store = EnvStore()
    request = EnvRequest(requirements=("isocell-no-such-package-xyz==1.0",))
    with pytest.raises(BuildError) as caught:
        resolve_environment(request, store)
    assert "isocell-no-such-package-xyz" in str(caught.value)
    assert leftovers(fresh_home) == []
    assert list((fresh_home / "logs").iterdir())  # the full log is kept


def test_conflicting_requirements_show_the_resolvers_message(fresh_home):
    request = EnvRequest(requirements=("six==1.16.0", "six==1.15.0"), exclude_newer="none")
    with pytest.raises(BuildError, match="six"):
        resolve_environment(request, EnvStore())
    assert leftovers(fresh_home) == []


def test_half_made_and_stale_builds_are_never_reused(fresh_home):
    store = EnvStore()
    spec = spec_for(SIX)
    final = store.path_for(spec)
    final.mkdir(parents=True)  # a half-made environment: no isocell-env.json
    (final / "junk").write_text("x")
    stale = store.envs_dir / f".build-{spec.key}-dead"
    stale.mkdir()
    environment = resolve_environment(SIX, store)
    assert not (environment.path / "junk").exists()
    assert not stale.exists()
    assert (environment.path / "isocell-env.json").is_file()


def test_environment_whose_interpreter_vanished_is_rebuilt(fresh_home):
    store = EnvStore()
    first = resolve_environment(SIX, store)
    link = first.path / "bin" / "python"
    link.unlink()
    link.symlink_to(fresh_home / "no-such-python")  # the base interpreter is gone
    assert store.find(spec_for(SIX)) is None
    second = resolve_environment(SIX, store)
    assert second.python.exists()
    assert subprocess.run([str(second.python), "-c", "import six"]).returncode == 0


def test_two_processes_asking_for_one_spec_build_it_once(fresh_home):
    script = textwrap.dedent(
        """
        from isocell.envs import EnvRequest, EnvStore, resolve_environment
        events = []
        request = EnvRequest(requirements=("six==1.16.0",))
        resolve_environment(request, EnvStore(), progress=events.append)
        print("BUILT" if any(e.phase == "done" for e in events) else "REUSED")
        """
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = sorted(p.communicate(timeout=300)[0].strip() for p in processes)
    assert outcomes == ["BUILT", "REUSED"]


def test_interrupted_build_leaves_nothing(fresh_home):
    # The build pauses inside its own progress report, once the environment's folder exists
    # and before the install: the interrupt lands mid-build however fast uv is (a warm cache
    # finishes the whole build in ~0.1 s, sooner than a signal sent on the first line).
    script = textwrap.dedent(
        """
        import sys
        from isocell.envs import EnvRequest, EnvStore, resolve_environment

        def progress(event):
            print(event.phase, flush=True)
            if event.phase == "install":
                print("paused", flush=True)
                sys.stdin.readline()  # until the interrupt

        request = EnvRequest(requirements=("six==1.16.0",), exclude_newer="none")
        resolve_environment(request, EnvStore(), progress=progress)
        """
    )
    # The kernel layer of the interpreter is there already (built once per Python).
    EnvStore().ensure(spec_for(EnvRequest(requirements=("six==1.16.0",))).layer_spec())
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    phases = []
    for line in process.stdout:
        phases.append(line.strip())
        if phases[-1] == "paused":
            break
    assert phases[-2:] == ["install", "paused"], (phases, process.stderr)
    assert leftovers(fresh_home) != [], "the build had not made its folder yet"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) != 0
    process.stdin.close()
    assert "KeyboardInterrupt" in (process.stderr.read() if process.stderr else "")
    assert leftovers(fresh_home) == []


def test_virtualenv_builder(fresh_home, ip, ns, monkeypatch):
    request = EnvRequest(requirements=("six==1.16.0",), builder="virtualenv", exclude_newer="none")
    environment = resolve_environment(request, EnvStore())
    meta = json.loads((environment.path / "isocell-env.json").read_text())
    assert meta["builder"] == "virtualenv"
    # scripts were pointed at the final folder, not the temporary build folder
    pip = (environment.path / "bin" / "pip").read_text().splitlines()[0]
    assert str(environment.path) in pip and ".build-" not in pip
    ip.run_cell_magic(
        "isolated",
        "--builder virtualenv --req six==1.16.0 --exclude-newer none",
        "import six, sys\nwhere = sys.prefix",
    )
    used = json.loads((Path(ns["where"]) / "isocell-env.json").read_text())
    assert used["builder"] == "virtualenv" and used["key"] == environment.key


@needs_py39
def test_old_pin_trap_is_avoided_by_default(isocell_home):
    store = EnvStore()
    environment = resolve_environment(
        EnvRequest(python="3.9", requirements=("pandas==1.4.4",)), store
    )
    numpy = [line for line in environment.lock if line.startswith("numpy==")]
    assert numpy and numpy[0].startswith("numpy==1.")
    done = subprocess.run(
        [str(environment.python), "-c", "import pandas; print(pandas.__version__)"],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "1.4.4", done.stderr


def test_cached_resolution_runs_no_subprocess(fresh_home, monkeypatch):
    store = EnvStore()
    resolve_environment(SIX, store)
    calls = []
    real = subprocess.Popen.__init__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0] if args else kwargs.get("args"))
        real(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    resolve_environment(SIX, EnvStore())
    assert calls == []


def test_falls_back_to_virtualenv_where_uv_cannot_run(fresh_home, monkeypatch, tmp_path):
    # uv "cannot run": its binary is not executable on this machine.
    broken = tmp_path / "uv"
    broken.write_text("not a program")
    broken.chmod(0o644)
    import uv

    from isocell.envs import _uv

    monkeypatch.setattr(uv, "find_uv_bin", lambda: str(broken))
    monkeypatch.setattr(_uv, "_uv_checked", {})
    environment = resolve_environment(
        EnvRequest(requirements=("six==1.16.0",), exclude_newer="none"), EnvStore()
    )
    meta = json.loads((environment.path / "isocell-env.json").read_text())
    assert meta["builder"] == "virtualenv"
    log = (environment.path / "build.log").read_text()
    assert "the uv builder cannot build here" in log
    assert subprocess.run([str(environment.python), "-c", "import six"]).returncode == 0


def test_cut_off_resolutions_come_from_uvs_cache_first(fresh_home, tmp_path, monkeypatch):
    # A new uv cache holds no index pages: no offline attempt is made (it could only fail).
    # Once the cache holds index pages but not six, the offline attempt fails and the index
    # is asked; once it holds everything, a rebuild of the same spec resolves and installs
    # offline.
    from isocell.envs import _uv
    from isocell.envs._build import builder_environment_variables

    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    uv_bin = _uv.uv_binary()
    assert uv_bin is not None
    assert not _uv.index_pages_cached(uv_bin, tmp_path, builder_environment_variables())
    store = EnvStore()
    store.ensure(spec_for(SIX).layer_spec())  # fills uv's cache with the kernel's packages
    layer_log = (store.path_for(spec_for(SIX).layer_spec()) / "build.log").read_text()
    assert "--offline" not in layer_log
    assert _uv.index_pages_cached(uv_bin, tmp_path, builder_environment_variables())
    first = resolve_environment(SIX, store)
    cold_log = (first.path / "build.log").read_text()
    assert "--offline" in cold_log and "not everything is in uv's cache" in cold_log
    cold_lock = (first.path / "requirements.lock").read_text()
    store.remove(first.spec)
    again = resolve_environment(SIX, store)
    warm_log = (again.path / "build.log").read_text()
    # one resolution and install (the environment holds the user's packages only)
    assert warm_log.count("--offline") == 1 and "not everything" not in warm_log
    assert (again.path / "requirements.lock").read_text() == cold_lock
    # No cut-off (nothing pinned): the user's requirements are resolved by the index, as uv
    # would by default.
    unpinned = resolve_environment(EnvRequest(requirements=("six",)), store)
    commands = (unpinned.path / "build.log").read_text().splitlines()
    installs = [line for line in commands if line.startswith("$ ") and " install " in line]
    assert installs and not any("--offline" in line for line in installs)
    # The user may prefer the cache for every resolution...
    monkeypatch.setenv("ISOCELL_PREFER_OFFLINE", "1")
    store.remove(unpinned.spec)
    cached = resolve_environment(EnvRequest(requirements=("six",)), store)
    log = (cached.path / "build.log").read_text()
    assert all("--offline" in line for line in log.splitlines() if " install " in line)
    # ...or none.
    monkeypatch.setenv("ISOCELL_PREFER_OFFLINE", "0")
    store.remove(cached.spec)
    fresh = resolve_environment(EnvRequest(requirements=("six",)), store)
    assert "--offline" not in (fresh.path / "build.log").read_text()


@needs_py39
def test_an_old_cut_off_does_not_reach_the_kernels_own_packages(isocell_home):
    # six 1.16.0 dates the cut-off to May 2021: resolved under it, IPython 8's exceptiongroup
    # (a dependency on Python < 3.11 only) was 0.0.0a0, and `import IPython` failed. The
    # kernel's packages are in the kernel layer, resolved with no cut-off.
    request = EnvRequest(python="3.9", requirements=("six==1.16.0",))
    environment = resolve_environment(request, EnvStore())
    assert environment.exclude_newer.startswith("2021-05-05")
    assert "six==1.16.0" in environment.lock
    probe = (
        f"import site; site.addsitedir({str(environment.kernel_layer)!r}); "
        "import IPython, ipykernel, exceptiongroup; print(IPython.__version__)"
    )
    done = subprocess.run([str(environment.python), "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_index_credentials_are_never_written_and_the_home_is_private(fresh_home):
    secret = "s3cretpw42"
    url = f"https://isocell-user:{secret}@pypi.org/simple"
    events: list = []
    request = EnvRequest(requirements=("six==1.16.0",), index_url=url)
    environment = resolve_environment(request, EnvStore(), progress=events.append)
    failed = EnvRequest(requirements=("isocell-no-such-package-xyz==1.0",), index_url=url)
    with pytest.raises(BuildError) as caught:
        resolve_environment(failed, EnvStore(), progress=events.append)
    assert secret not in str(caught.value)
    assert not [e for e in events if secret in e.message]
    written = [p for p in fresh_home.rglob("*") if p.is_file() and "site-packages" not in p.parts]
    assert [p for p in written if p.suffix in (".json", ".log", ".lock")]
    assert not [p for p in written if secret.encode() in p.read_bytes()]
    meta = json.loads((environment.path / "isocell-env.json").read_text())
    assert meta["spec"]["index_url"] == "https://***@pypi.org/simple"
    assert oct(fresh_home.stat().st_mode & 0o777) == "0o700"
    for name in ("isocell-env.json", "build.log", "requirements.lock"):
        assert oct((environment.path / name).stat().st_mode & 0o777) == "0o600", name
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in (fresh_home / "logs").iterdir())
    # the same request again reuses the environment (credentials are not part of the key)
    assert resolve_environment(request, EnvStore()).path == environment.path


def test_pins_from_different_years_hold_the_compiled_dependency_back(fresh_home):
    """Resolved as of requests 2.32.4 (2025), numpy 2 breaks pandas 1.5.3 (``numpy.dtype size
    changed``): the build imports it, resolves again with numpy as of pandas' release, and says
    so; the fix is in the environment's own lock."""
    from tests.conftest import _pyenv_python

    if _pyenv_python("3.10") is None:
        pytest.skip("CPython 3.10 is not installed (pyenv)")
    events: list = []
    request = EnvRequest(python="3.10", requirements=("pandas==1.5.3", "requests==2.32.4"))
    environment = resolve_environment(request, EnvStore(), progress=events.append)
    told = [e.message for e in events if "built against an older numpy" in e.message]
    assert told and "numpy.dtype size changed" in told[0] and "2023-01-19" in told[0]
    numpy = next(pin for pin in environment.lock if pin.startswith("numpy=="))
    assert numpy.startswith("numpy==1.")
    own = (environment.path / "requirements.own.txt").read_text()
    assert numpy in own
    probe = "import pandas, requests; print(pandas.__version__)"
    done = subprocess.run([str(environment.python), "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "1.5.3", done.stderr
