"""An ``%%isolated`` cell looks like a local one to the notebook's frontend and to every tool
reading its outputs (nbclient, papermill): the reproducers of issue #14, each run plainly and
isolated in one real notebook kernel, through jupyter_client, and compared."""

from __future__ import annotations

import queue
import re
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from isocell._cell_facts import COMM_TARGET
from tests.test_faults import NotebookKernel

pytestmark = pytest.mark.slow
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kernel(
    tmp_path_factory: pytest.TempPathFactory, isocell_home: Path
) -> Iterator[NotebookKernel]:
    notebook = NotebookKernel(isocell_home)
    # the first isolated cell starts the child (and may build): it shows that; later ones not
    assert notebook.execute("%%isolated\npass")["status"] == "ok"
    yield notebook
    notebook.close()


def _outputs(
    kernel: NotebookKernel,
    code: str,
    answers: tuple[str, ...] = (),
    allow_stdin: bool = True,
) -> tuple[list[tuple[str, ...]], dict[str, Any]]:
    """What the frontend shows for ``code`` (streams joined per name, errors as their class
    and message, input requests as their prompt and whether it is a password, answered with
    ``answers`` in turn), and the ``execute_reply``."""
    shown: list[tuple[str, ...]] = []
    pending = list(answers)

    def typed(message: dict[str, Any]) -> None:
        content = message["content"]
        shown.append(("input_request", content["prompt"], str(content["password"])))
        kernel.client.input(pending.pop(0))

    tracebacks: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            if shown and shown[-1][:2] == ("stream", content["name"]):
                shown[-1] = ("stream", content["name"], shown[-1][2] + content["text"])
            else:
                shown.append(("stream", content["name"], content["text"]))
        elif kind == "error":
            shown.append(("error", content["ename"], content["evalue"]))
            tracebacks.append(_ANSI.sub("", "\n".join(content["traceback"])))
        elif kind in ("display_data", "execute_result"):
            shown.append((kind, *sorted(content["data"])))

    reply = kernel.client.execute_interactive(
        code, timeout=300, output_hook=hook, allow_stdin=allow_stdin, stdin_hook=typed
    )["content"]
    reply["shown_traceback"] = "\n".join(tracebacks)
    assert not pending, f"inputs never asked for: {pending}"
    return shown, reply


def _isolated_like_local(
    kernel: NotebookKernel, code: str, answers: tuple[str, ...] = (), allow_stdin: bool = True
) -> dict[str, Any]:
    plain, plain_reply = _outputs(kernel, code, answers, allow_stdin)
    isolated, reply = _outputs(kernel, "%%isolated\n" + code, answers, allow_stdin)
    assert isolated == plain, f"plain: {plain}\nisolated: {isolated}"
    for key in ("status", "ename", "evalue"):
        assert reply.get(key) == plain_reply.get(key), key
    return reply


@pytest.mark.parametrize(
    "code",
    [
        "1 / 0",
        "{}['k']",
        "import json\njson.loads('{')",  # a class of a module: json.decoder.JSONDecodeError
        "int('x')",
        "raise SystemError('custom message', 2)",
    ],
    ids=["ZeroDivisionError", "KeyError", "JSONDecodeError", "ValueError", "two arguments"],
)
def test_an_error_has_its_own_class_and_message(kernel: NotebookKernel, code: str) -> None:
    reply = _isolated_like_local(kernel, code)
    assert reply["status"] == "error" and reply["ename"] != "CellError"
    # the child's traceback, numbered with the notebook's execution count
    assert f"In[{reply['execution_count']}]" in reply["shown_traceback"]


@pytest.mark.parametrize("code", ["x = (1 +", "x = 1\n  y = 2", "def f():\nreturn 1"])
def test_a_syntax_error_reads_as_a_local_cells(kernel: NotebookKernel, code: str) -> None:
    # the realnb corpus: `invalid syntax (3311942670.py, line 1)`, the file named by the
    # body's text and the line counted from the body's first, as IPython's cell magics do
    reply = _isolated_like_local(kernel, code)
    assert reply["ename"] in ("SyntaxError", "IndentationError")


def test_a_usage_error_shows_once(kernel: NotebookKernel) -> None:
    reply = _isolated_like_local(kernel, "%nosuchmagic")
    assert reply["ename"] == "UsageError"


def test_a_notebook_defined_exception_class_is_the_notebooks_own(kernel: NotebookKernel) -> None:
    assert kernel.execute("class Oops(ValueError):\n    pass")["status"] == "ok"
    _isolated_like_local(kernel, "raise Oops('bad', 2)")
    # the notebook's own class: `except Oops` around the isolated cell catches it
    caught = kernel.execute(
        "try:\n"
        "    get_ipython().run_cell_magic('isolated', '', 'raise Oops(3)')\n"
        "except Oops as error:\n"
        "    caught = (type(error) is Oops, error.args)\n"
    )
    assert caught["status"] == "ok"
    assert kernel.value("caught") == "(True, (3,))"


def test_an_exception_that_cannot_cross_keeps_its_name_and_message(kernel: NotebookKernel) -> None:
    # defined in the failing cell (so the notebook never gets the class) and holding a lock
    # (so the exception cannot be pickled): a stand-in of that name, a ValueError still
    code = (
        "import threading\n"
        "class Locked(ValueError):\n"
        "    def __init__(self):\n"
        "        super().__init__('held')\n"
        "        self.lock = threading.Lock()\n"
        "raise Locked()"
    )
    _isolated_like_local(kernel, code)
    caught = kernel.execute(
        "try:\n"
        f"    get_ipython().run_cell_magic('isolated', '', {code!r})\n"
        "except ValueError as error:\n"
        "    caught = (type(error).__name__, str(error))\n"
    )
    assert caught["status"] == "ok"
    assert kernel.value("caught") == "('Locked', 'held')"


@pytest.mark.parametrize("code", ["len?", "%pdoc len"])
def test_the_pager_shows_what_a_local_cell_pages(kernel: NotebookKernel, code: str) -> None:
    plain = kernel.execute(code)["payload"]
    isolated = kernel.execute("%%isolated\n" + code)["payload"]
    assert plain and [p["source"] for p in plain] == ["page"]
    assert isolated == plain


def test_a_profile_is_paged(kernel: NotebookKernel) -> None:
    # its timings differ from run to run: the same kind of payload, the same columns
    plain = kernel.execute("%prun sum(range(1000))")["payload"]
    isolated = kernel.execute("%%isolated\n%prun sum(range(1000))")["payload"]
    assert [p["source"] for p in isolated] == [p["source"] for p in plain] == ["page"]
    assert "ncalls" in isolated[0]["data"]["text/plain"]


def test_input_and_getpass_ask_the_notebooks_frontend(kernel: NotebookKernel) -> None:
    code = (
        "name = input('Name: ')\n"
        "import getpass\n"
        "secret = getpass.getpass('Password: ')\n"
        "print('hello', name, len(secret))"
    )
    _isolated_like_local(kernel, code, answers=("Ada", "s3cret"))
    assert kernel.value("name") == "'Ada'"  # the typed line came back as the cell's value


def test_input_where_the_frontend_allows_none(kernel: NotebookKernel) -> None:
    # nbclient and papermill send allow_stdin false: input() raises, as it does locally
    reply = _isolated_like_local(kernel, "input('x')", allow_stdin=False)
    assert reply["ename"] == "StdinNotImplementedError"


def test_a_value_that_cannot_cross_stays_in_the_child(kernel: NotebookKernel) -> None:
    # issue #14: a generator, a lock: normal things to keep between cells of one kernel
    made = kernel.execute(
        "%%isolated\nimport threading\nG = (n * n for n in range(3))\nlock = threading.Lock()"
    )
    assert made["status"] == "ok"
    assert "held in the child kernel" in kernel.value("G")
    assert "builtins.generator" in kernel.value("G")
    # later isolated cells use the real objects
    assert (
        kernel.execute("%%isolated\nfirst = next(G)\nwith lock:\n    rest = list(G)")["status"]
        == "ok"
    )
    assert kernel.value("first") == "0" and kernel.value("rest") == "[1, 4]"
    # a plain cell that needs the value itself gets a clear error, and nothing else breaks
    plain = kernel.execute("lock.acquire()")
    assert plain["ename"] == "TransferError" and "stays in the child kernel" in plain["evalue"]
    assert kernel.execute("print(type(G).__name__)")["status"] == "ok"
    # a failed cell that advanced a held generator leaves the child's, which later cells use
    assert kernel.execute("%%isolated\nH = (i for i in range(5))")["status"] == "ok"
    assert kernel.execute("%%isolated\nnext(H)\n1 / 0")["ename"] == "ZeroDivisionError"
    assert kernel.execute("%%isolated\nafter = next(H)")["status"] == "ok"
    assert kernel.value("after") == "1"


def test_imports_reach_the_notebook(kernel: NotebookKernel) -> None:
    # issue #14: `import math` isolated, then `math.pi` in a plain cell; a star import
    # shadows builtins in the notebook as it does locally (os.open for open)
    made = kernel.execute("%%isolated\nimport math\nfrom os import *\nfrom os import path as p")
    assert made["status"] == "ok"
    assert kernel.value("math.pi") == "3.141592653589793"
    assert kernel.value("open is __import__('os').open") == "True"
    assert kernel.value("p.join('a', 'b')") == "'a/b'"
    # a module only the child has stays there
    only = (
        "%%isolated\nimport sys, types\n"
        "sys.modules['only_in_child'] = types.ModuleType('only_in_child')\n"
        "import only_in_child"
    )
    assert kernel.execute(only)["status"] == "ok"
    assert "held in the child kernel" in kernel.value("only_in_child")
    assert kernel.execute("%%isolated\nname = only_in_child.__name__")["status"] == "ok"
    assert kernel.value("name") == "'only_in_child'"


def test_the_child_follows_the_notebooks_folder_and_environment_variables(
    kernel: NotebookKernel, tmp_path: Path
) -> None:
    # issue #14: `%cd /var` in the notebook is seen by later isolated cells
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "data.txt").write_text("found")
    assert (
        kernel.execute(f"import os\n_before = os.getcwd()\nos.chdir({str(folder)!r})")["status"]
        == "ok"
    )
    try:
        _isolated_like_local(kernel, "import os\nprint(os.getcwd(), open('data.txt').read())")
        set_and_unset = (
            "%env ISOCELL_TEST_SETTING=on\n"
            "os.environ['ISOCELL_TEST_OTHER'] = '2'\n"
            "os.environ.pop('ISOCELL_TEST_GONE', None)"
        )
        assert kernel.execute("os.environ['ISOCELL_TEST_GONE'] = '1'")["status"] == "ok"
        assert (
            kernel.execute("%%isolated\nprint(os.environ['ISOCELL_TEST_GONE'])")["status"] == "ok"
        )
        assert kernel.execute(set_and_unset)["status"] == "ok"
        _isolated_like_local(
            kernel,
            "import os\nprint(os.environ['ISOCELL_TEST_SETTING'], os.environ['ISOCELL_TEST_OTHER'],"
            " 'ISOCELL_TEST_GONE' in os.environ)",
        )
    finally:
        kernel.execute("os.chdir(_before)")


def test_a_name_the_notebook_deleted_is_gone_in_the_child(kernel: NotebookKernel) -> None:
    # issue #14: after `del v` in the notebook, an isolated `w2 = v + 1` fails as locally
    assert kernel.execute("%%isolated\nv = 1")["status"] == "ok"
    assert kernel.execute("del v")["status"] == "ok"
    _isolated_like_local(kernel, "w2 = v + 1")
    assert kernel.execute("%%isolated\nv = 5\nw2 = v + 1")["status"] == "ok"
    assert kernel.value("w2") == "6"


def test_a_failed_cell_leaves_the_names_it_bound_before_its_error(kernel: NotebookKernel) -> None:
    # the semantics of local Python (README "What differs"): what ran before the error stays
    # bound, in the notebook and in the child alike; what it did not reach keeps its value
    cell = "before = [1]\nitems.append(2)\n1 / 0\nafter = 3"
    for prefix in ("", "%%isolated\n"):
        setup = "items = []\nafter = 'untouched'\nbefore = None"
        assert kernel.execute(setup)["status"] == "ok"
        assert kernel.execute(prefix + cell)["ename"] == "ZeroDivisionError"
        assert kernel.value("(before, items, after)") == "([1], [2], 'untouched')", prefix
    # a plain change of a name the failed cell never reached is kept too (not the child's)
    assert kernel.execute("after = 'changed here'")["status"] == "ok"
    assert kernel.execute("%%isolated\nx = 1\nraise KeyError(x)\nafter = 4")["ename"] == "KeyError"
    assert kernel.value("(x, after)") == "(1, 'changed here')"
    # the child agrees: a later isolated cell reads what the notebook has
    assert kernel.execute("%%isolated\nseen = (before, items, x)")["status"] == "ok"
    assert kernel.value("seen") == "([1], [2], 1)"


# The notebook's own versions, so that both sides' widgets have one state.
WIDGETS = (
    f"%%isolated --req ipywidgets=={version('ipywidgets')} tqdm=={version('tqdm')} "
    "--exclude-newer none\n"
)


def _messages(kernel: NotebookKernel, code: str, after: float = 0.0) -> list[dict[str, Any]]:
    """The iopub messages of running ``code`` (``status`` and ``execute_input`` left out),
    and those of any parent that arrive within ``after`` seconds of its end."""
    seen: list[dict[str, Any]] = []
    reply = kernel.execute(code, hook=seen.append)
    assert reply["status"] == "ok", reply
    deadline = time.monotonic() + after
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(kernel.client.get_iopub_msg(timeout=left))
        except queue.Empty:
            break
    # isocell's own comm (where the cell ran, for the frontend's header: isocell._cell_facts)
    # is opened and closed at once; a frontend without isocell's extension drops it
    told = {
        m["content"]["comm_id"]
        for m in seen
        if m["msg_type"] == "comm_open" and m["content"].get("target_name") == COMM_TARGET
    }
    return [
        m
        for m in seen
        if m["msg_type"] not in ("status", "execute_input")
        and m["content"].get("comm_id") not in told
    ]


def _widgets(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each widget model the frontend was told of, in order: its target and its state after
    every update, with model references (``IPY_MODEL_<comm id>``) as their order."""
    order: dict[str, int] = {}
    states: dict[str, tuple[str, dict[str, Any]]] = {}
    for message in messages:
        kind, content = message["msg_type"], message["content"]
        if kind == "comm_open":
            order[content["comm_id"]] = len(order)
            state = dict(content["data"].get("state", {}))
            states[content["comm_id"]] = (content["target_name"], state)
        elif kind == "comm_msg" and content["comm_id"] in states:
            data = content["data"]
            if data.get("method") in ("update", "echo_update"):
                states[content["comm_id"]][1].update(data.get("state", {}))

    def reference(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("IPY_MODEL_"):
            return f"model {order.get(value[len('IPY_MODEL_') :], '?')}"
        if isinstance(value, list):
            return [reference(v) for v in value]
        return value

    return [
        (target, {k: reference(v) for k, v in state.items()})
        for _, (target, state) in sorted(states.items(), key=lambda item: order[item[0]])
    ]


def test_a_widget_from_an_isolated_cell_lives_in_the_frontend(kernel: NotebookKernel) -> None:
    # issue #14: an ipywidgets.IntSlider() displayed from an isolated cell showed "model not
    # found": its comm messages were not relayed
    code = "import ipywidgets\nslider = ipywidgets.IntSlider(value=3)\ndisplay(slider)"
    assert kernel.execute(WIDGETS + "pass")["status"] == "ok"  # built and started: not shown
    plain = _messages(kernel, code)
    isolated = _messages(kernel, WIDGETS + code)
    assert [m["msg_type"] for m in isolated] == [m["msg_type"] for m in plain]
    assert _widgets(isolated) == _widgets(plain)
    view = isolated[-1]["content"]["data"]["application/vnd.jupyter.widget-view+json"]
    opened = [m["content"]["comm_id"] for m in isolated if m["msg_type"] == "comm_open"]
    assert view["model_id"] in opened
    # the frontend moves the slider: the child's widget gets the value, and echoes it
    update = {"method": "update", "state": {"value": 7}, "buffer_paths": []}
    message = kernel.client.session.msg("comm_msg", {"comm_id": view["model_id"], "data": update})
    kernel.client.shell_channel.send(message)
    echoes = []
    deadline = time.monotonic() + 30
    while not echoes and time.monotonic() < deadline:
        try:
            got = kernel.client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        content = got["content"]
        if got["msg_type"] == "comm_msg" and content["comm_id"] == view["model_id"]:
            echoes.append(content["data"])
    assert echoes and echoes[0]["method"] == "echo_update" and echoes[0]["state"]["value"] == 7
    assert kernel.execute(WIDGETS + "value = slider.value")["status"] == "ok"
    assert kernel.value("value") == "7"


def test_a_tqdm_bar_from_an_isolated_cell_reaches_its_end(kernel: NotebookKernel) -> None:
    # issue #14: tqdm.auto's progress stayed at 0% for ever
    code = "from tqdm.auto import tqdm\nfor i in tqdm(range(5)):\n    pass"
    assert kernel.execute(WIDGETS + "pass")["status"] == "ok"

    def untimed(widgets: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        # the text after the bar: `5/5 [00:00<00:00, 586.01it/s]`, timings differ per run
        return [
            (
                target,
                {k: re.sub(r"\[.*\]", "[...]", v) if k == "value" else v for k, v in s.items()},
            )
            if s.get("_model_name") == "HTMLModel"
            else (target, s)
            for target, s in widgets
        ]

    plain = untimed(_widgets(_messages(kernel, code)))
    isolated = untimed(_widgets(_messages(kernel, WIDGETS + code)))
    assert isolated == plain
    bars = [state for target, state in isolated if state.get("_model_name") == "FloatProgressModel"]
    assert bars and bars[0]["value"] == 5 and bars[0]["max"] == 5


def test_output_of_a_thread_that_outlives_its_cell_is_shown(kernel: NotebookKernel) -> None:
    # issue #14: 5 of 6 prints of a thread that outlives its cell were never shown
    code = (
        "import threading, time\n"
        "def tick():\n"
        "    for i in range(4):\n"
        "        time.sleep(0.25)\n"
        "        print('tick', i, flush=True)\n"
        "threading.Thread(target=tick).start()"
    )

    def printed(messages: list[dict[str, Any]]) -> str:
        return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")

    plain = printed(_messages(kernel, code, after=3))
    isolated = printed(_messages(kernel, "%%isolated\n" + code, after=3))
    assert plain == isolated == "".join(f"tick {i}\n" for i in range(4))


NUMPY = f"%%isolated --req numpy=={version('numpy')} --exclude-newer none\n"


def test_aliases_and_views_stay_one_object(kernel: NotebookKernel) -> None:
    # issue #14: `b = a` plainly, `b.append(3)` isolated, and `a` was unchanged; a NumPy view
    # stopped being a view
    setup = (
        "import numpy as np\na = [1, 2]\nb = a\nlookup = {'k': 1}\nalias = lookup\n"
        "grid = np.arange(6).reshape(2, 3)\nsub = grid[:1, :2]"
    )
    change = "b.append(3)\nalias['k'] = 2\nsub[0, 0] = 99"
    seen = "(a, lookup, int(grid[0, 0]), b is a, np.shares_memory(sub, grid))"
    for prefix in ("", NUMPY):
        assert kernel.execute(setup)["status"] == "ok"
        assert kernel.execute(prefix + change)["status"] == "ok"
        assert kernel.value(seen) == "([1, 2, 3], {'k': 2}, 99, True, True)", prefix
    # a view an isolated cell makes of a notebook array is a view of the notebook's array
    assert kernel.execute(NUMPY + "corner = grid[1:, 1:]\nrow = grid[0]")["status"] == "ok"
    assert kernel.execute("corner[0, 0] = -1\nrow[2] = -2")["status"] == "ok"
    assert kernel.value("(int(grid[1, 1]), int(grid[0, 2]))") == "(-1, -2)"
    # two names of one object arrive as one object, and come back as one
    assert kernel.execute("x = y = []")["status"] == "ok"
    assert kernel.execute("%%isolated\nsame = x is y\nc = d = [5]")["status"] == "ok"
    assert kernel.value("(same, c is d)") == "(True, True)"


def test_a_recarray_comes_back_an_instance_of_numpys_own_class(kernel: NotebookKernel) -> None:
    # issue #14: cloudpickle pickled numpy.rec.recarray by value (numpy.rec is loaded lazily)
    cell = (
        "import numpy as np\n"
        "data = np.zeros(2, dtype=[('name', 'U10'), ('age', 'i4')])\n"
        "data_rec = data.view(np.recarray)"
    )
    assert kernel.execute(NUMPY + cell)["status"] == "ok"
    assert kernel.value("(type(data_rec) is np.recarray, data_rec.age.tolist())") == (
        "(True, [0, 0])"
    )


def test_matplotlib_settings_follow_both_ways(kernel: NotebookKernel) -> None:
    # the realnb corpus (04.00): a style set in a plain cell, a figure saved in an isolated
    # one (or the other way round) drew with another style
    host = f"%%isolated --python {sys.executable}\n"  # this interpreter: it has matplotlib
    setup = "import matplotlib as mpl\nimport matplotlib.pyplot as plt\nplt.style.use('classic')"
    assert kernel.execute(setup)["status"] == "ok"
    try:
        seen = (
            "import matplotlib as mpl\n"
            "inside = mpl.rcParams['axes.prop_cycle'].by_key()['color'][:2]"
        )
        assert kernel.execute(host + seen)["status"] == "ok"
        assert kernel.value("inside") == "['b', 'g']"
        assert (
            kernel.execute(host + "import matplotlib.pyplot as plt\nplt.style.use('ggplot')")[
                "status"
            ]
            == "ok"
        )
        assert kernel.value("mpl.rcParams['axes.facecolor']") == "'#E5E5E5'"
    finally:
        kernel.execute("plt.style.use('default')")


def test_a_string_a_notebook_function_evaluates_is_read_as_code(kernel: NotebookKernel) -> None:
    # the realnb corpus (03.08): a notebook class that eval()s the strings it is given
    setup = (
        "class show:\n"
        "    def __init__(self, *args):\n"
        "        self.args = args\n"
        "    def __repr__(self):\n"
        "        return '\\n'.join(repr(eval(a)) for a in self.args)\n"
        "frame_total = 41"
    )
    assert kernel.execute(setup)["status"] == "ok"
    _isolated_like_local(kernel, "show('frame_total', 'frame_total + 1')")


def test_a_notebook_function_reads_the_namespace_it_runs_in(kernel: NotebookKernel) -> None:
    # cloudpickle gives a function it rebuilds globals of its own, as they were when pickled
    setup = "factor = 2\ndef double(v):\n    return v * factor"
    assert kernel.execute(setup)["status"] == "ok"
    assert kernel.execute("%%isolated\nfirst = double(1)")["status"] == "ok"
    assert kernel.execute("factor = 5")["status"] == "ok"
    assert (
        kernel.execute("%%isolated\nsecond = double(1)\nfactor = 7\nthird = double(1)")["status"]
        == "ok"
    )
    assert kernel.value("(first, second, third, double(1))") == "(2, 5, 7, 7)"
    # a global a notebook function changes in place comes back
    assert kernel.execute("items = []\ndef add(v):\n    items.append(v)")["status"] == "ok"
    assert kernel.execute("%%isolated\nadd(1)")["status"] == "ok"
    assert kernel.value("items") == "[1]"


def test_a_plain_cell_iterates_a_generator_an_isolated_cell_made(kernel: NotebookKernel) -> None:
    # the realnb corpus (12-Generators): `G = (n ** 2 ...); list(G)` isolated, then `list(G)`
    # plainly gives [] (the generator is spent), as locally
    for prefix in ("", "%%isolated\n"):
        made = prefix + "G2 = (n * n for n in range(5))\nfirst = next(G2)"
        assert kernel.execute(made)["status"] == "ok"
        shown = kernel.execute("print(next(G2))\nfor n in G2:\n    print(n)\nprint(list(G2))")
        assert shown["status"] == "ok", prefix
    _isolated_like_local(kernel, "def noisy():\n    print('made')\n    yield 1\nN = noisy()")
    outputs, _ = _outputs(kernel, "print(list(N))")
    assert outputs == [("stream", "stdout", "made\n[1]\n")]
    spent, _ = _outputs(kernel, "print(list(G2))")
    assert spent == [("stream", "stdout", "[]\n")]
    # a spent generator crosses as one, both ways (12-Generators: `list(G)` after `list(G)`)
    assert kernel.execute("G3 = (i for i in range(2))\nlist(G3)")["status"] == "ok"
    _isolated_like_local(kernel, "list(G3)")
    assert kernel.execute("%%isolated\nG4 = (i for i in range(2))\nlist(G4)")["status"] == "ok"
    assert kernel.value("(type(G4).__name__, list(G4))") == "('generator', [])"


def test_a_connection_and_a_star_import_of_numpy(kernel: NotebookKernel) -> None:
    # issue #14: a database connection is a normal thing to keep between cells; with `from
    # numpy import *` isolated, `sum(range(5), -1)` gave 9 (builtins' sum), not numpy's 10
    made = kernel.execute(
        "%%isolated\nimport sqlite3\ndb = sqlite3.connect(':memory:')\n"
        "db.execute('create table t (x)')\ndb.execute('insert into t values (1)')"
    )
    assert made["status"] == "ok"
    assert "sqlite3.Connection held in the child kernel" in kernel.value("db")
    assert (
        kernel.execute("%%isolated\nrows = db.execute('select x from t').fetchall()")["status"]
        == "ok"
    )
    assert kernel.value("rows") == "[(1,)]"
    assert kernel.execute(NUMPY + "from numpy import *")["status"] == "ok"
    assert kernel.value("int(sum(range(5), -1))") == "10"
    # builtins' names again, for the tests after this one
    forget = "import numpy\nfor _name in numpy.__all__:\n    globals().pop(_name, None)"
    assert kernel.execute(forget)["status"] == "ok"


def test_library_settings_and_random_seeds_follow_both_ways(kernel: NotebookKernel) -> None:
    # one process locally: a seed, a pandas option or numpy's print options set in one cell
    # hold in every later cell, whichever kind of cell sets or uses them
    host = f"%%isolated --python {sys.executable}\n"
    seeded = "import numpy as np, random\nnp.random.seed(0)\nrandom.seed(0)"
    draw = "import numpy as np, random\ndrawn = (float(np.random.rand()), random.random())"
    seen = []
    for prefix in ("", host):
        assert kernel.execute(seeded)["status"] == "ok"
        assert kernel.execute(prefix + draw)["status"] == "ok"
        seen.append(kernel.value("(drawn, float(np.random.rand()), random.random())"))
    assert seen[0] == seen[1]  # the same stream: drawn in the child, then on in the notebook
    setup = (
        "import pandas as pd\npd.set_option('display.max_rows', 4)\n"
        "np.set_printoptions(precision=2)"
    )
    assert kernel.execute(setup)["status"] == "ok"
    try:
        shown = (
            "import pandas as pd, numpy as np\n"
            "shown = (repr(pd.DataFrame({'x': range(9)})), repr(np.array([1 / 3])))"
        )
        local = kernel.execute(shown) and kernel.value("shown")
        assert kernel.execute(host + shown)["status"] == "ok"
        assert kernel.value("shown") == local and "0.33]" in local
        assert kernel.execute(host + "pd.set_option('display.max_rows', 6)")["status"] == "ok"
        assert kernel.value("pd.get_option('display.max_rows')") == "6"
    finally:
        kernel.execute("pd.reset_option('display.max_rows')\nnp.set_printoptions(precision=8)")


def test_a_figure_stays_in_the_child_until_a_plain_cell_reads_it(kernel: NotebookKernel) -> None:
    # issue #14, the realnb corpus (04.08): a drawn figure pickles slowly, and each cell that
    # drew on `fig`/`ax` sent it back; it now stays in the child until the notebook needs it
    host = f"%%isolated --python {sys.executable}\n"  # this interpreter: it has matplotlib
    draw = (
        "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(2, 3)\nlines = ax[0, 0].plot([1, 2])"
    )
    assert kernel.execute(host + draw)["status"] == "ok"
    assert "kept in the child kernel" in kernel.value("repr(fig)")
    assert "kept in the child kernel" in kernel.value("repr(ax)")
    # later isolated cells there use (and change) the child's objects, which stay there
    assert kernel.execute(host + "ax[1, 2].set_title('t')\ntexts = len(fig.axes)")["status"] == "ok"
    assert kernel.value("texts") == "6"
    assert "kept in the child kernel" in kernel.value("repr(fig)")
    # a plain cell that reads one gets them all, as one object graph, with the changes made
    plain = (
        "import matplotlib.figure\n"
        "facts = (type(fig).__name__, ax[1, 2].get_title(), ax[0, 0].figure is fig,\n"
        "         lines[0].axes is ax[0, 0])"
    )
    assert kernel.execute(plain)["status"] == "ok"
    assert kernel.value("facts") == "('Figure', 't', True, True)"
    # and an isolated cell after that sends what the plain cell changed
    assert kernel.execute("ax[0, 1].set_xlabel('x')")["status"] == "ok"
    assert kernel.execute(host + "label = ax[0, 1].get_xlabel()")["status"] == "ok"
    assert kernel.value("label") == "'x'"
    # another environment gets the real figure: it is fetched, then sent (this one has no
    # matplotlib, so the child says it cannot load it, as for any figure sent there)
    assert kernel.execute(host + "fig2 = plt.figure()")["status"] == "ok"
    other = kernel.execute("%%isolated\nkind = type(fig2).__name__")
    assert other["status"] == "error"
    assert "No module named 'matplotlib'" in str(other["traceback"])
    assert kernel.execute("kind = type(fig2).__name__")["status"] == "ok"
    assert kernel.value("kind") == "'Figure'"
    # a restart keeps the notebook's values: what the child kept is fetched first
    assert kernel.execute(host + "fig3 = plt.figure(figsize=(2, 3))")["status"] == "ok"
    restart = f"%%isolated --restart --python {sys.executable}\npass"
    assert kernel.execute(restart)["status"] == "ok"
    assert kernel.value("fig3.get_size_inches().tolist()") == "[2.0, 3.0]"
    # so does `%isocell stop`; a child that dies takes what it kept with it, and says so
    assert kernel.execute(host + "fig4 = plt.figure()")["status"] == "ok"
    assert kernel.execute("%isocell stop")["status"] == "ok"  # every child
    assert kernel.execute("size4 = fig4.get_size_inches().tolist()")["status"] == "ok"
    assert kernel.execute(host + "fig5 = plt.figure()\nimport os")["status"] == "ok"
    assert kernel.execute(host + "os.kill(os.getpid(), 9)")["status"] == "error"
    lost = kernel.execute("fig5.savefig('never.png')")
    assert lost["status"] == "error"
    assert "ended before it came here" in str(lost["traceback"])
