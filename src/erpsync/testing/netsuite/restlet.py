"""RESTlets: the invoice-PDF RESTlet integrations deploy, as the account runs it.

NetSuite's REST record service has no PDF endpoint, so integrations deploy a RESTlet
that renders the transaction with ``N/render`` and returns the file's base64 contents.
The emulator runs the script below (:data:`PDF_RESTLET_SOURCE`) on its own data: its
answers are what that script would return, its errors what NetSuite returns when that
script throws.

On the wire (``https://<account>.restlets.api.netsuite.com``, or the served URL)::

    GET /app/site/hosting/restlet.nl?script=customscript_erpsync_invoice_pdf
        &deploy=customdeploy_erpsync_invoice_pdf&id=1001[&recordType=invoice]
    POST the same URL without id, body {"id": "1001"}, Content-Type: application/json

    200 {"id": "1001", "fileName": "INV1001.pdf", "contentType": "application/pdf",
         "base64": "JVBERi0xLjQK..."}

RESTlet errors are not REST problem documents: NetSuite answers
``{"error": {"code": ..., "message": ...}}``. Authentication failures (TBA or bearer,
checked exactly as for REST; a bearer token needs the ``restlets`` scope) are 401
``INVALID_LOGIN_ATTEMPT``; an unknown or undeployed script/deploy pair is
``SSS_INVALID_SCRIPTLET_ID``; going over the account's concurrency limit is 400
``SSS_REQUEST_LIMIT_EXCEEDED`` (Oracle's documented RESTlet answer, unlike REST's 429);
an error the script throws is 400 with the code it threw and, as SuiteScript 2.x does,
a ``message`` that is itself the JSON of the ``SuiteScriptError``.

Unconfirmed (NetSuite's exact answer could not be found; chosen to be the helpful one):
the status of ``SSS_INVALID_SCRIPTLET_ID`` (reports show 404 and 400; 404 here, see
:data:`INVALID_SCRIPT_STATUS`), and the codes for a method the script does not define
(405 ``METHOD_NOT_ALLOWED``) and for a malformed JSON body (400 ``SYNTAX_ERROR``).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from erpsync.errors import ConfigurationError
from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireRequest, WireResponse
from erpsync.testing.netsuite.errors import NetSuiteFault
from erpsync.testing.netsuite.pdf import invoice_pdf
from erpsync.testing.netsuite.records import Account
from erpsync.testing.netsuite.types import lookup

__all__ = [
    "DEFAULT_PDF_DEPLOY",
    "DEFAULT_PDF_SCRIPT",
    "INVALID_SCRIPT_STATUS",
    "PDF_RESTLET_SOURCE",
    "RestletError",
    "Restlets",
    "restlet_host",
]

DEFAULT_PDF_SCRIPT = "customscript_erpsync_invoice_pdf"
DEFAULT_PDF_DEPLOY = "customdeploy_erpsync_invoice_pdf"
#: The HTTP status of ``SSS_INVALID_SCRIPTLET_ID`` (unconfirmed: 404 or 400).
INVALID_SCRIPT_STATUS = 404

INVALID_LOGIN_MESSAGE = "Invalid login attempt."
INVALID_SCRIPT_MESSAGE = "That Suitelet is invalid, disabled, or no longer exists."
REQUEST_LIMIT_MESSAGE = "Concurrent request limit exceeded. Request blocked."

_SCRIPT_FILE = "/SuiteScripts/erpsync_invoice_pdf_rl.js"
_INTERNAL_ID = re.compile(r"^\d+$")

#: The SuiteScript 2.1 RESTlet to deploy in a real account (Customization > Scripting >
#: Scripts > New, then a deployment; give the script and deployment the ids you pass as
#: ``NetSuiteBackend(pdf_restlet=(script, deploy))``). Documentation only: it cannot run
#: here, and :class:`Restlets` answers exactly as it would.
PDF_RESTLET_SOURCE = """\
/**
 * Renders an invoice as PDF for erpsync (NetSuiteBackend.invoice_pdf).
 * GET ?id=<invoice internal id>  or  POST {"id": "<invoice internal id>"}
 * -> {"id", "fileName", "contentType": "application/pdf", "base64"}
 *
 * @NApiVersion 2.1
 * @NScriptType Restlet
 * @NModuleScope SameAccount
 */
define(['N/error', 'N/render', 'N/search'], (error, render, search) => {
  const fail = (name, message) => error.create({ name, message, notifyOff: true });

  const invoicePdf = (args) => {
    const id = String(args.id ?? '').trim();
    if (!/^\\d+$/.test(id)) {
      throw fail('INVALID_ID', 'Pass the internal id of an invoice as id.');
    }
    if (args.recordType && String(args.recordType).toLowerCase() !== 'invoice') {
      throw fail('INVALID_RECORD_TYPE', 'This RESTlet renders invoices only.');
    }
    const found = search.create({
      type: search.Type.INVOICE,
      filters: [['internalid', 'anyof', id], 'and', ['mainline', 'is', 'T']],
      columns: ['tranid'],
    }).run().getRange({ start: 0, end: 1 });
    if (found.length === 0) {
      throw fail('RCRD_DSNT_EXIST', `Invoice ${id} does not exist.`);
    }
    const file = render.transaction({ entityId: Number(id), printMode: render.PrintMode.PDF });
    return {
      id,
      fileName: `${found[0].getValue('tranid') || id}.pdf`,
      contentType: 'application/pdf',
      base64: file.getContents(), // binary files come back base64-encoded
    };
  };

  return {
    get: (params) => invoicePdf(params),
    post: (body) => invoicePdf(body !== null && typeof body === 'object' ? body : {}),
  };
});
"""


def restlet_host(account_id: str) -> str:
    """``1234567_SB1`` -> ``1234567-sb1.restlets.api.netsuite.com``."""
    url = wire.RESTLET_HOST_TEMPLATE.format(host=wire.host_label(account_id))
    return url.removeprefix("https://")


class RestletError(Exception):
    """A RESTlet error answer: ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> WireResponse:
        return WireResponse.json(
            self.status, {"error": {"code": self.code, "message": self.message}}
        )


def script_error(code: str, message: str) -> RestletError:
    """What NetSuite answers when the script throws ``error.create({name, message})``:
    400, and a message that is the JSON of the SuiteScriptError (stack included)."""
    thrown = {
        "type": "error.SuiteScriptError",
        "name": code,
        "message": message,
        "stack": ["createError(N/error)", f"invoicePdf({_SCRIPT_FILE})"],
        "cause": {"name": code, "message": message},
        "id": "",
        "notifyOff": True,
        "userFacing": True,
    }
    return RestletError(400, code, json.dumps(thrown, separators=(",", ":")))


def invalid_login_attempt() -> RestletError:
    return RestletError(401, "INVALID_LOGIN_ATTEMPT", INVALID_LOGIN_MESSAGE)


def request_limit_exceeded() -> RestletError:
    return RestletError(400, "SSS_REQUEST_LIMIT_EXCEEDED", REQUEST_LIMIT_MESSAGE)


@dataclass(frozen=True)
class Deployment:
    """A deployed RESTlet: its script id, deployment id, and what it does."""

    script: str
    deploy: str
    kind: str = "invoice_pdf"


class Restlets:
    """The account's deployed RESTlets, and the runtime that answers their calls.

    Script and deployment ids are matched case-insensitively (NetSuite stores them in
    lower case). Deploying is a control call; a request only looks a deployment up (one
    dict read, atomic).
    """

    def __init__(self) -> None:
        self._deployed: dict[tuple[str, str], Deployment] = {}

    @staticmethod
    def _key(script: str, deploy: str) -> tuple[str, str]:
        return script.strip().lower(), deploy.strip().lower()

    def deploy(self, script: str, deploy: str, kind: str = "invoice_pdf") -> Deployment:
        deployment = Deployment(script.strip().lower(), deploy.strip().lower(), kind)
        self._deployed[self._key(script, deploy)] = deployment
        return deployment

    def undeploy(self, script: str, deploy: str) -> bool:
        return self._deployed.pop(self._key(script, deploy), None) is not None

    @property
    def deployments(self) -> list[Deployment]:
        return list(self._deployed.values())

    def find(self, request: WireRequest) -> Deployment:
        script, deploy = request.param("script"), request.param("deploy")
        found = self._deployed.get(self._key(script or "", deploy or ""))
        if found is None:
            raise RestletError(
                INVALID_SCRIPT_STATUS, "SSS_INVALID_SCRIPTLET_ID", INVALID_SCRIPT_MESSAGE
            )
        return found

    def run(self, account: Account, request: WireRequest) -> WireResponse:
        """Call the deployed script (authentication already passed)."""
        deployment = self.find(request)
        if request.method == "GET":
            args: dict[str, Any] = {k: v[0] for k, v in request.query.items() if v}
        elif request.method == "POST":
            args = _post_body(request)
        else:
            raise RestletError(
                405,
                "METHOD_NOT_ALLOWED",
                f"The deployed script defines no entry point for {request.method}.",
            )
        if deployment.kind != "invoice_pdf":  # pragma: no cover - one kind today
            raise script_error("UNEXPECTED_ERROR", f"no runtime for {deployment.kind}")
        return WireResponse.json(200, _invoice_pdf(account, request, args))


def _post_body(request: WireRequest) -> dict[str, Any]:
    """The argument ``post`` receives: the parsed object for JSON, else a string."""
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/json" or not request.body.strip():
        return {}  # text/plain arrives as a string, which the script treats as no id
    try:
        body = request.json()
    except ValueError:
        raise RestletError(
            400, "SYNTAX_ERROR", "SyntaxError: the request body is not valid JSON."
        ) from None
    return body if isinstance(body, dict) else {}


def _invoice_pdf(account: Account, request: WireRequest, args: dict[str, Any]) -> dict[str, Any]:
    """What ``invoicePdf(args)`` of :data:`PDF_RESTLET_SOURCE` returns or throws."""
    raw = args.get("id")
    rid = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not _INTERNAL_ID.match(rid):
        raise script_error("INVALID_ID", "Pass the internal id of an invoice as id.")
    record_type = args.get("recordType")
    if record_type and str(record_type).lower() != "invoice":
        raise script_error("INVALID_RECORD_TYPE", "This RESTlet renders invoices only.")
    rt = lookup("invoice")
    assert rt is not None
    try:
        internal = account.resolve(rt, rid)
    except NetSuiteFault:
        raise script_error("RCRD_DSNT_EXIST", f"Invoice {rid} does not exist.") from None
    invoice = account.render(rt, internal, request.base, expand=True)
    tran_id = str(invoice.get("tranId") or rid)
    company = _company_name(account, request.base)
    pdf = invoice_pdf(invoice, company, _currency(account, invoice, request.base))
    return {
        "id": rid,
        "fileName": f"{tran_id}.pdf",
        "contentType": "application/pdf",
        "base64": base64.b64encode(pdf).decode("ascii"),
    }


def _company_name(account: Account, base: str) -> str:
    rt = lookup("subsidiary")
    if rt is None:  # pragma: no cover - the type is built in
        return ""
    ids = account.ids(rt)
    if not ids:
        return ""
    subsidiary = account.render(rt, ids[0], base)
    return str(subsidiary.get("name") or "")


def _currency(account: Account, invoice: dict[str, Any], base: str) -> str:
    """The ISO code of the invoice's currency (``currency.refName`` is its name)."""
    ref = invoice.get("currency")
    rt = lookup("currency")
    if not isinstance(ref, dict) or rt is None:
        return ""
    try:
        record = account.render(rt, account.resolve(rt, str(ref.get("id", ""))), base)
    except NetSuiteFault:
        return str(ref.get("refName") or "")
    return str(record.get("symbol") or ref.get("refName") or "")


def script_ids(value: object, what: str) -> tuple[str, str]:
    """A ``(script id, deploy id)`` pair of non-empty strings, stripped."""
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(part, str) and part.strip() for part in value)
    ):
        raise ConfigurationError(
            f"{what} takes a (script id, deploy id) pair of non-empty strings, such as "
            f"({DEFAULT_PDF_SCRIPT!r}, {DEFAULT_PDF_DEPLOY!r}), not {value!r}"
        )
    return value[0].strip(), value[1].strip()
