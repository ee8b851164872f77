"""File drop: agencies leave CSV / JSON-lines extracts in root/<agency>/incoming/; each row goes through the intake.

Conventions (see connectors/mappings/sample_config/README.md):
- A file is picked up when complete: a marker `<file>.done` beside it, or no change for `settle_s`
  (default poll_s). Write under a hidden or `.tmp`/`.part` name and rename into place.
- Only plain regular files directly in incoming/ are read: hidden names, symlinks, hard-linked
  files, directories and anything resolving outside the root are refused with a logged reason.
- After all rows are submitted and flushed `<file>.report.json` goes to done/ (every row accepted
  or duplicate) or failed/ (any row refused, or the file unusable). The extract itself is not kept
  in clear: under done/ it is deleted (its rows are in the journal), under failed/ it is kept only
  sealed as `<file>.sealed` (DRIVE_DEAD_LETTER_KEY) until the dead-letter retention ends.
- Crash safety: event ids are deterministic and the intake journals by event id, so processing
  the same file again after a crash publishes only rows not yet published.
"""
from __future__ import annotations

import json
import os
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from connectors.filedrop.rows import CSV_TYPE, FileProblem, SourceRow, content_type, read_rows
from connectors.intake.cells import cell_refusal
from connectors.intake.codes import RefusalCode
from connectors.intake.refused import RowColumns
from connectors.intake.sealed import SEALED_SUFFIX, purge_sealed_files
from connectors.intake.submit import Intake, IntakeOutcome, Origin, Submission
from connectors.mappings import RowRejected, map_row, read_cells, standard_fields
from connectors.mappings.config import FeedMapping
from schemas.jsonform import FieldError

log = structlog.get_logger("connectors.filedrop.watcher")

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".done", ".report.json")


@dataclass
class FileReport:
    """What happened to one dropped file: where it went, per-file errors and one entry per row."""

    agency: str
    file: str
    feed: str | None
    status: str = "done"  # done | failed
    errors: list[dict[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The report as written to `<file>.report.json`."""
        return {"agency": self.agency, "file": self.file, "feed": self.feed, "status": self.status,
                "errors": self.errors, "rows": self.rows}


def _errors_json(errors: tuple[FieldError, ...] | list[FieldError]) -> list[dict[str, str]]:
    return [{"path": e.path, "message": e.message} for e in errors]


class FileDrop:
    """Watches every agency's incoming/ folder and feeds complete extracts to the intake."""

    def __init__(self, root: Path, intake: Intake, mappings: list[FeedMapping], poll_s: float,
                 max_bytes: int = DEFAULT_MAX_BYTES, settle_s: float | None = None, max_cell_chars: int = 1000,
                 batch_rows: int = 500) -> None:
        self.root = root.resolve()
        self.intake = intake
        self.mappings = [m for m in mappings if m.files]
        self.poll_s = poll_s
        self.settle_s = poll_s if settle_s is None else settle_s
        self.max_bytes = max_bytes
        self.max_cell_chars = max_cell_chars
        self.batch_rows = batch_rows  # rows journaled per commit
        self._refused: set[str] = set()
        for agency in self.agencies:
            if (self.root / agency).is_symlink():
                continue  # never create anything through a symlink; scanning refuses the agency
            for folder in self._folders(agency):
                if not folder.is_symlink():
                    folder.mkdir(parents=True, exist_ok=True)

    @property
    def agencies(self) -> list[str]:
        """Agencies with at least one file feed."""
        return sorted({m.agency for m in self.mappings})

    # ------------------------------------------------------------------ scanning

    def ready_files(self, now: float | None = None) -> list[tuple[str, Path]]:
        """(agency, path) of every complete, safe file waiting in an incoming/ folder, oldest first."""
        now = time.time() if now is None else now
        found: list[tuple[float, str, str, Path]] = []
        for agency in self.agencies:
            incoming = self._incoming(agency)
            if incoming is None:
                continue
            for entry in os.scandir(incoming):
                path = incoming / entry.name
                if self._skippable(entry.name) or not self._safe(agency, path, entry):
                    continue
                st = entry.stat(follow_symlinks=False)
                marked = (incoming / f"{entry.name}.done").is_file()
                if marked or now - st.st_mtime >= self.settle_s:
                    found.append((st.st_mtime, agency, entry.name, path))
        return [(agency, path) for _, agency, _, path in sorted(found)]

    def _folders(self, agency: str) -> tuple[Path, Path, Path]:
        return tuple(self.root / agency / name for name in ("incoming", "done", "failed"))  # type: ignore[return-value]

    def _incoming(self, agency: str) -> Path | None:
        """The agency's incoming folder, unless it or its agency, done or failed folder is a symlink."""
        for part in (self.root / agency, *self._folders(agency)):
            if part.is_symlink() or not part.is_dir():
                self._refuse_path(agency, part.name, "agency folder is a symlink or missing")
                return None
        return self.root / agency / "incoming"

    @staticmethod
    def _skippable(name: str) -> bool:
        """Names still being written (hidden, .tmp, .part) and our own markers are not files to read."""
        return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)

    def _safe(self, agency: str, path: Path, entry: os.DirEntry[str]) -> bool:
        if entry.is_symlink():
            return self._refuse_path(agency, entry.name, "symlinks are not followed")
        st = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            return self._refuse_path(agency, entry.name, "not a regular file")
        if st.st_nlink > 1:
            return self._refuse_path(agency, entry.name, "hard-linked file (may live outside the drop)")
        if path.resolve().parent != self.root / agency / "incoming":
            return self._refuse_path(agency, entry.name, "resolves outside the agency's incoming folder")
        return True

    def _refuse_path(self, agency: str, name: str, reason: str) -> bool:
        key = f"{agency}/{name}:{reason}"
        if key not in self._refused:  # say it once, not on every poll
            self._refused.add(key)
            log.warning("filedrop.refused_path", agency=agency, file=name, reason=reason)
        return False

    # ------------------------------------------------------------------ processing

    def run_once(self) -> list[FileReport]:
        """Process every ready file once; a file whose processing fails (e.g. database down) stays for later."""
        reports = []
        retention_days = self.intake.vault.retention.total_seconds() / 86400
        for agency in self.agencies:
            failed = self.root / agency / "failed"
            if failed.is_dir() and not failed.is_symlink():
                purge_sealed_files(failed, retention_days, time.time())
        for agency, path in self.ready_files():
            try:
                reports.append(self.process_file(agency, path))
            except Exception as exc:  # noqa: BLE001 - leave the file in incoming/ and try again next poll
                log.error("filedrop.file_error", agency=agency, file=path.name, error=type(exc).__name__)
        return reports

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set."""
        log.info("filedrop.started", root=str(self.root), agencies=self.agencies)
        while not stop.is_set():
            self.run_once()
            self.intake.flush()  # also the journal's housekeeping (retention) when no file came
            stop.wait(self.poll_s)

    def mapping_for(self, agency: str, file_name: str) -> FeedMapping | None:
        """The first feed of the agency whose file patterns match the name."""
        return next((m for m in self.mappings if m.agency == agency and m.matches_file(file_name)), None)

    def process_file(self, agency: str, path: Path) -> FileReport:
        """Submit every row of one file, flush, then move it with its report to done/ or failed/."""
        mapping = self.mapping_for(agency, path.name)
        report = FileReport(agency, path.name, mapping.name if mapping else None)
        try:
            if mapping is None:
                raise FileProblem("no feed mapping of this agency matches the file name")
            batch: list[SourceRow] = []
            for row in read_rows(path.name, self._read(path)):
                batch.append(row)
                if len(batch) >= self.batch_rows:
                    report.rows.extend(self._rows(agency, path.name, mapping, batch))
                    batch = []
            report.rows.extend(self._rows(agency, path.name, mapping, batch))
        except FileProblem as problem:
            report.errors.append({"path": "file", "message": str(problem)})
        self.intake.flush()
        if report.errors or any(r["status"] not in ("accepted", "duplicate") for r in report.rows):
            report.status = "failed"
        self._finish(agency, path, report)
        log.info("filedrop.file", agency=agency, file=path.name, feed=report.feed, status=report.status,
                 rows=len(report.rows), refused=sum(r["status"] not in ("accepted", "duplicate") for r in report.rows))
        return report

    def _read(self, path: Path) -> bytes:
        """The file's bytes, opened without following a symlink swapped in since the scan."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise FileProblem(f"cannot open: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FileProblem("not a regular file")
            data = handle.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise FileProblem(f"file larger than the limit of {self.max_bytes} bytes")
        return data

    def _rows(self, agency: str, file_name: str, mapping: FeedMapping, rows: list[SourceRow]) -> list[dict[str, Any]]:
        """Submit rows as one batch (one journal commit); their report entries."""
        kind = content_type(file_name)
        origins = [Origin("filedrop", agency, f"{agency}/{file_name}#row={row.number}") for row in rows]
        outcomes = self.intake.submit_many([self._submission(origin, mapping, row, kind)
                                            for origin, row in zip(origins, rows, strict=True)])
        return [self._report_row(row, outcome) for row, outcome in zip(rows, outcomes, strict=True)]

    def _report_row(self, row: SourceRow, outcome: IntakeOutcome) -> dict[str, Any]:
        errors = list(outcome.errors) or ([FieldError("", outcome.reason)] if outcome.reason else [])
        # The report stays on disk: its errors are scrubbed like a dead letter's (no value, no unknown name).
        scrubbed = self.intake.dead_letters.describer.errors(errors, row.values or (), row.values)
        return {"row": row.number, "status": outcome.status, "code": outcome.code,
                "event_id": outcome.event_id if outcome.status in ("accepted", "duplicate") else None,
                "errors": _errors_json(scrubbed)}

    def _submission(self, origin: Origin, mapping: FeedMapping, row: SourceRow, kind: str
                    ) -> Submission | IntakeOutcome:
        if row.values is None:
            problem = row.problem or "unreadable row"
            return self.intake.refuse(origin, row.raw, problem, (FieldError(row.path, problem, row.reason),),
                                      mapping.topic, kind, code=row.code)
        names = _clear_names(mapping, row.values)
        columns = RowColumns(row.values, tuple(row.values) if kind == CSV_TYPE else (),
                             frozenset(mapping.drop) & set(row.values))
        cells, name_columns = read_cells(mapping, row.values)
        if refused := cell_refusal(cells, self.max_cell_chars, name_columns):
            code, errors = refused
            return self.intake.refuse(origin, row.raw, "a cell cannot be read", errors, mapping.topic, kind,
                                      clear_names=names, code=code, columns=columns)
        try:
            mapped = map_row(mapping, row.values)
        except RowRejected as rejected:
            return self.intake.refuse(origin, row.raw, "mapping failed", rejected.errors, mapping.topic, kind,
                                      clear_names=names, code=RefusalCode.MAPPING_FAILED, columns=columns)
        return Submission(mapping.topic, mapped.record, origin, raw=row.raw, content_type=kind, clear_names=names,
                          columns=columns)

    def _finish(self, agency: str, path: Path, report: FileReport) -> None:
        """Write the report, seal a failed file, then remove the original (a crash in between leaves it to retry)."""
        target_dir = self.root / agency / report.status
        target = _free_name(target_dir / path.name)
        report_path = target_dir / f"{target.name}.report.json"
        temporary = target_dir / f".{report_path.name}.tmp"
        temporary.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=True), encoding="utf-8")
        os.replace(temporary, report_path)
        if report.status == "failed":
            self.intake.vault.sealer.seal_file(path, target.with_name(target.name + SEALED_SUFFIX))
        path.unlink()
        (path.parent / f"{path.name}.done").unlink(missing_ok=True)


def _clear_names(mapping: FeedMapping, values: dict[str, Any]) -> list[str]:
    """The row's clear name, so the intake hashes it inside the raw bytes of a dead letter too."""
    name = standard_fields(mapping, values)[0].get("person_name")
    return [name.strip()] if isinstance(name, str) and name.strip() else []


def _free_name(target: Path) -> Path:
    """target, or target with .1, .2 ... appended when a file of that name was already handled there."""
    candidate, counter = target, 0
    while (candidate.parent / f"{candidate.name}.report.json").exists():
        counter += 1
        candidate = target.with_name(f"{target.name}.{counter}")
    return candidate
