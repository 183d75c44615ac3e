"""What a plain cell needs before it runs: the values kept in child kernels that it reads.

An isolated cell keeps a matplotlib figure and what is drawn on it in its child
(:mod:`isocell.runner._kept`); a plain cell that reads one must get the real object. IPython
runs each AST transformer on a cell's code before it runs it: this one fetches them then.
Light on purpose: the runner is imported only once an isolated cell has made it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isocell.runner import KernelPool

__all__ = ["FetchKept"]


class FetchKept(ast.NodeTransformer):
    """An IPython AST transformer: before a plain cell runs, fetch the values kept in child
    kernels that it reads (``isocell.runner.fetch_read_kept``). The cell's code is left as
    it is; cell magics (``%%isolated``) see to their own inputs.

    Parameters
    ----------
    pool : callable
        Gives the notebook's kernel pool, or None while no isolated cell has made one.
    namespace : mutable mapping
        The notebook namespace.
    """

    def __init__(
        self, pool: Callable[[], KernelPool | None], namespace: MutableMapping[str, Any]
    ) -> None:
        self.pool = pool
        self.namespace = namespace

    def visit(self, node: ast.AST) -> Any:
        pool = self.pool()
        if pool is None or not isinstance(node, ast.Module):
            return node
        from isocell.runner import KeptInChild, fetch_read_kept

        if not any(isinstance(v, KeptInChild) for v in list(self.namespace.values())):
            return node
        try:
            fetch_read_kept(pool, ast.unparse(node), self.namespace)
        except Exception:  # IPython drops a transformer that raises; the stand-in says why
            pass
        return node
