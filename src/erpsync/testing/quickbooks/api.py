"""The data API of one company: ``/v3/company/{realmId}/...`` after authentication.

Routes (entity names lower-case in paths, as QuickBooks writes them):

* ``POST /{entity}``: create, or update when the body has an ``Id``;
  ``?operation=delete`` deletes, ``?operation=void`` (or ``operation=update`` with
  ``include=void``, the form Intuit documents for payments) voids;
* ``GET /{entity}/{id}``; ``GET|POST /preferences``; ``GET /companyinfo/{realmId}``;
* ``GET /query?query=...`` or ``POST /query`` with the query as the body;
* ``POST /batch`` (at most 30 items, each failing alone with a ``Fault`` and HTTP 200);
* ``GET /cdc?entities=A,B&changedSince=ISO`` (30-day lookback, 1000 objects per answer);
* ``GET /invoice/{id}/pdf``; ``POST /invoice/{id}/send[?sendTo=]``;
* ``POST /upload`` (multipart attachments) and ``GET /download/{id}`` (see :mod:`.uploads`).

Idempotency: a POST carrying ``requestid`` (at most 50 characters, 36 for a batch) is
answered once; a repeat for the same company gets the original status and body without
writing again, whatever else it carries (the last 20,000 requestids are remembered).

Over ~400 lines: the routes of the data API and their answers' shapes (single,
query, batch, CDC, under each entity's answer key) are one request surface; the
entity rules live in the catalogue and rules modules. The seam for a later split is
batch and CDC (about 110 lines), which only call ``company`` and ``shown``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from erpsync.quickbooks import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.quickbooks import exchange, generic, recurring, taxes, uploads
from erpsync.testing.quickbooks.catalogue import ENTITIES, PATHS
from erpsync.testing.quickbooks.clock import iso, iso_ms, parse_instant
from erpsync.testing.quickbooks.company import Company
from erpsync.testing.quickbooks.errors import (
    QboFault,
    batch_too_large,
    business_validation,
    invalid_value,
    malformed_request,
    object_not_found,
    required_missing,
    unsupported_operation,
)
from erpsync.testing.quickbooks.pdf import invoice_pdf
from erpsync.testing.quickbooks.query import parse_query, run_query

BATCH_LIMIT = wire.BATCH_LIMIT
CDC_LOOKBACK = wire.CDC_LOOKBACK
CDC_LIMIT = wire.CDC_LIMIT
REQUEST_ID_LIMIT = wire.REQUEST_ID_MAX
BATCH_REQUEST_ID_LIMIT = wire.BATCH_REQUEST_ID_MAX
BATCH_ID_LIMIT = wire.BATCH_ID_MAX
#: How many answers are kept for ``requestid`` replay (oldest forgotten first), so a
#: long benchmark that sends a requestid with every write does not grow without bound.
REPLAY_MEMORY = 20_000

#: Entities a query or CDC may name (everything the emulator stores).
QUERYABLE = tuple(ENTITIES)


@dataclass(frozen=True)
class _Stored:
    status: int
    body: bytes
    content_type: str


def _includes(request: WireRequest) -> set[str]:
    return {x.strip().lower() for x in (request.param("include") or "").split(",") if x}


def _invoice_link(realm_id: str, invoice_id: str) -> str:
    """The customer-facing payment link ``include=invoiceLink`` adds (a stable fake)."""
    digest = hashlib.sha256(f"{realm_id}:{invoice_id}".encode()).hexdigest()[:40]
    return f"https://connect.intuit.com/portal/app/CommerceNetwork/view/scs-v1-{digest}"


def _taken(entity: str, body: Any) -> Any:
    """A request body in the books' form (a template's ids come from its transaction)."""
    return recurring.from_wire(body) if entity == recurring.ENTITY else body


class DataApi:
    """Routes and answers data API requests for one :class:`Company`."""

    def __init__(self, company: Company, replay_memory: int = 20_000) -> None:
        self.company = company
        self.replay_memory = replay_memory
        self._lock = threading.RLock()
        self._replies: OrderedDict[str, _Stored] = OrderedDict()
        #: attachable id -> the uploaded file's bytes (the books keep its metadata).
        self.files: dict[str, bytes] = {}
        self._secret = secrets.token_bytes(16)  # signs temporary download URLs
        self._base = wire.SANDBOX_URL

    def reset(self, company: Company) -> None:
        with self._lock:
            self.company = company
            self._replies.clear()
            self.files.clear()

    def remember(self, replay_memory: int) -> None:
        """Keep at most ``replay_memory`` answers for requestid replay from now on
        (0: requestid is not honoured at all)."""
        with self._lock:
            self.replay_memory = replay_memory
            while len(self._replies) > replay_memory:
                self._replies.popitem(last=False)

    def handle(self, request: WireRequest, segments: list[str]) -> WireResponse:
        """Answer ``segments`` (the path after ``/v3/company/{realmId}``)."""
        with self._lock:
            self._base = request.base
            request_id = request.param("requestid")
            if request.method == "POST" and request_id:
                limit = BATCH_REQUEST_ID_LIMIT if segments[:1] == ["batch"] else REQUEST_ID_LIMIT
                if len(request_id) > limit:
                    return self._fault(
                        invalid_value(
                            "requestid", f"requestid must be at most {limit} characters long."
                        )
                    )
                stored = self._replies.get(request_id)
                if stored is not None:
                    return WireResponse(
                        stored.status, stored.body, {"Content-Type": stored.content_type}
                    )
            try:
                recurring.run_due(self.company)  # the clock may have passed a NextDate
                response = self._route(request, segments)
            except QboFault as fault:
                response = self._fault(fault)
            if request.method == "POST" and request_id:
                self._replies[request_id] = _Stored(
                    response.status, response.body, response.headers.get("Content-Type", "")
                )
                while len(self._replies) > self.replay_memory:
                    self._replies.popitem(last=False)
            return response

    # -- routing ---------------------------------------------------------------------------

    def _route(self, request: WireRequest, segments: list[str]) -> WireResponse:
        method = request.method
        head = segments[0].lower() if segments else ""
        if head == "query" and len(segments) == 1 and method in ("GET", "POST"):
            text = request.param("query") if method == "GET" else request.text()
            return self._ok({"QueryResponse": self._query(text or "")})
        if head == "batch" and len(segments) == 1 and method == "POST":
            return self._ok(self._batch(request))
        if head == "cdc" and len(segments) == 1 and method == "GET":
            return self._ok(self._cdc(request))
        if head == "preferences" and len(segments) == 1:
            if method == "GET":
                return self._entity("Preferences", copy.deepcopy(self.company.preferences()))
            if method == "POST":
                body = self._json(request)
                return self._entity("Preferences", self.company.update("Preferences", body))
        if head == "exchangerate" and len(segments) == 1 and method in ("GET", "POST"):
            return self._exchange_rate(request)
        taxcode = [x.lower() for x in segments[1:]] == ["taxcode"]
        if head == "taxservice" and taxcode and method == "POST":
            return self._ok(taxes.tax_service(self.company, self._json(request)))
        if head == "upload" and len(segments) == 1 and method == "POST":
            return self._ok({"AttachableResponse": self._upload(request)})
        if head == "download" and len(segments) == 2 and method == "GET":
            return WireResponse.text(200, self._temp_url(self._file_of(segments[1])))
        if head == "download" and len(segments) == 3 and segments[2] == "content":
            return self._download(request, segments[1])
        entity = PATHS.get(head)
        if entity is None:
            raise unsupported_operation(f"{method} /{'/'.join(segments)}")
        if len(segments) == 1 and method == "POST":
            return self._write(request, entity)
        if len(segments) == 2 and method == "GET":
            record = self._read(entity, segments[1])
            if entity == "Invoice" and "invoicelink" in _includes(request):
                record["InvoiceLink"] = _invoice_link(self.company.realm_id, record["Id"])
            return self._entity(entity, record)
        if entity == "Invoice" and len(segments) == 3 and segments[2] == "pdf" and method == "GET":
            record = self.company.read("Invoice", segments[1])
            pdf = invoice_pdf(record, self.company.company_info())
            return WireResponse(200, pdf, {"Content-Type": "application/pdf"})
        if (
            entity == "Invoice"
            and len(segments) == 3
            and segments[2] == "send"
            and method == "POST"
        ):
            return self._entity("Invoice", self._send(request, segments[1]))
        raise unsupported_operation(f"{method} /{'/'.join(segments)}")

    def _write(self, request: WireRequest, entity: str) -> WireResponse:
        body = _taken(entity, self._json(request))
        operation = (request.param("operation") or "").lower()
        include = {x.strip().lower() for x in (request.param("include") or "").split(",") if x}
        if operation == "delete":
            deleted = self.company.delete(entity, body)
            if entity == "Attachable":
                self.files.pop(deleted["Id"], None)
            return self._entity(entity, deleted)
        if operation == "void" or (operation == "update" and "void" in include):
            return self._entity(entity, self.company.void(entity, body))
        if operation not in ("", "create", "update"):
            raise unsupported_operation(f"operation={operation}")
        options = frozenset(include)
        if operation == "update" or (
            isinstance(body, dict) and body.get("Id") not in (None, "", 0, "0")
        ):
            return self._entity(entity, self.company.update(entity, body, options))
        return self._entity(entity, self.company.create(entity, body, options))

    # -- attachments ----------------------------------------------------------------------

    def _upload(self, request: WireRequest) -> list[dict[str, Any]]:
        """Each file of a multipart upload made an Attachable (all or none)."""
        parts = uploads.parse_multipart(request.headers.get("Content-Type", ""), request.body)
        made = [(uploads.stamp(meta, part), part) for meta, part in uploads.file_pairs(parts)]
        for record, _ in made:  # every file's metadata checked before any is stored
            generic.normalize(self.company, "Attachable", copy.deepcopy(record), None, frozenset())
        answers = []
        for record, part in made:
            stored = self.company.create("Attachable", record)
            self.files[stored["Id"]] = part.data
            answers.append({"Attachable": self.shown("Attachable", stored)})
        return answers

    def _file_of(self, attachable_id: str) -> str:
        if self.company.get("Attachable", attachable_id) is None or (
            attachable_id not in self.files
        ):
            raise object_not_found("Id")
        return attachable_id

    def _temp_url(self, attachable_id: str) -> str:
        expires = int(self.company.now().timestamp()) + uploads.TEMP_URL_SECONDS
        signature = uploads.sign(self._secret, self.company.realm_id, attachable_id, expires)
        return (
            f"{self._base}{wire.DATA_PREFIX}{self.company.realm_id}/download/{attachable_id}"
            f"/content?Expires={expires}&Signature={signature}"
        )

    def signed(self, request: WireRequest, attachable_id: str) -> bool:
        """Whether ``request`` carries a valid temporary URL's signature (which stands in
        for the bearer token, as a signed storage URL does)."""
        try:
            uploads.check_signature(
                self._secret,
                self.company.realm_id,
                attachable_id,
                request.param("Expires"),
                request.param("Signature"),
            )
        except QboFault:
            return False
        return True

    def _download(self, request: WireRequest, attachable_id: str) -> WireResponse:
        expires = uploads.check_signature(
            self._secret,
            self.company.realm_id,
            attachable_id,
            request.param("Expires"),
            request.param("Signature"),
        )
        if expires < self.company.now().timestamp():
            return WireResponse.text(403, "Request has expired")
        record = self.company.read("Attachable", self._file_of(attachable_id))
        content_type = str(record.get("ContentType") or "application/octet-stream")
        return WireResponse(200, self.files[attachable_id], {"Content-Type": content_type})

    def _exchange_rate(self, request: WireRequest) -> WireResponse:
        if request.method == "POST":
            return self._entity("ExchangeRate", exchange.update(self.company, self._json(request)))
        params = {k.lower(): v[0] for k, v in request.query.items() if v}
        rate = exchange.read(self.company, params.get("sourcecurrencycode"), params.get("asofdate"))
        return self._entity("ExchangeRate", rate)

    def _read(self, entity: str, record_id: str) -> dict[str, Any]:
        if entity == "CompanyInfo" and record_id == self.company.realm_id:
            return copy.deepcopy(self.company.company_info())
        return self.company.read(entity, record_id)

    def _send(self, request: WireRequest, invoice_id: str) -> dict[str, Any]:
        invoice = self.company.get("Invoice", invoice_id)
        if invoice is None:
            raise object_not_found()
        updated = copy.deepcopy(invoice)
        send_to = request.param("sendTo")
        if send_to:
            updated["BillEmail"] = {"Address": send_to}
        if not (updated.get("BillEmail") or {}).get("Address"):
            raise business_validation(
                "An email address is required: set BillEmail or pass sendTo.", "BillEmail"
            )
        updated["EmailStatus"] = "EmailSent"
        updated["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": iso(self.company.now())}
        stored = self.company.replace("Invoice", invoice_id, updated)
        return copy.deepcopy(stored)

    # -- query, batch, cdc -------------------------------------------------------------------

    def _query(self, text: str) -> dict[str, Any]:
        query = parse_query(text, QUERYABLE)
        stored = self.company.stored(query.entity)
        # Rows of their own (a later write cannot change them), values shared with the
        # books, which are never changed in place below a record's top level: no copy.
        if query.entity == "TaxCode":
            answer = taxes.query_tax_codes(query, stored)
        else:
            answer = run_query(query, stored)
        if query.entity in answer:
            rows = answer.pop(query.entity)
            answer[_answer_key(query.entity)] = [self.shown(query.entity, r) for r in rows]
        return answer

    def _batch(self, request: WireRequest) -> dict[str, Any]:
        body = self._json(request)
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise required_missing("BatchItemRequest")
        if len(items) > BATCH_LIMIT:
            raise batch_too_large(len(items), BATCH_LIMIT)
        with_request_id = bool(request.param("requestid"))
        answers = [self._batch_item(item, with_request_id) for item in items]
        return {"BatchItemResponse": answers}

    def _batch_item(self, item: Any, with_request_id: bool) -> dict[str, Any]:
        b_id = str(item.get("bId", "")) if isinstance(item, dict) else ""
        answer: dict[str, Any] = {"bId": b_id}
        try:
            if not isinstance(item, dict) or not b_id:
                raise required_missing("bId")
            if with_request_id and len(b_id) > BATCH_ID_LIMIT:
                raise invalid_value(
                    "bId", f"bId must be at most {BATCH_ID_LIMIT} characters with a requestid."
                )
            if "Query" in item:
                answer["QueryResponse"] = self._query(str(item["Query"] or ""))
                return answer
            named = next((key for key in item if key in ENTITIES or key in _BY_ANSWER_KEY), None)
            if named is None:
                raise malformed_request("The batch item names no entity and no Query.")
            entity = _BY_ANSWER_KEY.get(named, named)
            operation = str(item.get("operation") or "").lower()
            options = frozenset(
                x.strip().lower() for x in str(item.get("optionsData") or "").split(",") if x
            )
            body = _taken(entity, item[named])
            if operation == "create":
                done = self.company.create(entity, body, options)
            elif operation == "update" and "void" in options:
                done = self.company.void(entity, body)
            elif operation == "update":
                done = self.company.update(entity, body, options)
            elif operation == "delete":
                done = self.company.delete(entity, body)
            else:
                raise unsupported_operation(f"batch operation '{operation}'")
            answer[_answer_key(entity)] = self.shown(entity, done)
        except QboFault as fault:
            answer = {"bId": b_id, "Fault": fault.fault()}
        return answer

    def _cdc(self, request: WireRequest) -> dict[str, Any]:
        names = [n.strip() for n in (request.param("entities") or "").split(",") if n.strip()]
        if not names:
            raise required_missing("entities")
        canonical = {n.lower(): n for n in QUERYABLE}
        entities: list[str] = []
        for name in names:
            if name.lower() not in canonical:
                raise invalid_value(
                    "entities", f"{name} is not a valid entity for change data capture."
                )
            entities.append(canonical[name.lower()])
        raw_since = request.param("changedSince")
        if not raw_since:
            raise required_missing("changedSince")
        since = parse_instant(raw_since)
        if since is None:
            raise invalid_value(
                "changedSince", f"Invalid date format for changedSince: {raw_since}"
            )
        now = self.company.now()
        if since < now - CDC_LOOKBACK:
            raise invalid_value(
                "changedSince",
                # QuickBooks' wording (users quote it); the fixed days are 30.
                f"Operation cdc with changedSince date {raw_since} which is older than fixed "
                "days is not supported.",
            )
        responses: list[dict[str, Any]] = []
        kept = self._cdc_cut(entities, since)
        for entity in entities:
            changed = [self.shown(entity, record) for record in kept[entity]]
            if changed:
                responses.append(
                    {
                        _answer_key(entity): changed,
                        "startPosition": 1,
                        "maxResults": len(changed),
                        "totalCount": len(changed),
                    }
                )
            else:
                responses.append({})
        return {"CDCResponse": [{"QueryResponse": responses}]}

    def _cdc_cut(self, entities: list[str], since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Each entity's changes, at most ``CDC_LIMIT`` objects in the WHOLE answer (not
        per entity): the earliest changes across all entities are kept, so a client that
        resumes from the newest time it was given misses nothing."""
        pooled: list[tuple[datetime, int, int, dict[str, Any]]] = []
        for position, entity in enumerate(entities):
            for order, record in enumerate(self.company.changed_since(entity, since, CDC_LIMIT)):
                stamp = parse_instant(record.get("MetaData", {}).get("LastUpdatedTime", ""))
                pooled.append((stamp or since, position, order, record))
        pooled.sort(key=lambda entry: entry[:3])
        kept: dict[str, list[tuple[int, dict[str, Any]]]] = {e: [] for e in entities}
        for _, position, order, record in pooled[:CDC_LIMIT]:
            kept[entities[position]].append((order, record))
        return {e: [r for _, r in sorted(rows, key=lambda x: x[0])] for e, rows in kept.items()}

    # -- answers ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.company.now()

    def _ok(self, payload: dict[str, Any]) -> WireResponse:
        return WireResponse.json(200, {**payload, "time": iso_ms(self._now())})

    def _entity(self, entity: str, record: dict[str, Any]) -> WireResponse:
        return self._ok({_answer_key(entity): self.shown(entity, record)})

    def shown(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """A stored record in the wire form QuickBooks answers (see :func:`_taken`): a
        template as its transaction, a rate without ``Id``, an attachment with its file's
        size and URIs."""
        if entity == recurring.ENTITY:
            return recurring.to_wire(record)
        if entity == "ExchangeRate":
            return exchange.answer(record)
        if entity == "Attachable" and record.get("Id") in self.files:
            record_id = str(record["Id"])
            return {
                **record,
                "FileAccessUri": f"{wire.DATA_PREFIX}{self.company.realm_id}/download/{record_id}",
                "TempDownloadUri": self._temp_url(record_id),
                "Size": len(self.files[record_id]),
            }
        return record

    def _fault(self, fault: QboFault) -> WireResponse:
        return WireResponse.json(fault.status, fault.body(self._now()))

    @staticmethod
    def _json(request: WireRequest) -> Any:
        try:
            return json.loads(request.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            raise malformed_request(
                "Property Name:Unexpected character specified is unsupported or invalid"
            ) from None


#: Entities whose answers carry them under another key, by that key.
_BY_ANSWER_KEY = {spec.answer_key: name for name, spec in ENTITIES.items() if spec.wire_key}


def _answer_key(entity: str) -> str:
    """The JSON key QuickBooks answers ``entity`` under (``CreditCardPaymentTxn``)."""
    spec = ENTITIES.get(entity)
    return spec.answer_key if spec is not None else entity
