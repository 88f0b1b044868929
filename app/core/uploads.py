"""Streaming multipart uploads: one file straight to a temporary file, hashed on the way.

Starlette's form parser reads a whole body before the endpoint runs; this one stops at the
size limit, at a part too many, or at a field too large, so a hostile body costs nothing.
"""

import hashlib
import unicodedata
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from app.core.config import get_settings
from app.core.errors import (
    NUL_REFUSED,
    PayloadTooLarge,
    ProblemError,
    Unprocessable,
    UnsupportedMediaType,
)
from app.core.storage import get_storage

MAX_PARTS = 4
MAX_FIELD_BYTES = 1024


@dataclass
class UploadedFile:
    path: Path
    filename: str
    size: int
    sha256: str
    declared_type: str
    fields: dict[str, str] = field(default_factory=dict)


class _Collector:
    def __init__(self, temp: Path, file_field: str, max_bytes: int) -> None:
        self.temp = temp
        self.file_field = file_field
        self.max_bytes = max_bytes
        self.parts = 0
        self.headers: dict[str, str] = {}
        self._header_field = b""
        self._header_value = b""
        self.current: str | None = None
        self.is_file = False
        self.fields: dict[str, str] = {}
        self.field_buffer = bytearray()
        self.file: BinaryIO | None = None
        self.filename: str | None = None
        self.declared_type = ""
        self.size = 0
        self.hasher = hashlib.sha256()
        self.ended = False

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise Unprocessable(f"Too many form parts; send at most {MAX_PARTS}.")
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        # Kept byte for byte (latin-1 maps each byte to one character): the options parser
        # needs that, and a file name in UTF-8 is decoded from those bytes afterwards.
        self.headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode(
            "latin-1"
        )
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", ""))
        self.current = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self.is_file = self.current == self.file_field and filename is not None
        self.field_buffer = bytearray()
        if self.is_file:
            if self.file is not None:
                raise Unprocessable("Send one file per upload.")
            self.filename = (filename or b"").decode("utf-8", "replace")
            self.declared_type = self.headers.get("content-type", "")
            self.file = self.temp.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.is_file:
            assert self.file is not None
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise PayloadTooLarge(
                    f"The file is larger than the {self.max_bytes // (1024 * 1024)} MB limit."
                )
            self.hasher.update(chunk)
            self.file.write(chunk)
        else:
            self.field_buffer += chunk
            if len(self.field_buffer) > MAX_FIELD_BYTES:
                raise Unprocessable(f"The form field '{self.current}' is too long.")

    def on_end(self) -> None:
        self.ended = True

    def on_part_end(self) -> None:
        if not self.is_file and self.current:
            value = self.field_buffer.decode("utf-8", "replace")
            if "\x00" in value:
                raise Unprocessable.at([self.current], NUL_REFUSED)
            self.fields[self.current] = value
        self.current = None


async def receive_file(
    stream: AsyncIterator[bytes],
    content_type: str,
    temp: Path,
    *,
    file_field: str = "file",
    max_bytes: int,
) -> UploadedFile:
    """Parse the body into `temp`; on any failure the temporary file is removed."""
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("Send the file as multipart/form-data.")
    collector = _Collector(temp, file_field, max_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_end": collector.on_end,
        },
    )
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
        if not collector.ended:
            raise Unprocessable("The upload was cut off before its end; please try again.")
        if collector.file is None or collector.filename is None:
            raise Unprocessable.at(["body", file_field], "Attach a file.")
    except ProblemError:
        _discard(collector, temp)
        raise
    except Exception as exc:  # a malformed or truncated body
        _discard(collector, temp)
        raise Unprocessable("The upload was incomplete or malformed; please try again.") from exc
    collector.file.close()
    return UploadedFile(
        path=temp,
        filename=collector.filename,
        size=collector.size,
        sha256=collector.hasher.hexdigest(),
        declared_type=collector.declared_type,
        fields=collector.fields,
    )


@asynccontextmanager
async def upload_from(request: Request) -> AsyncIterator[UploadedFile]:
    """The request's file, streamed to a temporary file that is gone when the block ends
    (moved into storage by then, or discarded)."""
    limit = get_settings().max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(f"The file is larger than the {limit // (1024 * 1024)} MB limit.")
    temp = get_storage().temp_path()
    try:
        yield await receive_file(
            request.stream(), request.headers.get("content-type", ""), temp, max_bytes=limit
        )
    finally:
        temp.unlink(missing_ok=True)


def _discard(collector: _Collector, temp: Path) -> None:
    if collector.file is not None:
        collector.file.close()
    temp.unlink(missing_ok=True)


# --- what a file really is -----------------------------------------------------------------

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
PNG = "image/png"
JPEG = "image/jpeg"


def sniff_type(path: Path) -> str | None:
    """The file's type from its content (never its name or declared type); None if refused,
    413 for an Office file too large once inflated."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                _refuse_zip_bomb(archive.infolist(), path.stat().st_size)
                names = set(archive.namelist())
        except (zipfile.BadZipFile, RuntimeError, ValueError, EOFError, OSError):
            # A damaged or exotic archive (an unsupported zip version or compression method,
            # which zipfile reports as a RuntimeError subclass, or a truncated directory) is
            # not an Office file we accept: 415, never a 500.
            return None
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return DOCX
            if "xl/workbook.xml" in names:
                return XLSX
        return None
    if _looks_like_csv(head):
        return CSV
    return None


def _looks_like_csv(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the 8 KiB boundary is fine.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable / max(len(text), 1) > 0.99 and ("," in text or ";" in text or "\t" in text)


# Office files are zip archives that reviewers' programs inflate in full: a few hundred
# kilobytes of zeros can become gigabytes. Real documents stay far below these bounds (a
# 300-page report is a few hundred parts and tens of megabytes inflated).
MAX_ARCHIVE_PARTS = 2000
MAX_INFLATED_BYTES = 100 * 1024 * 1024
MAX_INFLATION_RATIO = 100  # checked once the content passes 10 MB: small XML packs tightly
_RATIO_FLOOR_BYTES = 10 * 1024 * 1024


def _refuse_zip_bomb(parts: list[zipfile.ZipInfo], packed_bytes: int) -> None:
    """413 for an archive too large once opened, judged by the sizes its central directory
    declares (read without inflating anything, so the check itself costs nothing)."""
    inflated = sum(part.file_size for part in parts)
    if (
        len(parts) > MAX_ARCHIVE_PARTS
        or inflated > MAX_INFLATED_BYTES
        or (inflated > _RATIO_FLOOR_BYTES and inflated > MAX_INFLATION_RATIO * packed_bytes)
    ):
        raise PayloadTooLarge(
            f"This document expands to more than {MAX_INFLATED_BYTES // (1024 * 1024)} MB "
            f"or {MAX_ARCHIVE_PARTS} parts when opened, so it cannot be accepted. Save a "
            "smaller copy, or a PDF, and upload that.",
            slug="archive-too-large",
        )


# Replaced in file names: path separators, characters Windows reserves, and control,
# surrogate, line-breaking and format characters (a right-to-left override can disguise
# "exe.pdf" as "fdp.exe"), except the zero-width joiners that some scripts and emoji need.
# Letters, digits, punctuation and symbols of every script stay as they are.
_RESERVED_IN_NAMES = frozenset('/\\<>:"|?*')
_JOINERS = frozenset("\u200c\u200d")
_MAX_NAME = 200


def safe_filename(name: str) -> str:
    """A display name that cannot traverse paths or smuggle control characters."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    cleaned = "".join(_name_character(ch) for ch in base).strip(" .")
    cleaned = cleaned or "attachment"
    if len(cleaned) <= _MAX_NAME:
        return cleaned
    stem, dot, extension = cleaned.rpartition(".")
    if dot and 0 < len(extension) <= 10:  # keep the extension a reader opens it by
        return stem[: _MAX_NAME - len(extension) - 1].rstrip(" .") + "." + extension
    return cleaned[:_MAX_NAME]


def _name_character(ch: str) -> str:
    category = unicodedata.category(ch)
    if ch in _RESERVED_IN_NAMES or category in ("Cc", "Cs", "Zl", "Zp"):
        return "_"
    if category == "Cf" and ch not in _JOINERS:
        return "_"
    return " " if category == "Zs" else ch
