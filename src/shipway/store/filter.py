"""The run search language: a pure parser from text to a small syntax tree.

MLflow's filters parse unchanged (``metrics.auc > 0.9 and params.model = 'rf'``), and the
language goes further: ``OR``, ``NOT``, parentheses, and numeric comparison of params.
Precedence: NOT binds tighter than AND, AND tighter than OR. Every error names the
offending token and its position.

A search is bounded so that no input can exhaust the parser's stack or the databases' query
planners (SQLite 3.40 crashes ordering by 31 joined keys): at most ``MAX_COMPARISONS``
comparisons, nested at most ``MAX_DEPTH`` deep, ``MAX_IN_VALUES`` values in one IN list,
``MAX_ORDER_KEYS`` order keys and ``MAX_FILTER_CHARS`` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.errors import FilterSyntaxError

KINDS = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameter": "param",
    "parameters": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "datasets": "dataset",
    "dataset": "dataset",
}
ATTRIBUTES = {
    "run_id": "run_id",
    "run_name": "run_name",
    "name": "run_name",
    "status": "status",
    "user": "user",
    "user_id": "user",
    "start_time": "start_time",
    "end_time": "end_time",
    "artifact_uri": "artifact_uri",
    "experiment_id": "experiment_id",
    "parent_run_id": "parent_run_id",
    "created": "start_time",
}
NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
DATASET_FIELDS = {"name", "digest", "role"}
ORDERING = {"=", "!=", "<", "<=", ">", ">="}
STRING_OPS = {"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}

Value = str | float | tuple[str | float, ...] | None

MAX_COMPARISONS = 100
MAX_DEPTH = 32
MAX_IN_VALUES = 1000
MAX_ORDER_KEYS = 10
MAX_FILTER_CHARS = 20_000


@dataclass(frozen=True)
class Comparison:
    kind: str
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    kind: str
    key: str
    descending: bool = False


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, op, lparen, rparen, comma, word, end
    text: str
    value: object
    position: int


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<backtick>`[^`]*`)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_])
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-/:]*(?:\.(?:[A-Za-z0-9_\-/:]+|`[^`]*`|"[^"]*"))*)
    )""",
    re.VERBOSE,
)


def _fail(text: str, position: int, message: str, token: str) -> FilterSyntaxError:
    caret = f"\n  {text}\n  {' ' * position}^"
    return FilterSyntaxError(
        f"invalid filter at position {position}: {message}{caret}",
        details={"position": position, "token": token},
    )


def tokenize(text: str) -> list[Token]:
    if "\x00" in text:  # PostgreSQL cannot compare it, so neither store takes it
        raise _fail(text, text.index("\x00"), "a filter may not contain a NUL character", "\\x00")
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            start = len(text) - len(text[position:].lstrip())
            raise _fail(text, start, f"unexpected character {text[start]!r}", text[start])
        kind = match.lastgroup or ""
        raw = match.group(kind)
        start = match.start(kind)
        if kind == "string":
            body = raw[1:-1]
            value: object = re.sub(
                r"\\(.)", r"\1", body.replace("''", "'") if raw[0] == "'" else body
            )
            tokens.append(Token("string", raw, value, start))
        elif kind == "backtick":
            raise _fail(text, start, "a quoted key needs a prefix, e.g. metrics.`f1-score`", raw)
        elif kind == "number":
            tokens.append(Token("number", raw, float(raw), start))
        elif kind == "op":
            tokens.append(Token("op", raw, {"==": "=", "<>": "!="}.get(raw, raw), start))
        else:
            tokens.append(Token(kind, raw, raw, start))
        position = match.end()
    tokens.append(Token("end", "end of input", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0  # NOTs and parentheses open around the current token
        self.comparisons = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def fail(self, message: str, token: Token | None = None) -> FilterSyntaxError:
        token = token or self.token
        return _fail(self.text, token.position, message, token.text)

    def keyword(self, *words: str) -> bool:
        """Consume the keyword(s) if they come next."""
        for offset, word in enumerate(words):
            token = self.tokens[self.i + offset] if self.i + offset < len(self.tokens) else None
            if token is None or token.kind != "word" or token.text.upper() != word:
                return False
        self.i += len(words)
        return True

    def parse(self) -> Node:
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.fail(
                f"expected AND, OR or the end of the filter but found {self.token.text!r}"
            )
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.keyword("OR"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.keyword("AND"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Node:
        if self.token.kind == "lparen" or (
            self.token.kind == "word" and self.token.text.upper() == "NOT"
        ):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"the filter nests NOT and parentheses more than {MAX_DEPTH} deep")
            try:
                return self._parse_nested()
            finally:
                self.depth -= 1
        return self.parse_comparison()

    def _parse_nested(self) -> Node:
        if self.keyword("NOT"):
            return Not(self.parse_not())
        opening = self.token
        self.i += 1
        node = self.parse_or()
        if self.token.kind != "rparen":
            raise self.fail(
                f"expected ')' to close the '(' at position {opening.position} but found {self.token.text!r}"
            )
        self.i += 1
        return node

    def parse_comparison(self) -> Comparison:
        ident = self.token
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.fail(f"the filter has more than {MAX_COMPARISONS} comparisons")
        if ident.kind != "word":
            raise self.fail(f"expected an identifier such as metrics.auc but found {ident.text!r}")
        kind, key = self.identifier(ident)
        self.i += 1
        op = self.operator()
        if op in ("IS NULL", "IS NOT NULL"):
            if kind not in ("param", "tag", "metric") and not (
                kind == "attribute" and key in ("end_time", "parent_run_id")
            ):
                raise self.fail(
                    f"{op} works on metrics, params and tags, not on {ident.text}", ident
                )
            return Comparison(kind, key, op, None)
        value = self.value(op)
        self.check(kind, key, op, value, ident)
        return Comparison(kind, key, op, value)

    def identifier(self, token: Token) -> tuple[str, str]:
        text = token.text
        prefix, _, rest = text.partition(".")
        if not rest:
            if text.lower() in ATTRIBUTES:  # a bare attribute, as MLflow allows for a few
                return "attribute", ATTRIBUTES[text.lower()]
            raise self.fail(
                f"{text!r} needs a prefix: metrics., params., tags., attributes. or datasets.",
                token,
            )
        kind = KINDS.get(prefix.lower())
        if kind is None:
            raise self.fail(
                f"unknown identifier prefix {prefix!r}; use metrics., params., tags., attributes. or datasets.",
                token,
            )
        key = rest[1:-1] if rest[:1] in '`"' and rest[-1:] == rest[:1] and len(rest) > 1 else rest
        if kind == "attribute":
            if key.lower() not in ATTRIBUTES:
                raise self.fail(
                    f"unknown attribute {key!r}; use one of: {', '.join(sorted(set(ATTRIBUTES)))}",
                    token,
                )
            key = ATTRIBUTES[key.lower()]
        if kind == "dataset" and key not in DATASET_FIELDS:
            raise self.fail(f"unknown dataset field {key!r}; use name, digest or role", token)
        if not key:
            raise self.fail("empty key after the prefix", token)
        return kind, key

    def operator(self) -> str:
        token = self.token
        if token.kind == "op":
            self.i += 1
            return str(token.value)
        for words, op in (
            (("IS", "NOT", "NULL"), "IS NOT NULL"),
            (("IS", "NULL"), "IS NULL"),
            (("NOT", "IN"), "NOT IN"),
            (("LIKE",), "LIKE"),
            (("ILIKE",), "ILIKE"),
            (("IN",), "IN"),
        ):
            if self.keyword(*words):
                return op
        raise self.fail(
            f"expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL) but found {token.text!r}"
        )

    def value(self, op: str) -> Value:
        token = self.token
        if op in ("IN", "NOT IN"):
            if token.kind != "lparen":
                raise self.fail(f"expected '(' after {op} but found {token.text!r}")
            self.i += 1
            items: list[str | float] = []
            while True:
                item = self.token
                if item.kind not in ("string", "number"):
                    raise self.fail(f"expected a value in the {op} list but found {item.text!r}")
                items.append(item.value)  # type: ignore[arg-type]
                if len(items) > MAX_IN_VALUES:
                    raise self.fail(f"an {op} list has at most {MAX_IN_VALUES} values", item)
                self.i += 1
                if self.token.kind == "comma":
                    self.i += 1
                    continue
                if self.token.kind == "rparen":
                    self.i += 1
                    return tuple(items)
                raise self.fail(
                    f"expected ',' or ')' in the {op} list but found {self.token.text!r}"
                )
        if token.kind not in ("string", "number"):
            raise self.fail(f"expected a value after {op!r} but found {token.text!r}")
        self.i += 1
        return token.value  # type: ignore[return-value]

    def check(self, kind: str, key: str, op: str, value: Value, ident: Token) -> None:
        sample = value[0] if isinstance(value, tuple) else value
        numeric = isinstance(sample, float)
        where = self.tokens[self.i - 1]
        if kind == "metric" or (kind == "attribute" and key in NUMERIC_ATTRIBUTES):
            if not numeric or op not in ORDERING:
                raise self.fail(f"{ident.text} compares with numbers using = != < <= > >=", where)
        elif kind == "param":
            if numeric and op not in ORDERING:
                raise self.fail(f"{op} on {ident.text} needs a quoted string", where)
            if not numeric and op not in STRING_OPS:
                raise self.fail(
                    f"{op} on {ident.text} needs a number (or use = != LIKE ILIKE IN with strings)",
                    where,
                )
        else:
            if numeric or op not in STRING_OPS:
                raise self.fail(
                    f"{ident.text} compares with quoted strings using = != LIKE ILIKE IN NOT IN",
                    where,
                )
        if isinstance(value, tuple) and any(isinstance(v, float) != numeric for v in value):
            raise self.fail(f"the {op} list mixes numbers and strings", where)


def parse_filter(text: str | None) -> Node | None:
    """The syntax tree of a filter, or None for an empty one."""
    if text is None or not text.strip():
        return None
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter is a string, not {type(text).__name__}")
    if len(text) > MAX_FILTER_CHARS:
        raise FilterSyntaxError(
            f"a filter has at most {MAX_FILTER_CHARS:,} characters; this one has {len(text):,}"
        )
    return _Parser(text).parse()


def parse_order_by(items: list[str] | None) -> list[OrderKey]:
    """``["metrics.auc DESC", "params.model", "start_time ASC"]`` as order keys."""
    if len(items or []) > MAX_ORDER_KEYS:
        raise FilterSyntaxError(
            f"runs can be ordered by at most {MAX_ORDER_KEYS} keys; {len(items or [])} were given",
            details={"limit": MAX_ORDER_KEYS},
        )
    keys = []
    for item in items or []:
        parser = _Parser(item)
        token = parser.token
        if token.kind != "word":
            raise parser.fail(
                f"expected an identifier such as metrics.auc but found {token.text!r}"
            )
        kind, key = parser.identifier(token)
        parser.i += 1
        descending = False
        if parser.keyword("DESC"):
            descending = True
        elif not parser.keyword("ASC") and parser.token.kind != "end":
            raise parser.fail(f"expected ASC or DESC but found {parser.token.text!r}")
        if parser.token.kind != "end":
            raise parser.fail(f"unexpected {parser.token.text!r} after the order direction")
        if kind == "dataset":
            raise parser.fail("runs cannot be ordered by dataset fields", token)
        keys.append(OrderKey(kind, key, descending))
    return keys
