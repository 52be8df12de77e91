"""One cache of compiled SQL for the engines of a process.

SQLAlchemy compiles a statement once per engine and keeps it in that
engine's cache, keyed by the engine's own dialect object. The engines this
process makes (the primary's, the autocommit engine of quick reads, each
replica's) are configured alike, so they share one cache (``STATEMENTS``):
a statement is compiled once a process, not once an engine. The tests gain
most: each builds an app, so engines, of its own, and compiling every
statement again was about a sixth of a typical test's time.

Engines share entries only when they are alike: made by ``create_engine``
here with the same dialect class and the same options that reach the
dialect (the JSON writer and reader, …: every option but the pool's, the
connection's arguments and the isolation level), on a server that reports
the same version. The statements of any other engine are keyed as
SQLAlchemy keys them, by its own dialect. What a PostgreSQL server reports
on connect besides its version (``standard_conforming_strings``, hstore)
is not in the key: this app renders no value into its SQL and has no
hstore column.

A compiled statement keeps the values bound when it was first compiled,
as in SQLAlchemy's own cache, until it is forgotten (at most ``MAX_ENTRIES``).
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import sqlalchemy
from sqlalchemy.engine import Engine

MAX_ENTRIES = 3000  # beside SQLAlchemy's 500 an engine: every engine's statements, and the tests'
# ``create_engine`` options that do not reach how a statement is compiled or its values bound and read.
OUTSIDE_COMPILATION = frozenset({"pool_size", "max_overflow", "pool_recycle", "pool_timeout", "pool_pre_ping",
                                 "poolclass", "connect_args", "isolation_level"})


class CompiledStatements:
    """A bounded, least-recently-used cache of compiled statements, shared by engines made alike.

    Given to SQLAlchemy as the ``compiled_cache`` execution option, which
    calls ``get`` and sets items; the first part of its key is the dialect,
    replaced here by what makes dialects alike.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict = OrderedDict()
        self._alike: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.compiled = 0  # statements compiled and kept here (SQLAlchemy compiles on a miss)

    def create_engine(self, url, **options) -> Engine:
        """``sqlalchemy.create_engine(url, **options)``, keeping its statements here, shared with the
        engines made alike."""
        if "execution_options" in options:
            raise TypeError("set execution options on the engine's connections")
        engine = sqlalchemy.create_engine(url, execution_options={"compiled_cache": self}, **options)
        reaching = sorted(((name, value) for name, value in options.items() if name not in OUTSIDE_COMPILATION),
                          key=lambda option: option[0])
        self._alike[engine.dialect] = (type(engine.dialect), tuple(reaching))
        return engine

    def _key(self, key):
        if type(key) is tuple and key:
            try:
                alike = self._alike.get(key[0])
            except TypeError:  # not a dialect: a key laid out otherwise, kept as it is
                return key
            if alike is not None:
                return (alike, key[0].server_version_info, *key[1:])
        return key

    def get(self, key, default=None):
        key = self._key(key)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return default
            self._entries.move_to_end(key)
            return found

    def __setitem__(self, key, compiled) -> None:
        key = self._key(key)
        with self._lock:
            self.compiled += 1
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


STATEMENTS = CompiledStatements()
