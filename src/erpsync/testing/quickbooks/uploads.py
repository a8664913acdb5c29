"""Attachment uploads and downloads: ``POST /upload`` and ``GET /download/{id}``.

An upload is a ``multipart/form-data`` request whose parts come in pairs named
``file_metadata_nn`` (an Attachable as JSON, optional) and ``file_content_nn`` (the
file), ``nn`` pairing them. Each file becomes an Attachable through the entity's own
rules (references must exist), with the server's ``FileName``, ``ContentType``,
``Size``, ``FileAccessUri`` (``/v3/company/{realm}/download/{id}``) and
``TempDownloadUri``; the answer is ``{"AttachableResponse": [{"Attachable": {...}}]}``,
one entry per file, in the order of the parts. If any file's metadata is refused,
the request's Fault is answered and nothing is stored (Intuit: "the file is not
uploaded").

Parts are read as clients send them: CRLF or bare LF line breaks (python-quickbooks
sends LF), ``Content-Transfer-Encoding: base64`` decoded (python-quickbooks encodes),
anything else taken as the raw bytes (``requests``' ``files=``).

``GET /download/{id}`` answers, as ``text/plain``, a temporary URL of the file that
works without a bearer token for 15 minutes, like the signed storage URL Intuit hands
out. The files are kept in memory with the company's books and go with a reset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from erpsync.testing.quickbooks.errors import malformed_request, object_not_found, required_missing

__all__ = [
    "TEMP_URL_SECONDS",
    "Part",
    "check_signature",
    "file_pairs",
    "parse_multipart",
    "sign",
    "stamp",
]

#: How long a temporary download URL works (Intuit: 15 minutes).
TEMP_URL_SECONDS = 15 * 60
_PAIR = re.compile(r"file_(metadata|content)_(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _boundary(content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.IGNORECASE)
    if not content_type.lower().startswith("multipart/") or match is None:
        raise malformed_request(
            "An upload must be multipart/form-data with a boundary (Content-Type header)."
        )
    return match.group(1).strip().encode("latin-1")


def _headers(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _param(header: str, name: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{name}="([^"]*)"|(?:^|;)\s*{name}=([^;\s]+)', header)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of ``body``, in order; a clear 400 Fault when it is not multipart."""
    delimiter = b"--" + _boundary(content_type)
    chunks = body.split(delimiter)
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.removeprefix(b"\n")
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, data = chunk.partition(b"\n\n")
        if not sep:
            raise malformed_request("A multipart part has no blank line after its headers.")
        data = data[:-2] if data.endswith(b"\r\n") else data.removesuffix(b"\n")
        headers = _headers(head)
        disposition = headers.get("content-disposition", "")
        name = _param(disposition, "name")
        if not name:
            raise malformed_request("A multipart part has no name in Content-Disposition.")
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            try:
                data = base64.b64decode(b"".join(data.split()), validate=True)
            except (binascii.Error, ValueError):
                raise malformed_request(f"Part {name} is not valid base64.") from None
        parts.append(Part(name, _param(disposition, "filename"), headers.get("content-type"), data))
    return parts


def file_pairs(parts: list[Part]) -> list[tuple[dict[str, Any], Part]]:
    """Each ``file_content_nn`` with the Attachable its ``file_metadata_nn`` describes
    (``{}`` when none came), in the order of the content parts."""
    metadata: dict[str, dict[str, Any]] = {}
    contents: list[tuple[str, Part]] = []
    for part in parts:
        match = _PAIR.fullmatch(part.name)
        if match is None:
            continue
        kind, index = match.group(1).lower(), match.group(2)
        if kind == "content":
            contents.append((index, part))
            continue
        try:
            value = json.loads(part.data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise malformed_request(f"{part.name} is not an Attachable in JSON.") from None
        if not isinstance(value, dict):
            raise malformed_request(f"{part.name} is not an Attachable in JSON.")
        metadata[index] = value.get("Attachable", value) if "Attachable" in value else value
    if not contents:
        raise required_missing("file_content_01")
    return [(dict(metadata.get(index, {})), part) for index, part in contents]


def stamp(metadata: dict[str, Any], part: Part) -> dict[str, Any]:
    """The Attachable a file makes: the metadata, with the file's name and type where
    the metadata leaves them out."""
    record = {k: v for k, v in metadata.items() if k not in ("Id", "SyncToken")}
    file_name = record.get("FileName") or part.filename
    if not file_name:
        raise required_missing("FileName")
    record["FileName"] = file_name
    record["ContentType"] = (
        record.get("ContentType") or part.content_type or ("application/octet-stream")
    )
    return record


def sign(secret: bytes, realm_id: str, attachable_id: str, expires: int) -> str:
    """The signature of a temporary download URL (hex HMAC-SHA256)."""
    message = f"{realm_id}/{attachable_id}/{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_signature(
    secret: bytes, realm_id: str, attachable_id: str, expires: str | None, signature: str | None
) -> int:
    """The expiry of a well-signed temporary URL, else a 610 (as a forged link finds
    nothing)."""
    try:
        when = int(expires or "")
    except ValueError:
        raise object_not_found("Signature") from None
    expected = sign(secret, realm_id, attachable_id, when)
    if not signature or not hmac.compare_digest(expected, signature):
        raise object_not_found("Signature")
    return when
