"""Values from Variables and Connections cross tasks by being fetched again, never stored
(:mod:`isocell.dag._secrets`). Real Airflow runs of such DAGs are in test_airflow_export.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from isocell.dag import export_notebook
from isocell.dag._secrets import lookup_classes, secret_recipes
from isocell.errors import ExportError
from tests.test_export import notebook

CLASSES = frozenset({"Variable", "C"})


def function(text: str, name: str) -> ast.FunctionDef:
    """The task function ``name`` of a DAG file."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(f"no task {name}")


def stored(text: str, name: str) -> set[str]:
    """The names task ``name`` stores (its return value's keys)."""
    for node in ast.walk(function(text, name)):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            return {key.value for key in node.value.args[0].keys}  # type: ignore[attr-defined]
    return set()


@pytest.mark.parametrize(
    ("code", "secrets"),
    [
        ("t = Variable.get('k')", {"t"}),
        ("c = C.get('db')\nuri = c.get_uri()\nhost = c.host", {"c", "uri", "host"}),
        ("t = Variable.get('k')\nh = {'a': 1}\nh['auth'] = f'Bearer {t}'", {"t", "h"}),
        ("t = Variable.get('k')\nparts = []\nparts.append(t)", {"t", "parts"}),
        ("import json\nt = Variable.get('k')\nbody = json.dumps({'t': t})", {"t", "body"}),
        ("t = Variable.get('k')\nn = len(t)\nok = t == 'x'", {"t"}),
        ("t = Variable.get('k')\nt = len(t)", set()),  # rebound to a value with no secret
        ("t = Variable.get('k')\ndata = read_sql('q', t)", {"t"}),  # work is not redone
        ("x = other.get('k')", set()),
    ],
)
def test_which_names_hold_a_secret(code: str, secrets: set[str]) -> None:
    assert set(secret_recipes(code, CLASSES)) == secrets


def test_a_recipe_is_the_backward_slice_of_the_name() -> None:
    code = (
        "base = 'https://api.example'\nprint('start')\ntoken = Variable.get('api_token')\n"
        "unrelated = 3\nheaders = {'base': base}\nheaders['auth'] = token\nprint(headers)"
    )
    recipe = secret_recipes(code, CLASSES)["headers"]
    assert recipe.statements == (
        "base = 'https://api.example'",
        "token = Variable.get('api_token')",
        "headers = {'base': base}",
        "headers['auth'] = token",
    )
    assert recipe.lines == (1, 3, 5, 6) and recipe.reads == frozenset({"Variable"})


def test_a_secret_given_to_a_cell_taints_what_it_builds() -> None:
    recipes = secret_recipes("url = f'{base}?key={token}'", CLASSES, frozenset({"token"}))
    assert set(recipes) == {"url"} and recipes["url"].reads == frozenset({"base", "token"})


def test_the_classes_are_found_under_their_aliases() -> None:
    sources = ["from isocell import Variable, Connection as C", "import isocell", "x = ("]
    assert lookup_classes(sources) == frozenset({"Variable", "C"})


def test_a_task_reading_a_secret_fetches_it_again(tmp_path: Path) -> None:
    path = notebook(
        tmp_path,
        "from isocell import Variable, Connection as C\nbase = 'https://api.example'\n"
        "token = Variable.get('api_token')\nheaders = {'Accept': 'json'}\n"
        "headers['Authorization'] = f'Bearer {token}'\nsize = len(token)\n"
        "uri = C.get('wh').get_uri()",
        "%%isolated --name fetch\nimport json\nreply = json.dumps([base, headers, size])\n"
        "full = uri + '/x'",
        "print(reply, full, size)",
    )
    result = export_notebook(path, tmp_path / "dags")
    text = result.text
    assert result.tasks[:2] == ("base", "fetch")  # the last cell binds nothing: cell_<hash>
    assert result.tasks[2].startswith("cell_") and len(result.tasks[2]) == len("cell_") + 6
    assert stored(text, "base") == {"base", "size"}  # no token, headers nor uri
    assert stored(text, "fetch") == set()  # reply and full hold the secrets
    assert [a.arg for a in function(text, "fetch").args.args] == [
        "base",
        "size",
        "airflow_lookups",
    ]
    body = ast.unparse(function(text, result.tasks[2]))
    for line in (
        "token = Variable.get('api_token')",
        "headers['Authorization']",
        "uri = C.get('wh').get_uri()",
        "reply = json.dumps([base, headers, size])",
        "full = uri + '/x'",
    ):
        assert line in body, body
    assert "print('hi')" not in body
    assert 'conn["wh"].as_json()' in text and 'var.value.get("api_token"' in text


def test_a_secret_computed_by_more_than_assignments_is_an_export_error(tmp_path: Path) -> None:
    path = notebook(
        tmp_path,
        "from isocell import Variable\nparts = []\nfor key in ('a', 'b'):\n"
        "    parts.append(Variable.get('k'))",
        "print(parts)",
    )
    with pytest.raises(ExportError, match="'parts' holds a value from a Variable") as raised:
        export_notebook(path, tmp_path / "dags")
    message = str(raised.value)
    assert "cell 1" in message and "line 3" in message and "cell 2 reads it" in message
