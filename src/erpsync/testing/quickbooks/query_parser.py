"""Reading QuickBooks query text: the lexer and parser, with the real parser's errors.

``SELECT * | *, f | count(*) | f1, f2 FROM Entity [WHERE c AND c ...] [ORDERBY f
[ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS n]``. There is no ``OR`` and no ``JOIN``:
each is a ``QueryParserError`` (code 4000) naming the token and column, in the real
parser's words. ``!=`` is missing from Intuit's operator list but the service accepts it
(Microsoft's QuickBooks migration extension and python-quickbooks' own integration suite
send it to live companies), so it parses. Quotes inside a value are escaped with a
backslash. What the statement means (which entity and fields exist, the limits) is
checked by :func:`erpsync.testing.quickbooks.query.parse_query`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from erpsync.testing.quickbooks.errors import QboFault, query_parser_error

__all__ = ["Condition", "Parsed", "parse_text"]

#: Intuit's list, and the undocumented ``!=`` the service accepts (a lone ``!`` is refused).
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
_KEYWORDS = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "orderby",
        "order",
        "by",
        "asc",
        "desc",
        "startposition",
        "maxresults",
        "in",
        "like",
        "join",
        "count",
        "iterator",
    }
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident" | "string" | "number" | "op" | "punct" | "end"
    text: str
    value: Any
    column: int


@dataclass(frozen=True)
class Condition:
    """One ``field op value`` of a WHERE clause."""

    field: str
    operator: str  # "=", "!=", "<", ">", "<=", ">=", "like", "in"
    value: Any  # a literal, or a tuple of literals for "in"


@dataclass
class Parsed:
    """A statement as written, before its meaning is checked."""

    entity: str
    count: bool
    fields: tuple[str, ...] | None  # None means "*"
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int | None = None
    maximum: int | None = None


# -- lexing ----------------------------------------------------------------------------------


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch == "'":
            i, literal = _string_literal(text, i)
            out.append(_Token("string", text[column - 1 : i], literal, column))
        elif ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit()):
            match = re.match(r"-?\d+(\.\d+)?", text[i:])
            assert match is not None
            out.append(_Token("number", match.group(0), Decimal(match.group(0)), column))
            i += len(match.group(0))
        elif ch.isalpha() or ch == "_":
            match = re.match(r"[A-Za-z_][A-Za-z0-9_.]*", text[i:])
            assert match is not None
            word = match.group(0)
            out.append(_Token("ident", word, word, column))
            i += len(word)
        elif any(text.startswith(op, i) for op in _OPERATORS):
            op = next(op for op in _OPERATORS if text.startswith(op, i))
            out.append(_Token("op", op, op, column))
            i += len(op)
        elif ch in "(),*":
            out.append(_Token("punct", ch, ch, column))
            i += 1
        else:
            raise query_parser_error(
                f"Invalid content. Lexical error at line 1, column {column}.  Encountered: "
                f'"{ch}" ({ord(ch)}), after : ""'
            )
    out.append(_Token("end", "<EOF>", None, n + 1))
    return out


def _string_literal(text: str, start: int) -> tuple[int, str]:
    """Read ``'...'`` from ``start``; a backslash escapes the next character."""
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if ch == "'":
            return i + 1, "".join(chars)
        chars.append(ch)
        i += 1
    raise query_parser_error(
        f"Lexical error at line 1, column {len(text) + 1}.  Encountered: <EOF> after : "
        f'"{text[start:]}"'
    )


# -- parsing ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def is_word(self, *words: str) -> bool:
        return self.current.kind == "ident" and self.current.text.lower() in words

    def fail(self, expecting: Sequence[str]) -> QboFault:
        token = self.current
        if token.kind == "end":
            shown = '"<EOF>"'
        elif token.kind == "ident" and token.text.lower() in _KEYWORDS:
            shown = f'" <{token.text.upper()}> "{token.text} ""'
        elif token.kind == "ident":
            shown = f'" <IDENTIFIER> "{token.text} ""'
        else:
            shown = f'" "{token.text}" "{token.text} ""'
        wanted = "\n".join(f"    {w} ..." for w in expecting)
        return query_parser_error(
            f"Encountered {shown} at line 1, column {token.column}.\nWas expecting one of:\n"
            f"{wanted}"
        )

    def expect_word(self, word: str) -> None:
        if not self.is_word(word):
            raise self.fail([f'"{word}"'])
        self.advance()

    def identifier(self, expecting: str = "<IDENTIFIER>") -> str:
        token = self.current
        if token.kind != "ident" or token.text.lower() in _KEYWORDS:
            raise self.fail([expecting])
        self.advance()
        return token.text

    def literal(self) -> Any:
        token = self.current
        if token.kind in ("string", "number"):
            self.advance()
            return token.value
        if token.kind == "ident" and token.text.lower() in ("true", "false"):
            self.advance()
            return token.text.lower() == "true"
        raise self.fail(["<STRING>", "<NUMBER>", '"true"', '"false"'])

    def integer(self, name: str) -> int:
        token = self.current
        if token.kind != "number" or "." in token.text:
            raise self.fail([f"<INTEGER> after {name}"])
        self.advance()
        return int(token.text)

    def parse(self) -> Parsed:
        """The whole statement: select list, entity, then the optional clauses."""
        self.expect_word("select")
        count, fields = self.select_list()
        self.expect_word("from")
        parsed = Parsed(self.identifier("<ENTITY>"), count, fields)
        if self.is_word("where"):
            self.advance()
            parsed.conditions.append(self.condition())
            while self.is_word("and"):
                self.advance()
                parsed.conditions.append(self.condition())
        if self.is_word("orderby", "order"):
            if self.advance().text.lower() == "order":
                self.expect_word("by")
            parsed.order.append(self.order_term())
            while self.current.text == ",":
                self.advance()
                parsed.order.append(self.order_term())
        self.paging(parsed)
        if self.current.kind != "end":
            raise self.fail(["<EOF>", "<AND>", '"orderby"', '"startposition"', '"maxresults"'])
        return parsed

    def select_list(self) -> tuple[bool, tuple[str, ...] | None]:
        """``*`` (with ``, f`` extras), ``count(*)``, or field names: (count, fields)."""
        if self.current.text == "*":
            self.advance()
            # ``SELECT *, Sku``: every field and the ones returned only when asked for.
            while self.current.text == ",":
                self.advance()
                self.identifier()
            return False, None
        if self.is_word("count"):
            self.advance()
            for expected in ("(", "*", ")"):
                if self.current.text != expected:
                    raise self.fail([f'"{expected}"'])
                self.advance()
            return True, None
        names = [self.identifier('"*"')]
        while self.current.text == ",":
            self.advance()
            names.append(self.identifier())
        return False, tuple(names)

    def paging(self, parsed: Parsed) -> None:
        """``STARTPOSITION n`` and ``MAXRESULTS n``, in either order, each at most once."""
        while self.is_word("startposition", "maxresults"):
            keyword = self.advance().text.lower()
            if keyword == "startposition" and parsed.start is None:
                parsed.start = self.integer("STARTPOSITION")
            elif keyword == "maxresults" and parsed.maximum is None:
                parsed.maximum = self.integer("MAXRESULTS")
            else:
                self.pos -= 1
                break

    def condition(self) -> Condition:
        field = self.identifier()
        token = self.current
        if token.kind == "op":
            self.advance()
            return Condition(field, token.text, self.literal())
        if self.is_word("like"):
            self.advance()
            value = self.literal()
            if not isinstance(value, str):
                raise self.fail(["<STRING>"])
            return Condition(field, "like", value)
        if self.is_word("in"):
            self.advance()
            if self.current.text != "(":
                raise self.fail(['"("'])
            self.advance()
            values = [self.literal()]
            while self.current.text == ",":
                self.advance()
                values.append(self.literal())
            if self.current.text != ")":
                raise self.fail(['")"', '","'])
            self.advance()
            return Condition(field, "in", tuple(values))
        raise self.fail(['"="', '"!="', '"<"', '">"', '"<="', '">="', '"like"', '"in"'])

    def order_term(self) -> tuple[str, bool]:
        field = self.identifier()
        descending = False
        if self.is_word("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return field, descending


def parse_text(text: str) -> Parsed:
    """Parse ``text`` (syntax only)."""
    return _Parser(text).parse()
