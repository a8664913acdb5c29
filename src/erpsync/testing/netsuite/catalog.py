"""The metadata catalog (``/services/rest/record/v1/metadata-catalog``), built from the
emulator's own record-type declarations (types.py), so it describes exactly what the
emulator accepts.

* ``GET metadata-catalog`` lists the record types, each with links to its metadata;
* ``GET metadata-catalog/{type}`` or ``?select=a,b``: with ``Accept:
  application/schema+json`` a JSON schema of one record type, with ``Accept:
  application/swagger+json`` an OpenAPI 3 document of the selected types (all of them
  without ``select``), paths included.

NetSuite's documents are far larger (every field of every record, custom fields,
enumerations); these carry the fields the emulator serves, typed as NetSuite types
them (references as ``{id, refName, externalId}`` objects, sublists as collections).
"""

from __future__ import annotations

from typing import Any

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite import fields as f
from erpsync.testing.netsuite.errors import NetSuiteFault
from erpsync.testing.netsuite.types import RECORD_TYPES, RecordType, lookup

__all__ = ["SCHEMA_JSON", "SWAGGER_JSON", "answer"]

SCHEMA_JSON = "application/schema+json"
SWAGGER_JSON = "application/swagger+json"

_REF = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "refName": {"type": "string"},
        "externalId": {"type": "string"},
        "links": {"type": "array", "readOnly": True},
    },
}
_SCALARS: dict[str, dict[str, Any]] = {
    f.TEXT: {"type": "string"},
    f.BOOL: {"type": "boolean"},
    f.DATE: {"type": "string", "format": "date"},
    f.DATETIME: {"type": "string", "format": "date-time"},
    f.MONEY: {"type": "number", "format": "double"},
    f.NUMBER: {"type": "number", "format": "double"},
    f.INT: {"type": "integer", "format": "int64"},
}


def _property(spec: f.Field) -> dict[str, Any]:
    if spec.kind in (f.REF, f.SELECT, f.LABEL):
        out: dict[str, Any] = {**_REF, "title": spec.rest}
    else:
        out = {**_SCALARS.get(spec.kind, {"type": "string"}), "title": spec.rest}
    if spec.max_length is not None:
        out["maxLength"] = spec.max_length
    if spec.readonly:
        out["readOnly"] = True
    return out


def _object(specs: tuple[f.Field, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {s.rest: _property(s) for s in specs}}


def schema(rt: RecordType) -> dict[str, Any]:
    """The JSON schema of one record type, its sublists as ``{"items": [...]}``."""
    out = _object(rt.fields)
    out["properties"]["id"] = {"type": "string", "title": "Internal ID", "readOnly": True}
    for name, line in rt.sublists.items():
        out["properties"][name] = {
            "type": "object",
            "title": name,
            "properties": {"items": {"type": "array", "items": _object(line)}},
        }
    return {"$schema": "https://json-schema.org/draft-06/schema#", "title": rt.label, **out}


def openapi(types: list[RecordType], base: str) -> dict[str, Any]:
    """An OpenAPI 3 document of these record types: schemas and record paths."""
    paths: dict[str, Any] = {}
    for rt in types:
        ref = {"$ref": f"#/components/schemas/{rt.name}"}
        body = {"content": {"application/json": {"schema": ref}}}
        ok = {"200": {"description": rt.label, "content": {"application/json": {"schema": ref}}}}
        created = {"204": {"description": "Created; the Location header names the record."}}
        done = {"204": {"description": "Done."}}
        one = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        collection: dict[str, Any] = {"get": {"responses": {"200": {"description": "A page."}}}}
        record: dict[str, Any] = {"parameters": one, "get": {"responses": ok}}
        if rt.writable:
            collection["post"] = {"requestBody": body, "responses": created}
            record["patch"] = {"requestBody": body, "responses": done}
            record["put"] = {"requestBody": body, "responses": created}
            record["delete"] = {"responses": done}
        paths[f"/{rt.name}"] = collection
        paths[f"/{rt.name}/{{id}}"] = record
    return {
        "openapi": "3.0.1",
        "info": {"title": "NetSuite REST Record API", "version": "v1"},
        "servers": [{"url": f"{base}{wire.RECORD_ROOT}"}],
        "paths": paths,
        "components": {"schemas": {rt.name: schema(rt) for rt in types}},
    }


def _selected(names: str) -> list[RecordType]:
    found = []
    for name in (part.strip() for part in names.split(",")):
        rt = lookup(name) if name else None
        if rt is None:
            raise NetSuiteFault(
                400, "INVALID_PARAMETER", f"Invalid value for the select parameter: {name}."
            )
        found.append(rt)
    return found


def answer(request: WireRequest, rest: list[str]) -> WireResponse:
    """``GET metadata-catalog[/{type}][?select=...]``; ``rest`` is the path after it."""
    if request.method != "GET" or len(rest) > 1:
        raise NetSuiteFault(405, "METHOD_NOT_ALLOWED", "The metadata catalog is read with GET.")
    accept = request.headers.get("Accept", "").lower()
    select = rest[0] if rest else request.param("select")
    if SCHEMA_JSON in accept:
        if select is None:
            raise NetSuiteFault(
                400, "INVALID_PARAMETER", "A JSON schema describes one record type: select one."
            )
        (rt,) = _selected(select)[:1]
        return WireResponse.json(200, schema(rt), {"Content-Type": SCHEMA_JSON})
    if SWAGGER_JSON in accept:
        types = _selected(select) if select else list(RECORD_TYPES.values())
        return WireResponse.json(200, openapi(types, request.base), {"Content-Type": SWAGGER_JSON})
    if rest:
        raise NetSuiteFault(
            406, "NOT_ACCEPTABLE", f"Ask for {SCHEMA_JSON} or {SWAGGER_JSON} metadata."
        )
    href = f"{request.base}{wire.METADATA_CATALOG_PATH}"
    items = [
        {
            "name": rt.name,
            "links": [
                {"rel": "canonical", "href": f"{href}/{rt.name}", "mediaType": "application/json"},
                {"rel": "alternate", "href": f"{href}/{rt.name}", "mediaType": SWAGGER_JSON},
                {"rel": "describes", "href": f"{request.base}{wire.RECORD_ROOT}/{rt.name}"},
            ],
        }
        for rt in RECORD_TYPES.values()
    ]
    return WireResponse.json(200, {"items": items, "links": [{"rel": "self", "href": href}]})
