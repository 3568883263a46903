"""The engine's compiled code on disk, kept only as long as every engine file is unchanged.

Numba keys a function's cached machine code by the source of the function's own file, but the
machine code of :func:`.loop.run_epochs` holds :mod:`.maths`' and :mod:`.blas`' functions too:
after an edit of ``maths.py`` alone, the loop cached before it would still run the old maths
(and the tests pass on code that is no longer there). :func:`key_by_all_files` keys every
cached function of a module by the source of all the engine's compiled files instead.
"""

from __future__ import annotations

import functools
import hashlib
import os

FILES = ("blas.py", "maths.py", "loop.py")  # the engine's compiled code, callee first


@functools.cache
def sources_stamp(folder: str) -> bytes:
    """A digest of the engine's compiled files in ``folder``."""
    digest = hashlib.sha256()
    for name in FILES:
        with open(os.path.join(folder, name), "rb") as file:
            digest.update(file.read())
    return digest.digest()


def key_by_all_files(namespace: dict) -> None:
    """Key the disk cache of every compiled function in a module's ``namespace`` by
    :func:`sources_stamp` (call it before any of them runs). A Numba whose cache is built
    otherwise, or files that cannot be read (a zipped package: nothing cached), keep
    Numba's own key."""
    try:
        stamp = sources_stamp(os.path.dirname(os.path.abspath(namespace["__file__"])))
    except OSError:
        return
    for value in list(namespace.values()):
        cache_file = getattr(getattr(value, "_cache", None), "_cache_file", None)
        if getattr(value, "__module__", None) == namespace["__name__"] and \
                hasattr(cache_file, "_source_stamp"):
            cache_file._source_stamp = stamp
