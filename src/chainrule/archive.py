"""Reading an ``.npz`` archive without trusting it: nothing is inflated before it is checked.

``np.load`` inflates whatever an archive holds, allocates whatever shape an ``.npy`` header
declares, and keeps the last of two entries with one name. A model file is read here instead:

1. the end-of-directory record is read first, and an archive that lists more entries, or a
   larger central directory, than a model file can have is refused before the directory is
   parsed;
2. the directory's entry names are checked (``NAME.npy``, each once; no encryption; stored or
   deflated), before any entry is opened;
3. an entry is read only once its ``.npy`` header (a few hundred bytes, read on its own) shows
   the shape and dtype the caller expects, and the size the directory declares for the entry is
   exactly that header plus that array: so no entry can inflate past what the caller allowed,
   and no array is allocated from a declared shape the caller did not promise.

Object (pickled) arrays are never read: every expected dtype is a plain number or string type.
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import zipfile
from collections.abc import Callable

import numpy as np

Array = np.ndarray
HEADER_LIMIT = 10_000  # bytes of an .npy header (NumPy's own default limit)
DIRECTORY_ENTRY_LIMIT = 1024  # bytes of one central directory entry, name and extras included
_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\.npy")


class ArchiveError(ValueError):
    """The file is not a readable zip archive (truncated, corrupted, not a zip)."""


class Archive:
    """An ``.npz`` file opened for checked reading; use as a context manager.

    Parameters
    ----------
    path : str
        The file.
    max_entries : int
        The most entries the caller can use; an archive listing more is refused unread.

    Raises
    ------
    ValueError
        For anything but a zip archive of uniquely named ``.npy`` entries.
    """

    def __init__(self, path: str, max_entries: int) -> None:
        self.path = path
        self.file = open(path, "rb")  # noqa: SIM115 (closed by close / __exit__)
        try:
            try:
                self._check_directory(max_entries)
                self.zip = zipfile.ZipFile(self.file)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
                    struct.error) as error:
                raise ArchiveError(f"{type(error).__name__}: {error}") from None
            self.entries = self._entries()
        except BaseException:
            self.file.close()
            raise

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "zip", None) is not None:
            self.zip.close()
        self.file.close()

    @property
    def names(self) -> set[str]:
        """The arrays' names (entry names without ``.npy``)."""
        return set(self.entries)

    def _check_directory(self, max_entries: int) -> None:
        """Refuse, from the end-of-directory record alone, more entries than ``max_entries``
        or a central directory larger than they need."""
        size = os.fstat(self.file.fileno()).st_size
        tail_size = min(size, _END.size + 65535)  # the record, and a comment of up to 64 KiB
        self.file.seek(size - tail_size)
        tail = self.file.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END.size:
            raise ArchiveError("no zip directory at the end of the file (truncated?)")
        *_, entries, directory_size, _, _ = _END.unpack_from(tail, at)
        if entries == 0xFFFF or directory_size == 0xFFFFFFFF or _zip64(tail, at):
            entries, directory_size = self._zip64_sizes(size - tail_size + at)
        if entries > max_entries or directory_size > max_entries * DIRECTORY_ENTRY_LIMIT:
            raise ValueError(f"the archive lists {entries} entries in a directory of "
                             f"{directory_size} bytes; a model file has at most {max_entries}")

    def _zip64_sizes(self, end_at: int) -> tuple[int, int]:
        """Entries and directory size from the Zip64 end record (archives over 2 GiB)."""
        if end_at < _END64_LOCATOR.size:
            raise ArchiveError("broken zip directory")
        self.file.seek(end_at - _END64_LOCATOR.size)
        signature, _, offset, _ = _END64_LOCATOR.unpack(self.file.read(_END64_LOCATOR.size))
        if signature != b"PK\x06\x07":
            raise ArchiveError("broken zip64 directory")
        self.file.seek(offset)
        record = self.file.read(_END64.size)
        if len(record) != _END64.size or record[:4] != b"PK\x06\x06":
            raise ArchiveError("broken zip64 directory")
        *_, entries, directory_size, _ = _END64.unpack(record)
        return entries, directory_size

    def _entries(self) -> dict[str, zipfile.ZipInfo]:
        """The directory's entries by array name, each checked before anything is read."""
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            if not _NAME.fullmatch(info.filename):
                raise ValueError(f"unexpected entry {info.filename[:80]!r} (only NAME.npy "
                                 "arrays belong in a model file)")
            name = info.filename[:-4]
            if name in entries:
                raise ValueError(f"the entry {info.filename!r} appears twice")
            if info.flag_bits & 0x1:
                raise ValueError(f"the entry {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ValueError(f"the entry {info.filename!r} uses an unsupported compression")
            entries[name] = info
        return entries

    def read(self, name: str, check: Callable[[tuple[int, ...], np.dtype], None],
             max_bytes: float = math.inf) -> Array:
        """The array ``name``, read only after ``check(shape, dtype)`` accepted its header (it
        raises ``ValueError`` otherwise) and its declared size matched; at most ``max_bytes``."""
        info = self.entries[name]
        if info.file_size > max_bytes + HEADER_LIMIT + 16:
            raise ValueError(f"{name} declares {info.file_size} bytes, more than the "
                             f"{max_bytes:.0f} it may hold")
        with self.zip.open(info) as entry:
            start = entry.read(min(info.file_size, HEADER_LIMIT + 16))
            head = io.BytesIO(start)
            shape, fortran, dtype = _header(head, name)
            check(shape, dtype)
            if dtype.hasobject or dtype.kind not in "biufcU" or dtype.fields is not None:
                raise ValueError(f"{name} holds {dtype} values, not numbers (pickled objects "
                                 "are never loaded)")
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > max_bytes:
                raise ValueError(f"{name} of shape {shape} would take {nbytes} bytes, more "
                                 f"than the {max_bytes:.0f} it may hold")
            if info.file_size != head.tell() + nbytes:
                raise ValueError(f"{name} declares {info.file_size} bytes, but its header "
                                 f"promises {head.tell() + nbytes}")
            data = start[head.tell():] + entry.read(nbytes - (len(start) - head.tell()))
            if len(data) != nbytes:
                raise ValueError(f"{name} is truncated")
        array = np.frombuffer(data, dtype=dtype)
        return array.reshape(shape, order="F" if fortran else "C")


def _zip64(tail: bytes, at: int) -> bool:
    """Whether a Zip64 end-record locator sits just before the end record at ``tail[at]``."""
    return at >= _END64_LOCATOR.size and tail[at - _END64_LOCATOR.size:][:4] == b"PK\x06\x07"


def _header(head: io.BytesIO, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an ``.npy`` header (versions 1 and 2)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(head)
        if version == (1, 0):
            return fmt.read_array_header_1_0(head, max_header_size=HEADER_LIMIT)
        if version == (2, 0):
            return fmt.read_array_header_2_0(head, max_header_size=HEADER_LIMIT)
    except (ValueError, TypeError, SyntaxError, OverflowError) as error:
        raise ValueError(f"{name} has no valid .npy header ({error})") from None
    raise ValueError(f"{name} has .npy format {version}, not 1.0 or 2.0")
