"""Parse the plce model formula ``outcome ~ treatment(s) | controls + (1|g)``.

The grammar is lme4-flavoured Wilkinson notation:

* left of ``~``: the outcome, one column or expression (``np.log(y)``);
* between ``~`` and the top-level ``|``: one or more treatments joined by ``+``;
* right of ``|``: control terms in formulaic syntax (``C(x)``, ``np.log(x)``,
  ``x1:x2``, ``bs(x, 4)``) and random-intercept terms ``(1|g)``, ``(1|g1/g2)``;
* optionally a second ``|`` and fixed effects to absorb, fixest-style:
  ``y ~ t | x1 + x2 | unit + year`` (``unit^year`` for their combination).

Random-effect terms are pulled out before formulaic sees the string, since
formulaic (and patsy) reject ``(1|g)``. The result is a frozen
:class:`FormulaSpec`; nothing here touches data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import FormulaError

__all__ = ["FormulaSpec", "REterm", "parse"]

_IDENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_.]*|`[^`]+`)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m|[\u29db\u29da]")


@dataclass(frozen=True)
class REterm:
    """One random-intercept term.

    ``factors`` are the column names whose joint levels define the groups:
    ``(1|g)`` gives ``("g",)``; ``(1|g1/g2)`` expands to two terms, ``("g1",)``
    and ``("g1", "g2")``.
    """

    factors: tuple[str, ...]

    @property
    def name(self) -> str:
        return ":".join(self.factors)


@dataclass(frozen=True)
class FormulaSpec:
    """The parts of a parsed plce formula."""

    formula: str
    outcome: str
    treatments: tuple[str, ...]
    controls: tuple[str, ...]
    re_terms: tuple[REterm, ...] = field(default_factory=tuple)
    fixed_effects: tuple[tuple[str, ...], ...] = field(default_factory=tuple)  # ("unit",), ("unit", "year") for ^

    @property
    def group_columns(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for term in self.re_terms:
            for f in term.factors:
                seen.setdefault(f, None)
        return tuple(seen)

    @property
    def fe_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for fe in self.fixed_effects for c in fe))


def _clean(msg: str) -> str:
    return _ANSI.sub("", str(msg)).strip().splitlines()[0]


def _check_parens(formula: str) -> None:
    depth = 0
    opened: list[int] = []
    for i, ch in enumerate(formula):
        if ch == "(":
            depth += 1
            opened.append(i)
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(formula, "Unbalanced parentheses: ')' without a matching '('.", i)
            opened.pop()
    if depth:
        raise FormulaError(formula, "Unbalanced parentheses: '(' is never closed.", opened[-1])


def _split_top(text: str, sep: str) -> list[tuple[int, str]]:
    """Split ``text`` at ``sep`` outside parentheses; return (offset, piece) pairs."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
    pieces.append((start, text[start:]))
    return pieces


def _strip_name(name: str) -> str:
    name = name.strip()
    return name[1:-1] if name.startswith("`") and name.endswith("`") else name


def _parse_re(formula: str, body: str, offset: int) -> list[REterm]:
    lhs, _, grp = body.partition("|")
    if grp.count("|"):
        raise FormulaError(formula, f"Random-effect term '({body})' has more than one '|'.", offset)
    if lhs.strip() != "1":
        raise FormulaError(
            formula,
            f"Random slopes '({body.strip()})' are not supported; plce fits random intercepts "
            f"only. Write '(1|{grp.strip()})'.",
            offset,
        )
    parts = [p.strip() for p in grp.split("/")]
    if not all(parts) or not all(_IDENT.match(p) for p in parts):
        raise FormulaError(
            formula,
            f"Random-effect grouping '{grp.strip()}' must be a column name or nested names "
            "'g1/g2' (e.g. '(1|district)').",
            offset,
        )
    names = [_strip_name(p) for p in parts]
    return [REterm(tuple(names[: k + 1])) for k in range(len(names))]


def _validate_terms(formula: str, text: str, where: str) -> None:
    """Let formulaic check a piece of the formula; re-raise as FormulaError."""
    from formulaic import Formula

    try:
        parsed = Formula("0 + " + text)
        terms = list(parsed)
    except Exception as exc:  # formulaic raises several unrelated types
        raise FormulaError(formula, f"Cannot parse the {where} '{text.strip()}': {_clean(exc)}") from None
    if not terms:
        raise FormulaError(formula, f"The {where} '{text.strip()}' contains no terms.")


def parse(formula: str) -> FormulaSpec:
    """Parse a plce formula into a :class:`FormulaSpec`.

    Parameters
    ----------
    formula : str
        ``"outcome ~ treatment [+ treatment2] | controls [+ (1|g)]"``.

    Returns
    -------
    FormulaSpec

    Raises
    ------
    plce.FormulaError
        With the formula echoed and, where possible, a caret under the problem.

    Examples
    --------
    >>> from plce.formula import parse
    >>> spec = parse("y ~ t | x1 + C(x2) + (1|g)")
    >>> spec.treatments, spec.controls, spec.re_terms[0].name
    (('t',), ('x1', 'C(x2)'), 'g')
    """
    if not isinstance(formula, str):
        raise FormulaError(repr(formula), f"The formula must be a string, got {type(formula).__name__}.")
    if not formula.strip():
        raise FormulaError(formula, "The formula is empty. Write 'outcome ~ treatment | controls'.")
    _check_parens(formula)
    if formula.count("~") != 1:
        where = formula.find("~", formula.find("~") + 1) if formula.count("~") > 1 else None
        raise FormulaError(formula, "The formula needs exactly one '~' separating outcome and treatment.", where)
    lhs, rhs = formula.split("~")
    rhs_offset = len(lhs) + 1
    outcome = lhs.strip()
    if not outcome:
        raise FormulaError(formula, "Nothing left of '~': name the outcome, e.g. 'y ~ t | x'.", 0)
    if len(_split_top(outcome, "+")) > 1:
        raise FormulaError(formula, "plce takes one outcome; found several left of '~'.", 0)

    bars = _split_top(rhs, "|")
    if len(bars) == 1:
        terms = [t.strip() for _, t in _split_top(rhs, "+") if t.strip()]
        rest = " + ".join(terms[1:]) if len(terms) > 1 else "<controls>"
        fix = f"{outcome} ~ {terms[0] if terms else '<treatment>'} | {rest}"
        raise FormulaError(
            formula,
            "The formula has no '|' separating the treatment(s) from the controls. "
            f"Write e.g. '{fix}'.",
        )
    if len(bars) > 3:
        raise FormulaError(
            formula,
            "At most two top-level '|': 'outcome ~ treatment(s) | controls | fixed effects'. "
            "Random effects go in parentheses, '(1|g)'.",
            rhs_offset + bars[3][0] - 1,
        )
    (t_off, t_text), (c_off, c_text) = bars[:2]
    fixed_effects = _parse_fe(formula, bars[2][1], rhs_offset + bars[2][0]) if len(bars) == 3 else []

    treatments: list[str] = []
    for off, piece in _split_top(t_text, "+"):
        if piece.strip():
            treatments.append(piece.strip())
        elif t_text.strip():
            raise FormulaError(formula, "Empty treatment term (a stray '+').", rhs_offset + t_off + off)
    if not treatments:
        raise FormulaError(formula, "Nothing between '~' and '|': name the treatment, e.g. 'y ~ t | x'.", rhs_offset)
    for t in treatments:
        if "|" in t:
            raise FormulaError(formula, f"Random-effect term '{t}' must be right of '|'.")
        _validate_terms(formula, t, "treatment")

    controls: list[str] = []
    re_terms: list[REterm] = []
    base = rhs_offset + c_off
    pieces = _split_top(c_text, "+")
    for off, piece in pieces:
        text = piece.strip()
        if not text:
            if c_text.strip():
                raise FormulaError(formula, "Empty control term (a stray '+').", base + off)
            continue
        if text.startswith("(") and text.endswith(")") and "|" in text:
            re_terms.extend(_parse_re(formula, text[1:-1], base + off))
        elif "|" in text:
            raise FormulaError(
                formula,
                f"Term '{text}' contains '|'; random intercepts are written '(1|g)'.",
                base + off,
            )
        else:
            controls.append(text)
    if not controls and not re_terms and not fixed_effects:
        raise FormulaError(formula, "Nothing right of '|': name the controls, e.g. 'y ~ t | x1 + x2'.")
    if controls:
        _validate_terms(formula, " + ".join(controls), "controls")
    _validate_terms(formula, outcome, "outcome")

    seen: dict[str, REterm] = {}
    for term in re_terms:
        seen.setdefault(term.name, term)
    return FormulaSpec(
        formula=formula,
        outcome=outcome,
        treatments=tuple(dict.fromkeys(treatments)),
        controls=tuple(dict.fromkeys(controls)),
        re_terms=tuple(seen.values()),
        fixed_effects=tuple(dict.fromkeys(fixed_effects)),
    )


def _parse_fe(formula: str, text: str, offset: int) -> list[tuple[str, ...]]:
    """The fixed-effects part: column names joined by '+', '^' combining columns into one factor."""
    out = []
    for off, piece in _split_top(text, "+"):
        term = piece.strip()
        if not term:
            raise FormulaError(formula, "Empty fixed-effect term (a stray '+' after the second '|').", offset + off)
        names = [p.strip() for p in term.split("^")]
        if not all(names) or not all(_IDENT.match(p) for p in names):
            raise FormulaError(formula, f"Fixed effects are column names joined by '+' ('unit + year'), '^' for a "
                               f"combination ('unit^year'); got '{term}'. Other terms go left of the second '|'.",
                               offset + off)
        out.append(tuple(_strip_name(p) for p in names))
    return out
