"""Opening the cache's connections: a writer and a reader (creating the file and bringing
its schema up to date), or a reader alone that cannot write."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import aiosqlite

from vmstui.errors import CacheError
from vmstui.store import queries, schema


async def reader(location: str, *, uri: bool = False) -> aiosqlite.Connection:
    db = await aiosqlite.connect(location, isolation_level=None, uri=uri)
    try:
        await schema.configure(db, writer=False)
        await db.create_function("topic_match", 2, queries.topic_match, deterministic=True)
    except BaseException:
        await db.close()
        raise
    return db


async def writable(path: Path) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
    file = await asyncio.to_thread(schema.prepare_files, path)
    writer_db = await aiosqlite.connect(file, isolation_level=None)
    try:
        await schema.configure(writer_db, writer=True)
        await schema.migrate(writer_db, file)
        await schema.probe(writer_db)
        return writer_db, await reader(str(file))
    except BaseException:
        await writer_db.close()
        raise


SQLITE_CANTOPEN = 14


def read_only_uri(path: Path) -> str:
    if not path.exists():
        raise CacheError(f"no cache at {path}")
    return f"{path.absolute().as_uri()}?mode=ro"


def immutable_uri(path: Path, uri: str) -> str | None:
    """Reading a WAL cache goes through its -shm index, which SQLite makes beside the file
    if missing; where it cannot write (a read-only mount, a folder not ours) and none is
    there, nobody is writing the cache (a writer makes one), so it reads as `immutable=1`.
    Not when a -wal still holds pages that only that index would find. None: not the case."""
    if os.access(path.parent, os.W_OK) or path.with_name(path.name + "-shm").exists():
        return None
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise CacheError(
            f"cache {path} cannot be read here: its -wal holds recent writes, and reading "
            "them needs a folder it can write to; copy the cache (with its -wal) elsewhere"
        )
    return uri + "&immutable=1"


async def read_only(path: Path) -> aiosqlite.Connection:
    """The reader alone, on a connection that cannot write (`mode=ro`). A cache of an older
    schema is brought up to date first: migrations only add, they never delete a row."""
    uri = await asyncio.to_thread(read_only_uri, path)
    try:
        return await _read_only(path, uri)
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", None) != SQLITE_CANTOPEN:
            raise
        immutable = await asyncio.to_thread(immutable_uri, path, uri)
        if immutable is None:
            raise
        return await _read_only(path, immutable)


async def _read_only(path: Path, uri: str) -> aiosqlite.Connection:
    reader_db = await reader(uri, uri=True)
    try:
        version = await schema.user_version(reader_db)
        if version < schema.SCHEMA_VERSION:
            await reader_db.close()
            writer_db, reader_db = await writable(path)
            await writer_db.close()
            await reader_db.close()
            reader_db = await reader(uri, uri=True)
        schema.refuse_newer(version, path)
        await schema.probe(reader_db)
    except BaseException:
        await reader_db.close()
        raise
    return reader_db
