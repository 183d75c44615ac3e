"""Tab completion of an ``%%isolated`` cell's first line, by the kernel (any frontend).

IPython asks each of its matchers for completions (``IPCompleter.custom_matchers``, the API
of IPython >= 8.6, ``IPython.core.completer.context_matcher``). This one answers on the first
line of a cell that starts with ``%%isolated`` (or ``%%branch``): the options of the options
table after ``-``; after ``--env``, the named environments (the registry); after
``--python``, the Python versions and interpreters found (``isocell pythons``, whose probes
are cached); after ``--builder``, the builders. Elsewhere it says nothing, so IPython's own
completions stand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["complete_options", "register_completer"]

_MAGICS = ("%%isolated",)


def _environment_names() -> list[str]:
    from isocell.envs import Registry, isocell_home

    return [entry.name for entry in Registry(isocell_home()).all()]


def _pythons() -> list[str]:
    from isocell.envs import find_interpreters

    found = find_interpreters()
    versions = {".".join(map(str, i.version[:2])): None for i in found}
    return [*versions, *(i.path for i in found)]


#: What each option's value may be: a function giving the candidates.
VALUES: dict[str, Callable[[], list[str]]] = {
    "--env": _environment_names,
    "--python": _pythons,
}


def complete_options(line: str) -> tuple[list[str], str]:
    """Completions for the first line of an isolated cell, up to the cursor: the candidates
    and the fragment they replace (the word being typed). Empty where this has nothing to
    offer (another line, another magic, a value typed freely).

    Raises nothing: a registry or interpreter search that fails gives no candidates.
    """
    from isocell.options import OPTIONS

    words = line.split()
    if not words or words[0] not in _MAGICS:
        return [], ""
    fragment = "" if line[-1:].isspace() else words[-1]
    before = words[:-1] if fragment else words
    if len(before) < 1 or (fragment == "" and len(before) == 1 and not line.endswith(" ")):
        return [], ""
    previous = before[-1] if len(before) > 1 else ""
    option = next((o for o in OPTIONS if previous in o.flags and not o.flag), None)
    if option is not None and (option.nargs is None or not fragment.startswith("-")):
        if option.choices:
            candidates = list(option.choices)
        elif previous in VALUES:
            try:
                candidates = VALUES[previous]()
            except Exception:  # a damaged registry, a failing probe: nothing to offer
                candidates = []
        else:
            return [], fragment
        return [c for c in candidates if c.startswith(fragment)], fragment
    if fragment == "" or fragment.startswith("-"):
        flags = [f for o in OPTIONS for f in o.flags if f.startswith("--")]
        return [f for f in flags if f.startswith(fragment)], fragment
    return [], fragment


def register_completer(shell: Any) -> Callable[..., Any] | None:
    """Add the matcher to ``shell``'s completer; returns it (for removal), or None where the
    IPython has no matcher API (before 8.6) or no completer."""
    try:
        from IPython.core.completer import SimpleCompletion, context_matcher
    except ImportError:
        return None
    completer = getattr(shell, "Completer", None)
    if completer is None:
        return None

    @context_matcher(priority=50)  # type: ignore[misc]
    def isolated_options(context: Any) -> dict[str, Any]:
        if context.cursor_line != 0:
            return {"completions": [], "suppress": False}
        line = context.text_until_cursor
        if not line.split() or line.split()[0] not in _MAGICS:
            return {"completions": [], "suppress": False}
        # the magic's line is this matcher's alone: Python's keywords and names mean nothing
        # there (with no named environment, `--env ` offers nothing rather than `and`, `if`)
        candidates, fragment = complete_options(line)
        # IPython lets only a matcher with completions suppress the others: with nothing to
        # offer, the one completion is what is typed already (a no-op)
        completions = [SimpleCompletion(text=c, type="isocell") for c in candidates or [fragment]]
        # the fragment the candidates replace: what IPython takes as the token may stop at a
        # '-' or '.'
        return {"completions": completions, "suppress": True, "matched_fragment": fragment}

    completer.custom_matchers.append(isolated_options)
    return isolated_options  # type: ignore[no-any-return]
