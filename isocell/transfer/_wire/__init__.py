"""The wire format shared by both sides: these modules also run, from source, in each child.

Every module here must run on any CPython >= 3.8 with the standard library, importing
numpy, pandas, pyarrow and cloudpickle only inside the functions that need them, and
importing its siblings only relatively (``from . import arrays``): in a child, they are
executed as submodules of a package named ``__isocell__``.
"""

# The modules are imported by name (``from isocell.transfer._wire import codec``), and run
# from source in children: the package itself exports nothing.
__all__ = []  # type: list[str]
