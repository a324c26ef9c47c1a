"""Cable records and the readers that produce them from files.

Three input layouts are understood, plain or ``.gz``/``.xz`` compressed, in
any mix, from files or directories read recursively:

* the cable *page* text format of ``corpus/05ALMATY4281.txt`` (header fields
  ``Identifier:``, ``Origin:``, ``Created:``, ``Classification:``, ``Tags:``;
  the site's disclaimer and trailer are dropped);
* the Cablegate ``cables.csv`` dump: no header row, columns
  ``rowid, date (M/D/YYYY H:MM), refid, origin, classification, references
  (a|b), header, body``, backslash escapes;
* JSON Lines with the fields of ``../shared/cables/cables.jsonl.xz``.

Readers never raise on bad input: each problem becomes one :class:`Problem`
naming the file and line (or cable id) in the caller's :class:`Report`, and
reading goes on with the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import lzma
import os
import re
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import header, layout

MAX_BODY_CHARS = 4_000_000  # the longest real cable body is under 100k characters
_ID = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{2,63}$")
_PAGE_FIELD = re.compile(r"^(Identifier|Wikileaks|Origin|Created|Released|Classification|Tags|Redacted)\s*:\s*(.*)$")
_PAGE_TRAILER = re.compile(r"^Latest source of this page is", re.MULTILINE)
_PARTIAL = "This record is a partial extract of the original cable."
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
CSV_SUFFIXES = {".csv"}
PAGE_SUFFIXES = {".txt", ".text"}


@dataclass(frozen=True)
class Cable:
    """One cable: metadata and the body exactly as the source has it."""

    id: str
    origin: str
    created: str  # ISO 8601 "YYYY-MM-DDTHH:MM:SS"; "" when the source has no usable date
    classification: str
    tags: tuple[str, ...]
    subject: str
    references: tuple[str, ...]
    body: str
    source: str  # "path:line" (or "path" for a page file)

    @property
    def source_path(self) -> str:
        return source_path(self.source)

    def content_hash(self) -> str:
        """Hash of everything that reaches the index; the source location is not part of it."""
        payload = json.dumps([self.id, self.origin, self.created, self.classification, list(self.tags),
                              self.subject, list(self.references), self.body], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def source_path(source: str) -> str:
    """The file of a source location: "/a/b.jsonl:12" -> "/a/b.jsonl"."""
    path, _, line = source.rpartition(":")
    return path if line.isdigit() else source


@dataclass(frozen=True)
class Problem:
    where: str  # "path", "path:line" or "path (cable ID)"
    reason: str
    skipped: bool = True  # False: a warning, the input was still used
    kind: str = ""  # what the summary counts it as; the reason up to its first detail when empty

    @property
    def summary_kind(self) -> str:
        return self.kind or self.reason.split(" (")[0]

    def __str__(self) -> str:
        return f"{'skipped' if self.skipped else 'warning'}: {self.where}: {self.reason}"


@dataclass
class Report:
    """What reading (and indexing) met: problems as they happen, counts for the summary."""

    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    read: int = 0
    read_files: set[str] = field(default_factory=set)  # files read whole (safe to prune against)
    echo: bool = False  # print each problem to stderr as it is found

    def add(self, where: str, reason: str, skipped: bool = True, kind: str = "") -> None:
        problem = Problem(where, reason, skipped, kind)
        self.problems.append(problem)
        if self.echo:
            print(problem, file=sys.stderr, flush=True)

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]


# ---------------------------------------------------------------- files


def iter_files(paths: Iterable[str | Path], report: Report) -> Iterator[Path]:
    """Every file under ``paths`` (directories recursively, hidden entries skipped), each once."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    # a stack of folder listings rather than recursion: a tree of any depth is walked without RecursionError
    stack: list[Iterator[Path]] = [iter([Path(p) for p in paths])]
    while stack:
        path = next(stack[-1], None)
        if path is None:
            stack.pop()
            continue
        try:
            st = path.stat()
        except OSError as exc:  # missing, dangling link, symlink loop, no permission, name too long
            report.add(str(path), f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                report.add(str(path), "directory already visited (symlink loop); not read again")
                continue
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError as exc:
                report.add(str(path), f"cannot list directory: {exc.strerror or exc}")
                continue
            stack.append(iter([Path(e.path) for e in entries if not e.name.startswith(".")]))
        elif not stat.S_ISREG(st.st_mode):  # reading a FIFO blocks for ever, a device never ends
            report.add(str(path), "not a regular file (a pipe, socket or device)")
        else:
            real = os.path.realpath(path)
            if real not in seen_files:
                seen_files.add(real)
                yield path


def _decompress(path: Path, raw: bytes, report: Report) -> bytes:
    """Bytes of a .gz/.xz file (also recognised by magic bytes); a damaged one yields what precedes the damage."""
    if path.suffix.lower() == ".gz" or raw[:2] == b"\x1f\x8b":
        decoder = zlib.decompressobj(wbits=47)  # gzip or zlib header
    elif path.suffix.lower() == ".xz" or raw[:6] == b"\xfd7zXZ\x00":
        decoder = lzma.LZMADecompressor()
    else:
        return raw
    out = bytearray()
    try:
        while raw:
            out += decoder.decompress(raw)
            raw = getattr(decoder, "unused_data", b"")
            if raw and not isinstance(decoder, lzma.LZMADecompressor):  # concatenated gzip members
                decoder = zlib.decompressobj(wbits=47)
            elif raw:
                decoder = lzma.LZMADecompressor()
        if not decoder.eof:
            raise EOFError("it ends early")
    except (EOFError, lzma.LZMAError, zlib.error) as exc:
        report.add(str(path), f"compressed data is damaged ({exc}); using the {len(out)} bytes before the damage",
                   skipped=False)
    return bytes(out)


def decode(path: Path, data: bytes, report: Report) -> str | None:
    """Bytes to text: UTF-8 (BOM or not), UTF-16 with BOM; cp1252 as a reported fallback."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            report.add(str(path), f"broken UTF-16 text ({exc.reason})")
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:8192]:
            report.add(str(path), "binary file, not text")
            return None
        report.add(str(path), f"not valid UTF-8 (byte {exc.start}); read as Windows-1252", skipped=False)
        return data.decode("cp1252", errors="replace")


def _format_of(path: Path, text: str) -> str | None:
    name = path.name.lower()
    for ext in (".gz", ".xz"):
        name = name.removesuffix(ext)
    suffix = Path(name).suffix
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PAGE_SUFFIXES or re.search(r"^Identifier\s*:", text[:20000], re.MULTILINE):
        return "page"
    head = text.lstrip()[:1]
    if head == "{":
        return "jsonl"
    if head == '"' and '","' in text[:2000]:
        return "csv"
    return None


def read_file(path: Path, report: Report) -> Iterator[Cable]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.add(str(path), f"cannot read: {exc.strerror or exc}")
        return
    report.files += 1
    problems_before = len(report.problems)
    text = decode(path, _decompress(path, raw, report), report)
    if text is None:
        return
    if not any("damaged" in p.reason for p in report.problems[problems_before:]):
        report.read_files.add(str(path.resolve()))
    if not text.strip():
        report.add(str(path), "empty file")
        return
    kind = _format_of(path, text)
    source = str(path.resolve())
    if kind == "jsonl":
        yield from read_jsonl(text, source, report)
    elif kind == "csv":
        yield from read_csv(text, source, report)
    elif kind == "page":
        cable = read_page(text, source, report)
        if cable:
            yield cable
    else:
        report.add(str(path), "not a cable file (expected a cable page, cables.csv rows or JSON Lines)")


def read_paths(paths: Iterable[str | Path], report: Report) -> Iterator[Cable]:
    """All cables under ``paths``, in file order; problems go to ``report``."""
    for path in iter_files(paths, report):
        for cable in read_file(path, report):
            report.read += 1
            yield cable


# ---------------------------------------------------------------- records


def parse_date(value: str) -> str | None:
    """``2005-12-02 09:08:00``, ``2005-12-02T09:08:00``, ``12/2/2005 9:08`` -> ISO, else None."""
    value = (value or "").strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, fmt).isoformat(timespec="seconds")
        except ValueError:
            continue
    return None


def split_tags(value) -> tuple[str, ...]:
    """A TAGS line splits on commas if it has any, else on whitespace (keeps "2005 Election")."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        value = str(value or "")
        items = value.split(",") if "," in value else value.split()
    return tuple(t.strip() for t in items if t.strip())


def make_cable(where: str, report: Report, *, id, body, origin="", created="", classification="",
               tags=(), subject="", references=(), source: str) -> Cable | None:
    """Validate and complete one record (missing tags/subject/refs come from the body's header)."""
    ident = str(id or "").strip().upper()
    if not ident:
        report.add(where, "no cable id")
        return None
    if not _ID.match(ident):
        report.add(where, f"cable id {ident[:40]!r} is not a cable reference id")
        return None
    if not isinstance(body, str) or not body.strip():
        report.add(f"{where} ({ident})", "no body text")
        return None
    if len(body) > MAX_BODY_CHARS:
        report.add(f"{where} ({ident})", f"body of {len(body):,} characters is over the {MAX_BODY_CHARS:,} limit")
        return None
    iso = parse_date(str(created or ""))
    if created and iso is None:
        report.add(f"{where} ({ident})", f"date {str(created)[:40]!r} is not a valid date; kept without one",
                   skipped=False)
    head = layout.parse_header(body)
    tags = split_tags(tags) or split_tags(head.get("tags", ""))
    refs = tuple(r for r in (str(x).strip().upper() for x in references or ()) if r)
    if not refs and head.get("ref"):
        refs = tuple(header.reference_ids(head["ref"], (iso or "")[2:4] or ident[:2]))
    return Cable(id=ident, origin=str(origin or "").strip(), created=iso or "",
                 classification=str(classification or "").strip().upper(), tags=tags,
                 subject=str(subject or "").strip() or head.get("subject", ""),
                 references=refs, body=body, source=source)


def read_jsonl(text: str, source: str, report: Report) -> Iterator[Cable]:
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        if len(line) > MAX_BODY_CHARS:
            report.add(where, f"line of {len(line):,} characters is over the {MAX_BODY_CHARS:,} limit")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            report.add(where, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(rec, dict):
            report.add(where, "not a JSON object")
            continue
        cable = make_cable(where, report, id=rec.get("id"), body=rec.get("body"), origin=rec.get("origin"),
                           created=rec.get("created"), classification=rec.get("classification"),
                           tags=rec.get("tags") or (), subject=rec.get("subject"),
                           references=rec.get("references") or (), source=where)
        if cable:
            yield cable


def read_csv(text: str, source: str, report: Report) -> Iterator[Cable]:
    csv.field_size_limit(MAX_BODY_CHARS + 1)
    reader = csv.reader(io.StringIO(text, newline=""), escapechar="\\", doublequote=False, strict=True)
    line = 1
    while True:
        where = f"{source}:{line}"
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add(where, f"broken CSV row ({exc})")
            if reader.line_num <= line:  # the reader cannot move on from this point
                break
            line = reader.line_num + 1
            continue
        line = reader.line_num + 1
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != 8:
            report.add(where, f"expected 8 columns (rowid, date, refid, origin, classification, references, "
                              f"header, body), found {len(row)}")
            continue
        _, date, refid, origin, classification, refs, _header, body = row
        if refid.strip().lower() == "refid":
            continue  # a header row, though the dump has none
        cable = make_cable(where, report, id=refid, body=body, origin=origin, created=date,
                           classification=classification, references=refs.split("|") if refs else (),
                           source=where)
        if cable:
            yield cable


def read_page(text: str, source: str, report: Report) -> Cable | None:
    lines = text.replace("\r\n", "\n").split("\n")
    ident_at = next((i for i, ln in enumerate(lines) if ln.startswith("Identifier:")), None)
    if ident_at is None:
        report.add(source, "no 'Identifier:' line, so not a cable page")
        return None
    title = next((lines[i].strip() for i in range(ident_at - 1, -1, -1) if lines[i].strip()), "")
    meta: dict[str, str] = {}
    end = ident_at
    for i in range(ident_at, min(len(lines), ident_at + 20)):
        m = _PAGE_FIELD.match(lines[i].strip())
        if m:
            meta[m.group(1)] = m.group(2).strip()
            end = i + 1
        elif lines[i].startswith(_PARTIAL):
            end = i + 1
    body = "\n".join(lines[end:])
    trailer = _PAGE_TRAILER.search(body)
    if trailer:
        body = body[: trailer.start()]
    body = body.strip("\n")
    cable = make_cable(source, report, id=meta.get("Identifier"), body=body, origin=meta.get("Origin"),
                       created=meta.get("Created"), classification=meta.get("Classification"),
                       subject=layout.parse_header(body).get("subject") or title, source=source)
    if cable and not cable.tags and meta.get("Tags"):
        cable = Cable(**{**cable.__dict__, "tags": split_tags(meta["Tags"])})
    return cable
