"""What a failure of SQLite means for the cache: the one place that tells a full disk, a
damaged file and a file that is not a cache apart, and words them for the operator."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from vmstui.errors import CacheError, CacheFull, CacheUnusable

# SQLite's primary result codes (the low byte of an extended one).
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_NOTADB = 26
# Growing the -shm index failed: its one-byte write per page is how SQLite meets ENOSPC there.
SQLITE_IOERR_SHMSIZE = 4874

FULL_TEXT = "database or disk is full"


def _code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def is_disk_full(error: BaseException) -> bool:
    """A write that failed for want of space (SQLITE_FULL, ENOSPC): worth retrying later."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(error, sqlite3.Error):
        return False
    code = _code(error)
    if code is not None and (code & 0xFF == SQLITE_FULL or code == SQLITE_IOERR_SHMSIZE):
        return True
    return FULL_TEXT in str(error)


def is_damage(error: BaseException) -> bool:
    """The file is not a database, or its pages do not read as one."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = _code(error)
    if code is not None:
        return code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)
    text = str(error)
    return "malformed" in text or "not a database" in text


def free_space(path: Path) -> str:
    """`12 KiB free` on the file system of `path`, for the message (empty if unknown)."""
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return ""
    return f"{info.f_bavail * info.f_frsize // 1024} KiB free"


def full(path: Path, doing: str) -> CacheFull:
    space = free_space(path)
    return CacheFull(
        f"cache {path}: disk full{f' ({space})' if space else ''} while {doing}: make space "
        "on its file system (or set [cache] path to another one), then start again"
    )


def unusable(path: Path, error: BaseException) -> CacheUnusable:
    """The words for a damaged file, or one that is not a database at all."""
    code = _code(error)
    if (code is not None and code & 0xFF == SQLITE_NOTADB) or "not a database" in str(error):
        return CacheUnusable(
            f"cache {path} is not an SQLite database (another program's file, or its first "
            "page is damaged): set [cache] path to another file, or move this one away"
        )
    return CacheUnusable(
        f"cache {path} is damaged ({error}): `vmstui cache recover --cache {path} --to NEW` "
        "copies what still reads into a new cache; or move it away to start an empty one"
    )


def translate(path: Path, error: BaseException, doing: str) -> BaseException:
    """The operator's error for a SQLite failure while `doing` something with the cache at
    `path`; any other error as it is."""
    if isinstance(error, CacheError):
        return error
    if is_damage(error):
        return unusable(path, error)
    if is_disk_full(error):
        return full(path, doing)
    return error


def at_open(path: Path, error: BaseException) -> BaseException:
    """As `translate`; any other SQLite failure at open (no permission, a read-only medium,
    a directory) is also the user's to fix, in one line."""
    translated = translate(path, error, "opening it")
    if translated is error and isinstance(error, sqlite3.Error):
        return CacheError(f"cache {path} cannot be opened: {error}")
    return translated
