"""SQL polling: read new rows of an agency table or view by a persisted (watermark, key) high-water mark.

Rows are read in (watermark, key) order with `WHERE wm > :v OR (wm = :v AND key > :k)`, so rows
sharing a watermark value are neither skipped nor read twice. Every identifier (table, schema,
columns) must name a real table and its real columns, found by reflection; SQL is built with
SQLAlchemy Core (quoted identifiers, bound parameters), never by pasting names into SQL text.
The mark advances only after the batch is submitted and flushed; a crash before that re-reads
the batch, and the intake journal turns those rows into duplicates.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from connectors.intake.cells import cell_refusal
from connectors.intake.codes import RefusalCode
from connectors.intake.refused import RowColumns
from connectors.intake.submit import Intake, IntakeOutcome, Origin, Submission
from connectors.intake.tables import sqlpoll_watermarks
from connectors.mappings import RowRejected, map_row, read_cells, standard_fields
from connectors.mappings.config import FeedMapping
from runtime.settings import Settings

log = structlog.get_logger("connectors.sqlpoll")


class SqlSourceError(ValueError):
    """A SQL source names a table or column that does not exist (or is not a plain name)."""


@dataclass(frozen=True)
class SqlSource:
    """A table or view to poll: watermark column, unique tie-breaker key, selected columns, feed mapping."""

    name: str
    table: str
    watermark: str
    key: str
    columns: tuple[str, ...]
    mapping: FeedMapping

    @classmethod
    def from_mapping(cls, mapping: FeedMapping) -> "SqlSource":
        """The SQL source a feed mapping declares under applies_to.sql."""
        if mapping.sql is None:
            raise SqlSourceError(f"feed {mapping.name} has no sql source")
        spec = mapping.sql
        return cls(mapping.name, spec.table, spec.watermark, spec.key, spec.columns, mapping)


def reflect_source(engine: Engine, source: SqlSource) -> tuple[sa.Table, list[sa.Column]]:
    """The reflected table and its selected columns; SqlSourceError unless every name really exists."""
    schema, _, name = source.table.rpartition(".")
    schema_or_none = schema or None
    for identifier in (schema, name, source.watermark, source.key, *source.columns):
        if len(identifier) > 128 or any(ch in identifier for ch in "\x00\n\r"):
            raise SqlSourceError(f"source {source.name}: an identifier is too long or has control characters")
    inspector = sa.inspect(engine)
    try:
        known = set(inspector.get_table_names(schema_or_none)) | set(inspector.get_view_names(schema_or_none))
    except sa.exc.SQLAlchemyError as exc:
        raise SqlSourceError(f"source {source.name}: unknown schema") from exc
    if name not in known:
        raise SqlSourceError(f"source {source.name}: no table or view of that name")
    table = sa.Table(name, sa.MetaData(), schema=schema_or_none, autoload_with=engine)
    wanted = list(dict.fromkeys((source.watermark, source.key, *source.columns)))
    missing = [c for c in wanted if c not in table.c]
    if missing:
        raise SqlSourceError(f"source {source.name}: {len(missing)} selected column(s) do not exist in the table")
    return table, [table.c[c] for c in wanted]


def _lenient_text(dbapi_connection: Any, _record: Any) -> None:
    """SQLite text read with surrogateescape, so bad UTF-8 shows up as a cell flaw instead of a failed fetch."""
    dbapi_connection.text_factory = lambda data: data.decode("utf-8", "surrogateescape")


def _as_text(value: Any) -> Any:
    """A database value as the text a mapping reads (ISO for times; aware times keep their offset; bytes stay)."""
    if value is None or isinstance(value, bytes | bytearray | memoryview):
        return bytes(value) if value is not None else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _mark_text(value: Any) -> str | None:
    return str(value) if isinstance(value, bytes) else _as_text(value)


def _from_text(text: str, column: sa.Column) -> Any:
    """A stored watermark text back as the column's Python type, for a correctly typed comparison."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return text
    if kind is datetime:
        return datetime.fromisoformat(text)
    if kind is date:
        return date.fromisoformat(text)
    if kind in (int, float, Decimal):
        return kind(text)
    return text


class SqlPoller:
    """Polls one SQL source into the intake, keeping its high-water mark in sqlpoll_watermarks."""

    def __init__(self, source_engine: Engine, source: SqlSource, intake: Intake, watermarks_engine: Engine,
                 batch_size: int = 500, max_cell_chars: int = 1000) -> None:
        self.engine = source_engine
        self.source = source
        self.intake = intake
        self.watermarks = watermarks_engine
        self.batch_size = batch_size
        self.max_cell_chars = max_cell_chars
        if source_engine.dialect.name == "sqlite":  # a row of bad UTF-8 must refuse that row, not the whole batch
            sa.event.listen(source_engine, "connect", _lenient_text)
            source_engine.dispose()
        self.table, self.selected = reflect_source(source_engine, source)
        self.wm_col = self.table.c[source.watermark]
        self.key_col = self.table.c[source.key]

    def mark(self) -> tuple[Any, Any] | None:
        """The persisted (watermark, key) of the last row handled, typed like the columns; None before any."""
        with self.watermarks.connect() as conn:
            row = conn.execute(sa.select(sqlpoll_watermarks.c.last_value, sqlpoll_watermarks.c.last_key)
                               .where(sqlpoll_watermarks.c.source == self.source.name)).first()
        if row is None or row.last_value is None:
            return None
        return _from_text(row.last_value, self.wm_col), _from_text(row.last_key, self.key_col)

    def query(self, mark: tuple[Any, Any] | None) -> sa.Select:
        """The next batch: rows after the mark in (watermark, key) order; NULL watermarks are never read."""
        statement = sa.select(*self.selected).where(self.wm_col.is_not(None))
        if mark is not None:
            value = sa.bindparam("v", mark[0], type_=self.wm_col.type)
            key = sa.bindparam("k", mark[1], type_=self.key_col.type)
            statement = statement.where(sa.or_(self.wm_col > value, sa.and_(self.wm_col == value, self.key_col > key)))
        return statement.order_by(self.wm_col, self.key_col).limit(sa.bindparam("n", self.batch_size))

    def poll_once(self) -> int:
        """Read, submit and flush one batch, then advance the mark; returns the number of rows read."""
        with self.engine.connect() as conn:
            rows = conn.execute(self.query(self.mark())).mappings().all()
        if not rows:
            return 0
        self.intake.submit_many([self._submission(row) for row in rows])  # one journal commit for the batch
        self.intake.flush()
        last = rows[-1]
        self._save_mark(last[self.source.watermark], last[self.source.key])
        log.info("sqlpoll.batch", source=self.source.name, rows=len(rows))
        return len(rows)

    def poll_all(self) -> int:
        """Poll batches until the source has nothing new; returns the rows read."""
        total = 0
        while (count := self.poll_once()) > 0:
            total += count
            if count < self.batch_size:
                break
        return total

    def _submission(self, row: Any) -> Submission | IntakeOutcome:
        values = {name: _as_text(row[name]) for name in row.keys()}
        mapping = self.source.mapping
        key = values[self.source.key]
        key = (key if isinstance(key, str) and key.isascii() and key.isprintable() else ascii(key))[:120]
        origin = Origin("sqlpoll", mapping.agency, f"sql:{self.source.table}#{self.source.key}={key}")
        raw = json.dumps(values, ensure_ascii=True, sort_keys=True, default=bytes.hex).encode("ascii")
        columns = RowColumns(values, dropped=frozenset(mapping.drop) & set(values))
        name = standard_fields(mapping, values)[0].get("person_name")
        names = [name] if isinstance(name, str) and name.strip() else []
        cells, name_columns = read_cells(mapping, values)
        if refused := cell_refusal(cells, self.max_cell_chars, name_columns):
            code, errors = refused
            return self.intake.refuse(origin, raw, "a value cannot be read", errors, mapping.topic,
                                      "application/json", clear_names=names, code=code, columns=columns)
        try:
            mapped = map_row(mapping, values)
        except RowRejected as rejected:
            return self.intake.refuse(origin, raw, "mapping failed", rejected.errors, mapping.topic,
                                      "application/json", clear_names=names, code=RefusalCode.MAPPING_FAILED, columns=columns)
        return Submission(mapping.topic, mapped.record, origin, raw=raw, clear_names=names, columns=columns)

    def _save_mark(self, value: Any, key: Any) -> None:
        fields = {"last_value": _mark_text(value), "last_key": _mark_text(key), "updated_at": datetime.now(UTC)}
        table = sqlpoll_watermarks
        with self.watermarks.begin() as conn:
            updated = conn.execute(table.update().where(table.c.source == self.source.name).values(**fields))
            if updated.rowcount == 0:
                conn.execute(table.insert().values(source=self.source.name, **fields))


def source_url(settings: Settings, mapping: FeedMapping) -> str:
    """The database URL of a SQL feed: its url_env variable, else settings.sqlpoll_source_url."""
    assert mapping.sql is not None
    if mapping.sql.url_env:
        url = os.environ.get(mapping.sql.url_env)
        if url:
            return url
    if settings.sqlpoll_source_url is None:
        raise SqlSourceError(f"feed {mapping.name}: set {mapping.sql.url_env or 'DRIVE_SQLPOLL_SOURCE_URL'}")
    return settings.sqlpoll_source_url.get_secret_value()
