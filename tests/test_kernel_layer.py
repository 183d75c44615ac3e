"""The cell sees exactly its task's packages (#13): the child kernel's own packages live in a
kernel layer after the environment's, and a cell's import of one of them fails with the fix.
Real uv builds, real child kernels."""

from __future__ import annotations

import pytest

from isocell.envs import EnvRequest, EnvStore, resolve_environment, task_requirements

pytestmark = pytest.mark.slow

SIX = "--req six==1.16.0"


def run(ip, line: str, cell: str):
    return ip.run_cell_magic("isolated", line, cell)


def test_the_environment_holds_the_users_packages_only(isocell_home):
    environment = resolve_environment(EnvRequest(requirements=("six==1.16.0",)), EnvStore())
    assert environment.lock == ("six==1.16.0",)
    assert task_requirements(environment) == ["six==1.16.0"]
    assert environment.kernel_layer is not None
    assert (environment.kernel_layer / "ipykernel").is_dir()
    other = resolve_environment(EnvRequest(requirements=("packaging==24.1",)), EnvStore())
    assert other.kernel_layer == environment.kernel_layer  # one layer per interpreter


def test_a_package_only_the_kernel_needs_is_not_importable_from_the_cell(ip, ns):
    with pytest.raises(ModuleNotFoundError) as caught:
        run(ip, SIX, "import psutil")
    assert "add --req psutil" in str(caught.value)
    with pytest.raises(ModuleNotFoundError, match="add --req python-dateutil"):
        run(ip, SIX, "from dateutil import parser")
    with pytest.raises(ModuleNotFoundError, match="add --req tornado"):
        run(ip, SIX, "import importlib\nimportlib.import_module('tornado.ioloop')")
    # what the environment has, and IPython's display API, work
    run(ip, SIX, "import six\nfrom IPython.display import display, HTML\nshown = six.__version__")
    assert ns["shown"] == "1.16.0"
    # the environment's packages come before the layer's
    run(ip, SIX, "import sys\nsites = [p for p in sys.path if p.endswith('site-packages')]")
    assert len(ns["sites"]) == 2 and "kernel" not in ns["sites"][0]


def test_pins_that_clash_with_the_kernels_packages_get_one_resolved_environment(isocell_home):
    events: list = []
    request = EnvRequest(requirements=("traitlets==5.0.5",))
    environment = resolve_environment(request, EnvStore(), progress=events.append)
    assert environment.spec is not None and environment.spec.kernel_inside
    assert environment.kernel_layer is None
    told = [e.message for e in events if "cannot run on these pins" in e.message]
    assert told and "traitlets" in told[0]
    assert "traitlets==5.0.5" in environment.lock
    assert any(pin.startswith("ipykernel==") for pin in environment.lock)
    # the task still gets the user's packages only
    task = task_requirements(environment)
    assert "traitlets==5.0.5" in task and not [p for p in task if p.startswith("ipykernel==")]
