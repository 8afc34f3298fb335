"""Grammar and parser: text -> syntax tree (with positions), or :class:`RuleError`.

The grammar is LALR(1) (``lark``, with a small single-regex lexer) and the syntax tree is built
by an inline transformer while parsing.  Operator sequences are grouped by precedence climbing
(``_climb``) -- or < and < not < comparisons < + - < * / % < unary minus -- which keeps the
number of LALR reductions per token low.  Nothing recurses over user-controlled depth: the
depth and node-count limits are enforced as nodes are created.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lark import Lark, Token, Transformer
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.lexer import Lexer

from app.rules.errors import RuleError

MAX_TEXT_LENGTH = 1000
MAX_DEPTH = 50
MAX_NODES = 500

GRAMMAR = r"""
start: expr
definition: NAME [_LPAR [param (_COMMA param)*] _RPAR] _EQUAL expr
param: NAME [_EQUAL signed]
signed: [MINUS] NUMBER

// Operators are read as a flat sequence (operand, operator, operand, ...) and grouped by
// precedence climbing in the tree builder: fewer LALR reductions per token, same language.
expr: _term ((OR | AND | COMP_OP | PLUS | MINUS | MUL_OP) _term | in_suffix)*
_term: (NOT | MINUS | PLUS)* operand
?operand: NUMBER -> number
    | STRING -> string
    | NAME -> name
    | NAME _LPAR [arg (_COMMA arg)*] _RPAR -> call
    | _LPAR expr _RPAR
in_suffix: IN _LPAR STRING (_COMMA STRING)* _RPAR
    | IN _LSQB STRING (_COMMA STRING)* _RSQB
?arg: expr | NAME _EQUAL expr -> kwarg

OR: /or\b/i
AND: /and\b/i
NOT: /not\b/i
IN: /in\b/i
COMP_OP: ">=" | "<=" | "==" | "!=" | ">" | "<"
MUL_OP: "*" | "/" | "%"
MINUS: "-"
PLUS: "+"
_LPAR: "("
_RPAR: ")"
_LSQB: "["
_RSQB: "]"
_COMMA: ","
_EQUAL: "="
NAME: /(?!(?i:and|or|not|in)\b)[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /"[^"\n]*"|'[^'\n]*'/
%ignore /[ \t\r\n]+/
"""


# --------------------------------------------------------------------------- syntax nodes
class Node:
    """A syntax-tree node; ``pos`` is the 0-based offset where it starts in the text."""

    __slots__ = ("pos", "depth", "size")
    children: tuple = ()

    def _measure(self, *children: Node) -> None:
        depth = size = 0
        for c in children:
            if c.depth > depth:
                depth = c.depth
            size += c.size
        self.depth = depth + 1
        self.size = size + 1
        if self.depth > MAX_DEPTH:
            raise RuleError(
                f"the formula is nested too deeply (more than {MAX_DEPTH} levels)",
                self.pos,
            )
        if self.size > MAX_NODES:
            raise RuleError(
                f"the formula is too large (more than {MAX_NODES} parts); split it up",
                self.pos,
            )


@dataclass(eq=False, slots=True)
class Num(Node):
    pos: int
    value: float

    def __post_init__(self):
        self.depth = self.size = 1


@dataclass(eq=False, slots=True)
class Str(Node):
    pos: int
    value: str

    def __post_init__(self):
        self.depth = self.size = 1


@dataclass(eq=False, slots=True)
class Name(Node):
    pos: int
    name: str

    def __post_init__(self):
        self.depth = self.size = 1


@dataclass(eq=False, slots=True)
class Arg:
    pos: int
    name: str | None  # None for positional
    value: Node


@dataclass(eq=False, slots=True)
class Call(Node):
    pos: int
    name: str
    args: tuple[Arg, ...]

    def __post_init__(self):
        self._measure(*(a.value for a in self.args))


@dataclass(eq=False, slots=True)
class Unary(Node):
    pos: int
    op: str  # "-" | "+" | "not"
    operand: Node

    def __post_init__(self):
        self._measure(self.operand)


@dataclass(eq=False, slots=True)
class Binary(Node):
    pos: int  # position of the operator
    op: str  # + - * / % > >= < <= == != and or
    left: Node
    right: Node

    def __post_init__(self):
        self._measure(self.left, self.right)


@dataclass(eq=False, slots=True)
class In(Node):
    pos: int
    operand: Node
    values: tuple[str, ...]

    def __post_init__(self):
        self._measure(self.operand)


@dataclass(eq=False, slots=True)
class Definition:
    name: str
    pos: int
    params: tuple[tuple[str, float | None, int], ...]  # (name, default, position)
    body: Node
    body_pos: int


def _number(tok: Token) -> float:
    value = float(tok)
    if not math.isfinite(value):
        raise RuleError(f"the number `{tok}` is too large", tok.start_pos)
    return value


def _string(tok: Token) -> str:
    return str(tok)[1:-1]


@dataclass(eq=False, slots=True)
class _InSuffix:
    pos: int
    values: tuple[str, ...]


# binary operator precedence (higher binds tighter); prefix operators
_BINARY = {"or": 1, "and": 2, ">": 4, ">=": 4, "<": 4, "<=": 4, "==": 4, "!=": 4}
_BINARY.update({"+": 5, "-": 5, "*": 6, "/": 6, "%": 6})
_PREFIX = {"not": 3, "-": 7, "+": 7}
_COMPARISON = 4


def _climb(items: list) -> Node:
    """Group a flat ``operand (operator operand | in (...))*`` sequence by precedence.

    Iterative (explicit stacks), so the nesting a user types never recurses in Python.
    Comparisons (and ``in``) do not chain: ``a < b < c`` is an error, as in the grammar.
    """
    out: list[Node] = []
    ops: list[tuple[bool, str, int, int]] = []  # (is_prefix, op, precedence, position)
    compared_at: int | None = None  # position of a comparison since the last and/or/not

    def reduce() -> None:
        prefix, op, _, pos = ops.pop()
        if prefix:
            out.append(Unary(pos, op, out.pop()))
        else:
            right = out.pop()
            out.append(Binary(pos, op, out.pop(), right))

    def close_until(prec: int) -> None:
        # left-associative binary operators; prefix operators bind their whole operand
        while ops and ops[-1][2] >= prec:
            reduce()

    expect_operand = True
    for item in items:
        if isinstance(item, Node):
            out.append(item)
            expect_operand = False
        elif isinstance(item, _InSuffix):
            if compared_at is not None:
                raise _chained(item.pos)
            close_until(_COMPARISON)
            out.append(In(_start_of(out[-1]), out.pop(), item.values))
            compared_at = item.pos
        else:
            op = str(item).lower()
            pos = item.start_pos
            if expect_operand:  # a prefix operator
                prec = _PREFIX[op]
                if op == "not":
                    compared_at = None
                ops.append((True, op, prec, pos))
                continue
            prec = _BINARY[op]
            if prec == _COMPARISON:
                if compared_at is not None:
                    raise _chained(pos)
                compared_at = pos
            elif prec < _COMPARISON:
                compared_at = None
            close_until(prec)
            ops.append((False, op, prec, pos))
            expect_operand = True
    while ops:
        reduce()
    return out[0]


def _start_of(node: Node) -> int:
    while isinstance(node, (Binary, In)):
        node = node.left if isinstance(node, Binary) else node.operand
    return node.pos


def _chained(pos: int) -> RuleError:
    return RuleError("comparisons cannot be chained; combine them with `and`", pos, ["`and`", "`or`"])


class _Build(Transformer):
    """Inline (during parsing) construction of the syntax tree."""

    def number(self, c):
        return Num(c[0].start_pos, _number(c[0]))

    def string(self, c):
        return Str(c[0].start_pos, _string(c[0]))

    def name(self, c):
        return Name(c[0].start_pos, str(c[0]).lower())

    def call(self, c):
        name_tok, args = c[0], c[1:]
        built = []
        for a in args:
            if a is None:
                continue
            if isinstance(a, Arg):
                built.append(a)
            else:
                built.append(Arg(a.pos, None, a))
        return Call(name_tok.start_pos, str(name_tok).lower(), tuple(built))

    def kwarg(self, c):
        return Arg(c[0].start_pos, str(c[0]).lower(), c[1])

    def in_suffix(self, c):
        return _InSuffix(c[0].start_pos, tuple(_string(t).casefold() for t in c[1:]))

    def expr(self, c):
        return _climb(c)

    def start(self, c):
        return c[0]

    def signed(self, c):
        value = _number(c[1])
        return (-value if c[0] is not None else value), (c[0] or c[1]).start_pos

    def param(self, c):
        default = None if c[1] is None else c[1][0]
        return (str(c[0]).lower(), default, c[0].start_pos)

    def definition(self, c):
        name_tok, *params, body = c
        params = [p for p in params if p is not None]
        return Definition(str(name_tok).lower(), name_tok.start_pos, tuple(params), body, body.pos)


_TOKEN_RE = re.compile(
    r"""
    (?P<WS>[ \t\r\n]+)
    |(?P<NUMBER>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<STRING>"[^"\n]*"|'[^'\n]*')
    |(?P<COMP_OP>>=|<=|==|!=|>|<)
    |(?P<OP>[-+*/%(),\[\]=])
    """,
    re.X,
)
_OPS = {
    "-": "MINUS",
    "+": "PLUS",
    "*": "MUL_OP",
    "/": "MUL_OP",
    "%": "MUL_OP",
    "(": "_LPAR",
    ")": "_RPAR",
    "[": "_LSQB",
    "]": "_RSQB",
    ",": "_COMMA",
    "=": "_EQUAL",
}
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT", "in": "IN"}


class _Lexer(Lexer):
    """A single-regex tokenizer (faster than lark's generic lexers; same terminals)."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, text):
        pos = 0
        end = len(text)
        match = _TOKEN_RE.match
        while pos < end:
            m = match(text, pos)
            if m is None:
                # an unknown character: the parser rejects this token and says what it expected
                yield Token("BAD_CHARACTER", text[pos], pos, 1, pos + 1)
                return
            kind = m.lastgroup
            value = m.group()
            if kind == "WS":
                pos = m.end()
                continue
            if kind == "NAME":
                kind = _KEYWORDS.get(value.lower(), "NAME")
            elif kind == "OP":
                kind = _OPS[value]
            yield Token(kind, value, pos, 1, pos + 1)
            pos = m.end()


_PARSER = Lark(
    GRAMMAR,
    parser="lalr",
    start=["start", "definition"],
    transformer=_Build(),
    maybe_placeholders=True,
    lexer=_Lexer,
)

_FRIENDLY = {
    "NUMBER": "a number",
    "NAME": "a field or function name",
    "STRING": 'a text in quotes ("...")',
    "_LPAR": "`(`",
    "LPAR": "`(`",
    "_RPAR": "`)`",
    "RPAR": "`)`",
    "_LSQB": "`[`",
    "_RSQB": "`]`",
    "_COMMA": "`,`",
    "COMMA": "`,`",
    "COMP_OP": "a comparison (> >= < <= == !=)",
    "MUL_OP": "`*`, `/` or `%`",
    "MINUS": "`-`",
    "PLUS": "`+`",
    "AND": "`and`",
    "OR": "`or`",
    "NOT": "`not`",
    "IN": "`in`",
    "_EQUAL": "`=`",
    "$END": "the end of the formula",
}

_ORDER = list(dict.fromkeys(_FRIENDLY.values()))


def _plain_parse_table(parser: Lark) -> None:
    """Lark keys its LALR table by ``Token`` rule names; plain ``str`` keys hash and compare
    faster (same equality), which matters when compiling thousands of rules."""
    try:
        table = parser.parser.parser.parser.parse_table
        table.states = {st: {str(k): v for k, v in actions.items()} for st, actions in table.states.items()}
        for rule in parser.rules:
            rule.origin.name = str(rule.origin.name)
    except AttributeError:  # pragma: no cover - a lark layout change: just skip the speed-up
        pass


_plain_parse_table(_PARSER)


def _expected(names) -> list[str]:
    out = {_FRIENDLY.get(n, n) for n in names}
    return sorted(out, key=lambda s: _ORDER.index(s) if s in _ORDER else len(_ORDER))


def _char_error(text: str, pos: int, expected) -> RuleError:
    ch = text[pos : pos + 2]
    if ch[:1] in "&|":
        return RuleError("use `and` / `or` to combine conditions", pos, ["`and`", "`or`"])
    if ch[:1] == "!":
        return RuleError("use `not` to negate a condition (or `!=` to compare)", pos, ["`not`"])
    return RuleError(f"unexpected character `{text[pos]}`", pos, expected)


def _token_text(tok: Token) -> str:
    return str(tok) if len(str(tok)) <= 20 else str(tok)[:20] + "…"


def _syntax_error(text: str, e: UnexpectedInput) -> RuleError:
    pos = getattr(e, "pos_in_stream", None)
    if isinstance(e, UnexpectedToken) and e.token.type == "$END" or isinstance(e, UnexpectedEOF):
        expected = _expected(getattr(e, "expected", ()) or getattr(e, "accepts", ()))
        return RuleError("the formula ends too early", len(text), expected)
    if pos is None:
        pos = len(text)
    ch = text[pos : pos + 2]
    if ch[:1] == "=" and ch != "==":
        return RuleError("use `==` to compare (a single `=` names an argument)", pos, ["`==`"])
    if ch[:1] in "&|":
        return RuleError("use `and` / `or` to combine conditions", pos, ["`and`", "`or`"])
    if isinstance(e, UnexpectedToken) and e.token.type == "BAD_CHARACTER":
        if ch[:1] in "\"'":
            return RuleError("text in quotes is not closed", pos, ["a closing quote"])
        return _char_error(text, pos, _expected(e.expected or ()))
    if isinstance(e, UnexpectedCharacters):  # pragma: no cover - our lexer never raises it
        return _char_error(text, pos, _expected(e.allowed or ()))
    if isinstance(e, UnexpectedToken):
        allowed = _expected(e.expected or ())
        return RuleError(f"unexpected `{_token_text(e.token)}`", pos, allowed)
    return RuleError("the formula could not be read", pos)  # pragma: no cover


def _parse(text: str, start: str):
    if not isinstance(text, str):
        raise RuleError("the formula must be text")
    if len(text) > MAX_TEXT_LENGTH:
        raise RuleError(
            f"the formula is too long ({len(text)} characters; the limit is {MAX_TEXT_LENGTH})",
            MAX_TEXT_LENGTH,
        )
    if not text.strip():
        raise RuleError("the formula is empty", 0, ["a condition or a number"])
    try:
        return _PARSER.parse(text, start=start)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None


def parse(text: str) -> Node:
    """Parse a rule expression into a syntax tree (raises :class:`RuleError`)."""
    return _parse(text, "start")


def parse_definition_syntax(text: str) -> Definition:
    """Parse ``name(p=1, q=2) = expression`` (raises :class:`RuleError`)."""
    return _parse(text, "definition")
