"""String literals of a task body, rewritten so that they reach the task as they are."""

from __future__ import annotations

import ast
import io
import tokenize

__all__ = ["one_line_strings"]


def one_line_strings(code: str) -> str | None:
    """``code`` with every string literal that spans lines written as lines of implicit
    concatenation in parentheses (``("first\\n" "# second\\n" "last")``), each piece a
    Python literal of the same value; docstrings stay as they are, lines of theirs that start
    with ``#`` written ``\\x23`` (the same character).

    Why: a task body is indented into the DAG file, which would indent a literal's later lines
    too and change its value, and Airflow drops every line of a shipped task body that starts
    with ``#``, string contents included. None when an f-string spans lines (its expressions
    cannot be rewritten so), for the caller to ship the code another way.
    """
    try:
        docstrings = {
            (node.body[0].lineno, node.body[0].col_offset)
            for node in ast.walk(ast.parse(code))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
            and isinstance(node.body[0].value.value, str)
        }
    except SyntaxError:
        return None
    # Python >= 3.12 tokenizes an f-string in parts, from FSTRING_START to FSTRING_END
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    opened: list[int] = []  # the lines of the f-strings open at this token
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == fstring_start:
            opened.append(token.start[0])
        elif token.type == fstring_end and opened.pop() != token.end[0]:
            return None
        if token.type != tokenize.STRING:
            continue
        if token.start[0] == token.end[0]:
            continue
        prefix = token.string[: len(token.string) - len(token.string.lstrip("rRbBuUfF"))]
        if "f" in prefix.lower():
            return None  # Python < 3.12 tokenizes an f-string as one STRING token
        if token.start in docstrings:
            text = "\n".join(
                line[: len(line) - len(line.lstrip())] + "\\x23" + line.lstrip()[1:]
                if number and line.lstrip().startswith("#")
                else line
                for number, line in enumerate(token.string.split("\n"))
            )
        else:
            pieces = ast.literal_eval(token.string).splitlines(keepends=True)
            text = "(" + " ".join(repr(piece) for piece in pieces) + ")"
        begin = starts[token.start[0] - 1] + token.start[1]
        end = starts[token.end[0] - 1] + token.end[1]
        edits.append((begin, end, text))
    for begin, end, text in reversed(edits):
        code = code[:begin] + text + code[end:]
    return code
