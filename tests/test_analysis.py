"""Tests for :func:`isocell.analysis.analyze_cell`: the names a cell reads, binds and mutates."""

from __future__ import annotations

import sys
import textwrap

import pytest

from isocell.analysis import CellNames, analyze_cell

needs_pep695 = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="type statements and type parameters need Python 3.12+"
)


def analyze(source: str) -> CellNames:
    return analyze_cell(textwrap.dedent(source))


# (source, reads, binds)
READS_AND_BINDS = [
    # straight-line code
    pytest.param("x = a + b\ny = x * 2\nprint(y)", ("a", "b", "print"), ("x", "y"), id="straight"),
    pytest.param("x = 1\nprint(x)", ("print",), ("x",), id="read-after-bind"),
    pytest.param("print(x)\nx = 1", ("print", "x"), ("x",), id="read-before-bind"),
    pytest.param("x = x + 1", ("x",), ("x",), id="self-reference"),
    pytest.param("print(len(x))", ("len", "print", "x"), (), id="builtins-kept"),
    pytest.param("first, *rest = seq", ("seq",), ("first", "rest"), id="unpacking"),
    pytest.param("obj.attr = value", ("obj", "value"), (), id="attribute-store"),
    pytest.param(
        'msg = f"{name}: {value!r:>{width}}"', ("name", "value", "width"), ("msg",), id="f-string"
    ),
    pytest.param("x: int\nprint(x)", ("int", "print", "x"), (), id="bare-annotation"),
    pytest.param("y: List[int] = make()", ("List", "int", "make"), ("y",), id="annotated-assign"),
    pytest.param("x += 1", ("x",), ("x",), id="augassign"),
    pytest.param("x = 0\nx += 1", (), ("x",), id="augassign-after-bind"),
    pytest.param("obj.count += 1", ("obj",), (), id="augassign-attribute"),
    # conditionals
    pytest.param("if flag:\n    y = 1\nprint(y)", ("flag", "print", "y"), ("y",), id="if"),
    pytest.param(
        "if flag:\n    y = 1\nelse:\n    y = 2\nprint(y)", ("flag", "print"), ("y",), id="if-else"
    ),
    pytest.param(
        "if a:\n    y = 1\nelif b:\n    y = 2\nprint(y)",
        ("a", "b", "print", "y"),
        ("y",),
        id="elif-without-else",
    ),
    pytest.param(
        "if a:\n    y = 1\nelif b:\n    y = 2\nelse:\n    y = 3\nprint(y)",
        ("a", "b", "print"),
        ("y",),
        id="elif-with-else",
    ),
    pytest.param(
        "if (n := size()) > 3:\n    pass\nprint(n)", ("print", "size"), ("n",), id="walrus-in-test"
    ),
    pytest.param(
        "ok = ready() and (y := fetch())\nprint(y)",
        ("fetch", "print", "ready", "y"),
        ("ok", "y"),
        id="walrus-after-and",
    ),
    pytest.param(
        "v = (w := 1) if c else (w := 2)\nprint(w)",
        ("c", "print"),
        ("v", "w"),
        id="walrus-both-ifexp-branches",
    ),
    pytest.param("(y := 10)\nprint(y)", ("print",), ("y",), id="walrus-module"),
    # loops
    pytest.param(
        "for i in items:\n    last = i\nprint(i, last)",
        ("i", "items", "last", "print"),
        ("i", "last"),
        id="for-target-not-definite-after",
    ),
    pytest.param("for i in items:\n    print(i)", ("items", "print"), ("i",), id="for-body"),
    pytest.param(
        "for i in items:\n    print(prev)\n    prev = i",
        ("items", "prev", "print"),
        ("i", "prev"),
        id="for-bound-on-earlier-iteration",
    ),
    pytest.param(
        "for i in items:\n    pass\nelse:\n    done = True\nprint(done)",
        ("done", "items", "print"),
        ("done", "i"),
        id="for-else",
    ),
    pytest.param("while cond():\n    z = 1\nprint(z)", ("cond", "print", "z"), ("z",), id="while"),
    pytest.param(
        "while (chunk := read()):\n    total = chunk\nprint(chunk, total)",
        ("print", "read", "total"),
        ("chunk", "total"),
        id="while-walrus-test-runs-once",
    ),
    pytest.param(
        "x = 1\nfor i in r:\n    print(x)\n    del x",
        ("print", "r", "x"),
        ("i", "x"),
        id="loop-deletes-before-next-iteration",
    ),
    # try
    pytest.param(
        "try:\n    v = compute()\nexcept ValueError:\n    v = None\nprint(v)",
        ("ValueError", "compute", "print"),
        ("v",),
        id="try-bound-in-body-and-handler",
    ),
    pytest.param(
        "try:\n    v = compute()\nexcept ValueError:\n    print(v)",
        ("ValueError", "compute", "print", "v"),
        ("v",),
        id="handler-does-not-see-body",
    ),
    pytest.param(
        "try:\n    v = compute()\nexcept ValueError:\n    pass\nprint(v)",
        ("ValueError", "compute", "print", "v"),
        ("v",),
        id="try-handler-skips-bind",
    ),
    pytest.param(
        "try:\n    risky()\nfinally:\n    done = True\nprint(done)",
        ("print", "risky"),
        ("done",),
        id="finally-binds",
    ),
    pytest.param(
        "try:\n    v = compute()\nfinally:\n    print(v)",
        ("compute", "print", "v"),
        ("v",),
        id="finally-does-not-see-body",
    ),
    pytest.param(
        "try:\n    a = 1\nexcept E:\n    a = 2\nelse:\n    b = a\nfinally:\n    c = 3\n"
        "print(a, b, c)",
        ("E", "b", "print"),
        ("a", "b", "c"),
        id="try-else-finally",
    ),
    pytest.param(
        "try:\n    run()\nexcept Exception as err:\n    log(err)\nprint(err)",
        ("Exception", "err", "log", "print", "run"),
        (),
        id="except-as-unbinds",
    ),
    pytest.param(
        "err = None\ntry:\n    run()\nexcept Exception as err:\n    pass",
        ("Exception", "run"),
        ("err",),
        id="except-as-bound-otherwise",
    ),
    pytest.param(
        "try:\n    pass\nexcept* ValueError as group:\n    handle(group)",
        ("ValueError", "handle"),
        (),
        id="except-star",
    ),
    # with
    pytest.param(
        "with open(path) as fh:\n    text = fh.read()\nprint(text)",
        ("open", "path", "print"),
        ("fh", "text"),
        id="with-body-definite",
    ),
    pytest.param(
        "with a() as x, b(x) as (y, z):\n    pass",
        ("a", "b"),
        ("x", "y", "z"),
        id="with-items",
    ),
    # match
    pytest.param(
        """\
        match command:
            case ["go", direction]:
                moved = direction
            case Point(x=px) if px > limit:
                moved = px
            case {"k": kv, **others}:
                moved = kv
            case [first, *tail]:
                moved = first
            case _:
                moved = None
        print(moved)
        """,
        ("Point", "command", "limit", "moved", "print"),
        ("direction", "first", "kv", "moved", "others", "px", "tail"),
        id="match",
    ),
    pytest.param(
        "match c:\n    case Color.RED:\n        r = 1\n    case (1 | 2) as num:\n        pass",
        ("Color", "c"),
        ("num", "r"),
        id="match-value-and-as",
    ),
    # comprehensions
    pytest.param(
        "squares = [i * k for i in range(n)]",
        ("k", "n", "range"),
        ("squares",),
        id="listcomp",
    ),
    pytest.param("[i for i in data]\nprint(i)", ("data", "i", "print"), (), id="comp-target-local"),
    pytest.param(
        "pairs = [(a, b) for a in rows for b in a]", ("rows",), ("pairs",), id="comp-nested-for"
    ),
    pytest.param(
        "{k: v for k, v in m.items()}\n{x for x in s if x > lo}",
        ("lo", "m", "s"),
        (),
        id="dict-and-set-comp",
    ),
    pytest.param(
        "k = 2\nsquares = [i * k for i in range(3)]",
        ("range",),
        ("k", "squares"),
        id="listcomp-runs-now",
    ),
    pytest.param(
        "k = 2\ntotal = sum(i * k for i in vals)",
        ("k", "sum", "vals"),
        ("k", "total"),
        id="genexp-body-deferred",
    ),
    pytest.param(
        "hits = [m for row in rows if (m := match(row))]\nprint(m)",
        ("m", "match", "print", "rows"),
        ("hits", "m"),
        id="walrus-leaks-from-comp",
    ),
    # functions
    pytest.param(
        "def f(a, *args, b=1, **kw):\n    local = a + b + scale\n"
        "    return helper(local, args, kw)",
        ("helper", "scale"),
        ("f",),
        id="function-reads-globals",
    ),
    pytest.param(
        "scale = 2\ndef f():\n    return scale",
        ("scale",),
        ("f", "scale"),
        id="function-read-always-counts",
    ),
    pytest.param(
        "@decorate(option)\ndef f(x: Input = default) -> Output:\n    return x",
        ("Input", "Output", "decorate", "default", "option"),
        ("f",),
        id="decorators-defaults-annotations",
    ),
    pytest.param(
        "default = 1\ndef f(x=default):\n    return x",
        (),
        ("default", "f"),
        id="default-evaluated-at-def",
    ),
    pytest.param(
        "def f():\n    print(x)\n    x = 1", ("print",), ("f",), id="local-even-if-read-first"
    ),
    pytest.param(
        "def bump():\n    global counter\n    counter += step",
        ("counter", "step"),
        ("bump", "counter"),
        id="global-augassign",
    ),
    pytest.param(
        "def init():\n    global state\n    state = {}", (), ("init", "state"), id="global-assign"
    ),
    pytest.param(
        "def show():\n    global shown\n    print(shown)",
        ("print", "shown"),
        ("show",),
        id="global-read-only",
    ),
    pytest.param(
        "def f():\n    def g():\n        global deep\n        deep = 1",
        (),
        ("deep", "f"),
        id="global-nested-function",
    ),
    pytest.param(
        """\
        def outer():
            count = 0
            def inner():
                nonlocal count
                count += 1
                return count + offset
            return inner
        """,
        ("offset",),
        ("outer",),
        id="nonlocal",
    ),
    pytest.param(
        "def outer(n):\n    def inner():\n        return n + m\n    return inner",
        ("m",),
        ("outer",),
        id="closure",
    ),
    pytest.param(
        "def f():\n    import pandas as pd\n    global pl\n    import polars as pl",
        (),
        ("f", "pl"),
        id="function-imports",
    ),
    pytest.param(
        """\
        async def fetch(url):
            async with session.get(url) as resp:
                return await resp.json()
        async for item in stream():
            await handle(item)
        result = await fetch(base)
        """,
        ("base", "handle", "session", "stream"),
        ("fetch", "item", "result"),
        id="async",
    ),
    # lambdas
    pytest.param("f = lambda a, b=bdefault: a + b + c", ("bdefault", "c"), ("f",), id="lambda"),
    pytest.param("c = 1\nf = lambda: c", ("c",), ("c", "f"), id="lambda-read-always-counts"),
    pytest.param("fs = [lambda: i for i in r]", ("r",), ("fs",), id="lambda-in-comp"),
    # classes
    pytest.param(
        """\
        class Model(Base, metaclass=Meta):
            size = 3
            doubled = size * 2
            extra = unknown
            def method(self, n=size):
                return size
        """,
        ("Base", "Meta", "size", "unknown"),
        ("Model",),
        id="class-scope-hidden-from-methods",
    ),
    pytest.param("size = 1\nclass A:\n    s = size", (), ("A", "size"), id="class-body-runs-now"),
    pytest.param("class A:\n    x = x", ("x",), ("A",), id="class-body-falls-back-to-globals"),
    pytest.param(
        "def make():\n    class Inner:\n        attr = outer_value\n    return Inner",
        ("outer_value",),
        ("make",),
        id="class-in-function",
    ),
    pytest.param(
        "class K:\n    x = 1\n    y = [x for _ in range(3)]\n    z = [w for w in range(x)]",
        ("range", "x"),
        ("K",),
        id="class-comprehension",
    ),
    pytest.param(
        "class C:\n    global G\n    G = 1",
        (),
        ("C", "G"),
        id="class-global",
    ),
    # imports
    pytest.param(
        "import os\nimport os.path\nimport numpy as np\n"
        "from collections import OrderedDict as OD, deque\nfrom . import sibling",
        (),
        ("OD", "deque", "np", "os", "sibling"),
        id="imports",
    ),
    # del
    pytest.param("del x", ("x",), (), id="del-unbound"),
    pytest.param("x = 1\ndel x", (), ("x",), id="del-bound"),
    pytest.param("x = 1\ndel x\nprint(x)", ("print", "x"), ("x",), id="read-after-del"),
    pytest.param("def f():\n    global g\n    del g", ("g",), ("f",), id="del-global"),
]


@pytest.mark.parametrize(("source", "reads", "binds"), READS_AND_BINDS)
def test_reads_and_binds(source: str, reads: tuple[str, ...], binds: tuple[str, ...]) -> None:
    names = analyze(source)
    assert names.reads == reads
    assert names.binds == binds


# (source, mutates)
MUTATES = [
    pytest.param('frame["x"] = 1', ("frame",), id="item-store"),
    pytest.param("obj.a.b = 2", ("obj",), id="attribute-chain-store"),
    pytest.param("del d[k]", ("d",), id="item-delete"),
    pytest.param("del obj.attr", ("obj",), id="attribute-delete"),
    pytest.param("x[0] += 1", ("x",), id="item-augassign"),
    pytest.param("lst += [1]", ("lst",), id="augassign"),
    pytest.param("total += n", ("total",), id="augassign-value-not-mutated"),
    pytest.param("items.append(1)", ("items",), id="method-call"),
    pytest.param("frame.loc[0].update(other)", ("frame", "other"), id="method-call-chain"),
    pytest.param("np.random.shuffle(arr)", ("arr", "np"), id="argument"),
    pytest.param(
        "helper(df, key=cfg, *rest, **opts)", ("cfg", "df", "opts", "rest"), id="all-arguments"
    ),
    pytest.param("register([a, b.c])", ("a", "b"), id="argument-in-container"),
    pytest.param("n = len(x)", ("x",), id="len-counts"),
    pytest.param("y = x + 1", (), id="plain-read"),
    pytest.param("items = []\nitems.append(1)", (), id="bound-by-cell"),
    pytest.param(
        "def f():\n    cache[key] = 1\n    log.write(msg)",
        ("cache", "log", "msg"),
        id="in-function",
    ),
    pytest.param("def f():\n    return x + 1", (), id="function-plain-read"),
    pytest.param("cb = lambda: store.clear()", ("store",), id="in-lambda"),
    pytest.param("def f():\n    global total\n    total += 1", ("total",), id="global-augassign"),
    pytest.param("row = rows[0]\nrow['k'] = 1", ("rows",), id="alias-item"),
    pytest.param("for r in records:\n    r.done = True", ("records",), id="alias-loop-target"),
    pytest.param("[r.update(seen=True) for r in records]", ("records",), id="alias-comp-target"),
    pytest.param(
        "def memo(k, cache=CACHE):\n    cache[k] = 1", ("CACHE",), id="alias-parameter-default"
    ),
    pytest.param("add = seen.add\nadd(1)", ("seen",), id="alias-bound-method"),
    pytest.param("with model:\n    layer()", ("model",), id="context-manager"),
    pytest.param("class User(Base):\n    pass", ("Base",), id="base-class"),
    pytest.param("@registry.add\ndef f():\n    pass", ("registry",), id="decorator-method"),
]


@pytest.mark.parametrize(("source", "mutates"), MUTATES)
def test_mutates(source: str, mutates: tuple[str, ...]) -> None:
    names = analyze(source)
    assert names.mutates == mutates
    assert set(names.mutates) <= set(names.reads)


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        pytest.param("import os\nimport a.b.c\nimport x.y as z", ("a", "os", "z"), id="plain"),
        pytest.param("from m import f as g, h", ("g", "h"), id="from"),
        pytest.param("import os\nos = None", (), id="rebound"),
        pytest.param(
            "try:\n    import ujson as json\nexcept ImportError:\n    import json",
            ("json",),
            id="conditional",
        ),
        pytest.param("def f():\n    global np\n    import numpy as np", ("np",), id="global"),
    ],
)
def test_imports(source: str, imports: tuple[str, ...]) -> None:
    names = analyze(source)
    assert names.imports == imports
    assert set(names.imports) <= set(names.binds)


def test_star_import_flag() -> None:
    names = analyze("from os.path import *\nfrom m import a")
    assert names.star_import is True
    assert names.binds == ("a",)
    assert analyze("from m import a").star_import is False


@pytest.mark.parametrize(
    ("source", "deletes"),
    [
        pytest.param("del x", ("x",), id="unbound"),
        pytest.param("x = 1\ndel x", ("x",), id="bound-then-deleted"),
        pytest.param("del x\nx = 2", (), id="bound-again"),
        pytest.param("del a, b\nb = 1", ("a",), id="one-bound-again"),
        pytest.param("if c:\n    del x", ("x",), id="conditional"),
        pytest.param("def f():\n    x = 1\n    del x", (), id="local"),
        pytest.param("del x\ndef f():\n    global x\n    x = 1", (), id="bound-again-by-global"),
        pytest.param("del d[k]", (), id="item"),
    ],
)
def test_deletes(source: str, deletes: tuple[str, ...]) -> None:
    assert analyze(source).deletes == deletes


def test_full_result() -> None:
    names = analyze(
        """\
        import pandas as pd
        frame["total"] = frame.a + frame.b
        summary = pd.DataFrame(rows)
        del scratch
        """
    )
    assert names == CellNames(
        reads=("frame", "rows", "scratch"),
        binds=("pd", "summary"),
        imports=("pd",),
        deletes=("scratch",),
        mutates=("frame", "rows"),
        star_import=False,
        modules=("pandas",),
    )


@pytest.mark.parametrize("source", ["def f(:\n    pass", "x = = 1", "x = 1\0", "if x:\nprint(x)"])
def test_syntax_error_gives_empty_result(source: str) -> None:
    assert analyze_cell(source) == CellNames((), (), (), (), (), False)


@needs_pep695
@pytest.mark.parametrize(
    ("source", "reads", "binds"),
    [
        pytest.param("type Vector = list[Scalar]", ("Scalar", "list"), ("Vector",), id="alias"),
        pytest.param(
            "def first[T: Bound](items: list[T]) -> T:\n    return items[0]",
            ("Bound", "list"),
            ("first",),
            id="generic-function",
        ),
        pytest.param(
            "class Box[T](Base[T]):\n    item: T", ("Base",), ("Box",), id="generic-class"
        ),
    ],
)
def test_type_parameters(source: str, reads: tuple[str, ...], binds: tuple[str, ...]) -> None:
    names = analyze(source)
    assert (names.reads, names.binds) == (reads, binds)


def test_long_operator_chain_is_walked_exactly() -> None:
    names = analyze_cell("z = " + " + ".join(["a"] * 1000))
    assert (names.reads, names.binds, names.mutates) == (("a",), ("z",), ())


def test_too_deep_to_walk_still_lists_everything() -> None:
    # Deeper than the recursion limit lets a visitor go, yet it parses: the walk falls back
    # to a scope-blind over-approximation rather than failing or returning nothing.
    names = analyze_cell("y = a" + ".b" * 700 + "\nz = c[0]\nz.append(1)\ndel w")
    assert set(names.reads) >= {"a", "c", "w"}
    assert set(names.binds) >= {"y", "z"}
    assert set(names.mutates) >= {"c"}


def test_long_synthetic_cell() -> None:
    block = """\
        import math as m{i}
        v{i} = source{i} + m{i}.pi
        if v{i} > limit:
            w{i} = [v{i} * k for k in range(n)]
        else:
            w{i} = None
        for item{i} in collection:
            acc.append(item{i})
        try:
            r{i} = compute(v{i})
        except ValueError as e:
            r{i} = fallback
        def f{i}(x, y=v{i}):
            return x + y + glob{i}
        print(w{i}, r{i})
        """
    source = "".join(textwrap.dedent(block).format(i=i) for i in range(36))
    assert len(source.splitlines()) >= 500
    names = analyze_cell(source)
    assert {"source0", "glob35", "limit", "collection", "acc", "compute", "fallback"} <= set(
        names.reads
    )
    assert {"v0", "w35", "r7", "f12", "item3", "m0"} <= set(names.binds)
    assert "v0" not in names.reads and "e" not in names.binds
    assert {"acc", "collection"} <= set(names.mutates)


@pytest.mark.parametrize(
    ("cell", "reads", "binds"),
    [
        ("%timeit f(1)", {"f"}, set()),
        ("%timeit -n 10 -r 3 g(x)", {"g", "x"}, set()),
        ("x?", {"x"}, set()),
        ("%pdoc obj.method", {"obj"}, set()),
        ("%time y = h(z)", {"h", "z"}, {"y"}),
        ("eval('a + 1')", {"a"}, set()),
        ("exec('b = c * 2')", {"c"}, {"b"}),
        ("%%time\nq = w + 1\n", {"w"}, {"q"}),
        ("%cd /var", set(), set()),  # not code
        ("%%file m.py\nimport secret_module\n", set(), set()),  # a file's text, not code
    ],
)
def test_code_in_magic_arguments_and_eval_strings_is_the_cells(cell, reads, binds):
    # as IPython gives the cell to the analysis: magics transformed into calls
    from IPython.core.inputtransformer2 import TransformerManager

    found = analyze_cell(TransformerManager().transform_cell(cell))
    assert set(found.reads) - {"get_ipython", "eval", "exec"} == reads
    assert set(found.binds) == binds


def test_star_imports_name_their_modules():
    found = analyze("from numpy import *\nfrom .local import *\ndef f():\n    pass\n")
    assert found.star_import and found.star_modules == ("numpy",)


def test_strings_given_to_a_function_that_evaluates_them_are_read_as_code() -> None:
    from isocell.analysis import names_in_strings_passed_to

    cell = "show('df', \"df.groupby('key').std()\", x=\"total + 1\")\nprint('not code here')"
    assert names_in_strings_passed_to(cell, ["show"]) == ("df", "total")
    assert names_in_strings_passed_to(cell, ["other"]) == ()
    assert names_in_strings_passed_to("show('1 +')", ["show"]) == ()
    assert names_in_strings_passed_to("broken (", ["show"]) == ()


def test_the_modules_a_cell_imports_at_module_level() -> None:
    # the notebook imports them while the child runs the cell (runner: import_ahead)
    source = (
        "import a.b as x, c\nfrom d.e import f\nfrom . import g\nfrom q import *\n"
        "def h():\n    import z\nif flag:\n    import w\nimport c"
    )
    assert analyze_cell(source).modules == ("a.b", "c", "d.e", "q", "w")


def test_import_ahead_imports_what_the_notebook_can_and_leaves_the_rest() -> None:
    from isocell.runner._cell import import_ahead

    sys.modules.pop("colorsys", None)
    import_ahead(("isocell_no_such_module", "colorsys"))
    assert "colorsys" in sys.modules and "isocell_no_such_module" not in sys.modules


def test_a_python2_cell_is_read_through_its_python3_rewrite() -> None:
    """A ``--python 2.7`` cell does not parse as Python 3; its names are found all the same
    (fissix rewrites its syntax, never its names)."""
    source = textwrap.dedent(
        """\
        print "total", total
        exec code in scope
        try:
            result = 10L * factor
        except ValueError, error:
            message = `error`
        if left <> right:
            raise KeyError, "differ"
        """
    )
    names = analyze_cell(source)
    builtin = {"print", "exec", "repr", "ValueError", "KeyError"}  # read as functions now
    assert set(names.reads) == {"total", "code", "scope", "factor", "left", "right"} | builtin
    assert set(names.binds) == {"result", "message"}


def test_a_cell_that_is_no_python_at_all_gives_no_names() -> None:
    assert analyze_cell("print 'x' +") == CellNames()
