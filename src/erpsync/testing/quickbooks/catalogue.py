"""The entity catalogue: what QuickBooks lets a client do with each entity, as data.

One :class:`EntitySpec` per entity says which operations exist (create, read, full and
sparse update with SyncToken, delete, void, query), which fields are required, which the
server owns, which references must point at what, which lines a transaction takes, which
field is unique, and which fields a query may filter or sort on. One generic handler
(:mod:`.company` for storage, :mod:`.generic` for the checks) reads it; the few rules no
table can say (a journal entry balances, a deposit goes to a bank account) are hooks
named by ``rule``.

Filterable fields follow Intuit's entity reference pages; a WHERE or ORDERBY on any
other field is answered with the real 4001 QueryValidationError naming the property
(Invoice ``PrivateNote`` and PurchaseOrder ``VendorRef`` are the famous ones).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTITIES", "PATHS", "EntitySpec"]

_LISTED = frozenset({"create", "read", "update", "query"})
_TXN = _LISTED | {"delete"}
_VOIDABLE = _TXN | {"void"}
_READ = frozenset({"read", "query"})

_BASE = frozenset({"Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime"})
_PARTY = _BASE | {
    "Active",
    "DisplayName",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "CompanyName",
    "PrimaryEmailAddr",
    "PrintOnCheckName",
    "Balance",
    "FullyQualifiedName",
    "CurrencyRef",
}
_LIST = _BASE | {"Name", "Active", "FullyQualifiedName"}
_TXN_FIELDS = _BASE | {"DocNumber", "TxnDate", "TotalAmt", "DepartmentRef", "ClassRef"}
_SALES_LINES = ("SalesItemLineDetail", "DescriptionOnly", "DiscountLineDetail")
_EXPENSE_LINES = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
_SALES_READ_ONLY = frozenset(
    {"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "TxnTaxDetail", "LinkedTxn"}
)


@dataclass(frozen=True)
class EntitySpec:
    """One entity as QuickBooks defines it (see the module docstring)."""

    name: str
    operations: frozenset[str] = _LISTED
    #: Fields a create must carry (dotted for nested ones).
    required: tuple[str, ...] = ()
    #: Server-computed or server-owned fields: ignored when a client sends them.
    read_only: frozenset[str] = frozenset()
    #: Top-level references and the entity each must point at (existing, active).
    refs: tuple[tuple[str, str], ...] = ()
    #: Line ``DetailType`` values a transaction takes (empty: no lines).
    lines: tuple[str, ...] = ()
    #: Whether at least one line is required.
    lines_required: bool = False
    #: The field a uniqueness rule looks records up by (names case-insensitively).
    key_field: str | None = None
    #: Entities sharing the key's namespace (Customer, Vendor and Employee names).
    key_scope: tuple[str, ...] = ()
    #: Fields a query may filter on (WHERE) and sort on (ORDERBY).
    filterable: frozenset[str] = _BASE
    sortable: frozenset[str] | None = None
    #: Queries hide inactive records unless they constrain ``Active``.
    name_list: bool = False
    #: The order of a query without ORDERBY, as (field, descending) pairs (empty: Id).
    #: The chart of accounts comes in name order: python-quickbooks' own suite, written
    #: against a sandbox, takes ``Account.all()[0]`` as the A/P account and drops
    #: "Accounts Receivable (A/R)" to take the first other asset as a bank account,
    #: which is what name order gives and Id order does not.
    default_order: tuple[tuple[str, bool], ...] = ()
    #: The JSON key its answers carry it under, when it is not ``name``: QuickBooks
    #: answers ``/creditcardpayment`` with ``CreditCardPaymentTxn`` (Intuit's reference
    #: samples; python-quickbooks reads that key).
    wire_key: str | None = None

    @property
    def answer_key(self) -> str:
        """The key a single, batch, query or CDC answer holds the records under."""
        return self.wire_key or self.name
    #: Which normalizer checks a write: "generic", or one of the hand-written rules.
    rule: str = "generic"

    @property
    def path(self) -> str:
        """The URL segment (lower case, as QuickBooks writes it)."""
        return self.name.lower()

    @property
    def sort_fields(self) -> frozenset[str]:
        return self.sortable if self.sortable is not None else self.filterable

    def allows(self, operation: str) -> bool:
        return operation in self.operations


def _party(name: str, extra: frozenset[str] = frozenset()) -> EntitySpec:
    return EntitySpec(
        name,
        read_only=frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName"}),
        key_field="DisplayName",
        key_scope=("Customer", "Vendor", "Employee"),
        filterable=_PARTY | extra,
        name_list=True,
        rule="party",
    )


def _named(name: str, *, extra: frozenset[str] = frozenset(), **options: object) -> EntitySpec:
    return EntitySpec(
        name,
        required=("Name",),
        read_only=frozenset({"FullyQualifiedName"}),
        key_field="Name",
        filterable=_LIST | extra,
        name_list=True,
        **options,  # type: ignore[arg-type]
    )


def _txn(
    name: str,
    *,
    party: tuple[str, str] | None,
    lines: tuple[str, ...] = (),
    operations: frozenset[str] = _TXN,
    filterable: frozenset[str] = frozenset(),
    refs: tuple[tuple[str, str], ...] = (),
    read_only: frozenset[str] = _SALES_READ_ONLY,
    party_required: bool = True,
    **options: object,
) -> EntitySpec:
    party_refs = (party,) if party is not None else ()
    return EntitySpec(
        name,
        operations=operations,
        required=tuple(field for field, _ in party_refs) if party_required else (),
        read_only=read_only,
        refs=(*party_refs, *refs),
        lines=lines,
        lines_required=bool(lines),
        key_field="DocNumber",
        filterable=_TXN_FIELDS | {field for field, _ in party_refs} | filterable,
        **options,  # type: ignore[arg-type]
    )


_CUSTOMER = ("CustomerRef", "Customer")
_VENDOR = ("VendorRef", "Vendor")
_SALES_FILTER = frozenset({"DueDate", "Balance", "EmailStatus", "TxnStatus"})

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        _party("Customer", frozenset({"Job", "ParentRef"})),
        _party("Vendor", frozenset({"Vendor1099"})),
        _party("Employee", frozenset({"EmployeeNumber"})),
        _named("Item", extra=frozenset({"Type", "Sku", "UnitPrice", "QtyOnHand"}), rule="item"),
        _named(
            "Account",
            extra=frozenset(
                {"AccountType", "AccountSubType", "Classification", "AcctNum", "SubAccount"}
            )
            | {"CurrentBalance", "ParentRef"},
            rule="account",
            default_order=(("FullyQualifiedName", False),),
        ),
        _named("Class", extra=frozenset({"SubClass", "ParentRef"})),
        _named("Department", extra=frozenset({"SubDepartment", "ParentRef"})),
        _named("Term", extra=frozenset({"Type", "DueDays"}), rule="term"),
        _named("PaymentMethod", extra=frozenset({"Type"}), rule="payment_method"),
        _named("TaxCode", operations=_READ, extra=frozenset({"Taxable", "Hidden"})),
        _named("TaxRate", operations=_READ, extra=frozenset({"RateValue"})),
        EntitySpec(
            "TaxAgency",
            operations=frozenset({"create", "read", "query"}),
            required=("DisplayName",),
            key_field="DisplayName",
            filterable=_BASE | {"DisplayName"},
        ),
        EntitySpec(
            "CompanyCurrency",
            required=("Code",),
            read_only=frozenset({"Name"}),
            key_field="Code",
            filterable=_BASE | {"Code", "Active"},
            rule="company_currency",
        ),
        EntitySpec(
            "ExchangeRate",
            operations=_READ,  # and POST /exchangerate, answered by exchange.py
            filterable=_BASE | {"SourceCurrencyCode", "TargetCurrencyCode", "AsOfDate"},
        ),
        _txn(
            "Invoice",
            party=_CUSTOMER,
            lines=_SALES_LINES,
            operations=_VOIDABLE,
            filterable=_SALES_FILTER,
            # a new invoice may name the estimate it comes from (the rule keeps only that)
            read_only=_SALES_READ_ONLY - {"LinkedTxn"},
            rule="invoice",
        ),
        _txn(
            "Estimate",
            party=_CUSTOMER,
            lines=_SALES_LINES,
            filterable=_SALES_FILTER,
            rule="estimate",
        ),
        _txn(
            "SalesReceipt",
            party=_CUSTOMER,
            party_required=False,  # a cash sale needs no customer
            lines=_SALES_LINES,
            operations=_VOIDABLE,
            refs=(("DepositToAccountRef", "Account"),),
            rule="generic_sales",
        ),
        _txn(
            "CreditMemo",
            party=_CUSTOMER,
            lines=_SALES_LINES,
            filterable=_SALES_FILTER,
            rule="credit_memo",
        ),
        _txn(
            "RefundReceipt",
            party=_CUSTOMER,
            party_required=False,  # Intuit requires only Line and DepositToAccountRef
            lines=_SALES_LINES,
            refs=(("DepositToAccountRef", "Account"),),
            rule="refund_receipt",
        ),
        _txn(
            "Payment",
            party=_CUSTOMER,
            operations=_VOIDABLE,
            read_only=frozenset({"UnappliedAmt"}),
            rule="payment",
        ),
        _txn(
            "PurchaseOrder",
            party=None,  # VendorRef is required but NOT filterable: see rule "purchase_order"
            lines=_EXPENSE_LINES,
            filterable=frozenset({"POStatus"}),
            rule="purchase_order",
        ),
        _txn(
            "Bill",
            party=_VENDOR,
            lines=_EXPENSE_LINES,
            filterable=frozenset({"DueDate", "Balance"}),
            rule="bill",
        ),
        _txn(
            "BillPayment",
            party=_VENDOR,
            operations=_VOIDABLE,
            read_only=frozenset(),
            rule="bill_payment",
        ),
        _txn(
            "Purchase",
            party=None,
            lines=_EXPENSE_LINES,
            refs=(("AccountRef", "Account"),),
            filterable=frozenset({"PaymentType"}),
            rule="purchase",
        ),
        _txn("VendorCredit", party=_VENDOR, lines=_EXPENSE_LINES, rule="vendor_credit"),
        _txn(
            "Deposit",
            party=None,
            lines=("DepositLineDetail",),
            refs=(("DepositToAccountRef", "Account"),),
            rule="deposit",
        ),
        _txn("Transfer", party=None, rule="transfer"),
        _txn(
            "JournalEntry",
            party=None,
            lines=("JournalEntryLineDetail",),
            filterable=frozenset({"Adjustment"}),
            rule="journal_entry",
        ),
        _txn(
            "CreditCardPayment",
            party=None,
            rule="credit_card_payment",
            wire_key="CreditCardPaymentTxn",
        ),
        EntitySpec(
            "TimeActivity",
            operations=_TXN,
            required=("NameOf",),
            refs=(
                ("EmployeeRef", "Employee"),
                ("VendorRef", "Vendor"),
                ("CustomerRef", "Customer"),
                ("ItemRef", "Item"),
            ),
            filterable=_BASE | {"TxnDate", "NameOf", "EmployeeRef", "VendorRef", "CustomerRef"},
            rule="time_activity",
        ),
        EntitySpec(
            "RecurringTransaction",
            operations=_TXN,
            read_only=frozenset({"Type"}),
            filterable=_BASE | {"Type"},
            rule="recurring",
        ),
        EntitySpec(
            "Attachable",
            operations=_TXN,
            # The file's facts are the server's (an upload sets them; see uploads.py).
            read_only=frozenset(
                {
                    "Size",
                    "FileAccessUri",
                    "TempDownloadUri",
                    "ThumbnailFileAccessUri",
                    "ThumbnailTempDownloadUri",
                }
            ),
            filterable=_BASE | {"FileName", "AttachableRef.EntityRef.Type"},
            rule="attachable",
        ),
        EntitySpec("Preferences", operations=frozenset({"read", "update", "query"}), rule="prefs"),
        EntitySpec(
            "CompanyInfo",
            operations=frozenset({"read", "update", "query"}),
            filterable=_BASE | {"CompanyName"},
            rule="company_info",
        ),
    )
}

#: URL path segment (lower case, as QuickBooks writes it) -> entity name.
PATHS = {spec.path: name for name, spec in ENTITIES.items()}
