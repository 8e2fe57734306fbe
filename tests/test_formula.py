import keyword
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plce import FormulaError, PLCEError
from plce.formula import REterm, parse


def test_basic_parts():
    spec = parse("dturnout ~ distance | age + income + (1|project)")
    assert spec.outcome == "dturnout"
    assert spec.treatments == ("distance",)
    assert spec.controls == ("age", "income")
    assert spec.re_terms == (REterm(("project",)),)
    assert "0 + " + " + ".join(spec.controls) == "0 + age + income"


def test_formulaic_terms_and_several_treatments():
    spec = parse("np.log(y) ~ t1 + t2 | C(x) + np.log(z) + x1:x2 + (1|g1/g2) + (1|h)")
    assert spec.outcome == "np.log(y)"
    assert spec.treatments == ("t1", "t2")
    assert spec.controls == ("C(x)", "np.log(z)", "x1:x2")
    assert [t.name for t in spec.re_terms] == ["g1", "g1:g2", "h"]
    assert spec.group_columns == ("g1", "g2", "h")


def test_plus_inside_function_call_is_not_split():
    spec = parse("y ~ t | np.log(x + 1) + z")
    assert spec.controls == ("np.log(x + 1)", "z")


@pytest.mark.parametrize(
    "formula, match",
    [
        ("y ~ t + x", r"no '\|'.*y ~ t \| x"),
        ("y ~ | x", "Nothing between '~' and '\\|'"),
        ("~ t | x", "Nothing left of '~'"),
        ("y ~ t |", "Nothing right of '\\|'"),
        ("y ~ t | x + (1|g", "Unbalanced parentheses"),
        ("y ~ t | x + 1|g)", "Unbalanced parentheses"),
        ("y ~ t | (x|g)", "Random slopes"),
        ("y ~ t | (1 + x|g)", "Random slopes"),
        ("y ~ t | x | z | w", "At most two top-level"),
        ("y ~ t | x ++ z", "stray"),
        ("y ~ t ~ z | x", "exactly one '~'"),
        ("y + w ~ t | x", "one outcome"),
        ("", "empty"),
        ("y ~ t | x + (1|)", "grouping"),
        ("y ~ t | x + (1|a b)", "grouping"),
    ],
)
def test_bad_formulas(formula, match):
    with pytest.raises(FormulaError, match=match):
        parse(formula)


def test_formula_error_is_plce_error_and_value_error():
    with pytest.raises(ValueError):
        parse("y ~ t")
    assert issubclass(FormulaError, PLCEError)


def test_non_string():
    with pytest.raises(PLCEError, match="must be a string"):
        parse(42)


# --- property-based tests ---------------------------------------------------------------

names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6).filter(
    lambda s: not keyword.iskeyword(s) and not keyword.issoftkeyword(s)
)
control_term = st.one_of(
    names,
    names.map(lambda s: f"C({s})"),
    names.map(lambda s: f"np.log({s})"),
    st.tuples(names, names).map(lambda p: f"{p[0]}:{p[1]}"),
)


@settings(max_examples=150, deadline=None)
@given(
    outcome=names,
    treatments=st.lists(names, min_size=1, max_size=3, unique=True),
    controls=st.lists(control_term, min_size=1, max_size=5, unique=True),
    groups=st.lists(st.lists(names, min_size=1, max_size=2), max_size=2),
)
def test_valid_formulas_parse_into_their_parts(outcome, treatments, controls, groups):
    re_strs = [f"(1|{'/'.join(g)})" for g in groups]
    formula = f"{outcome} ~ {' + '.join(treatments)} | {' + '.join(controls + re_strs)}"
    spec = parse(formula)
    assert spec.outcome == outcome
    assert spec.treatments == tuple(treatments)
    assert spec.controls == tuple(controls)
    expected = []
    for g in groups:
        for k in range(len(g)):
            name = ":".join(g[: k + 1])
            if name not in expected:
                expected.append(name)
    assert [t.name for t in spec.re_terms] == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + " ~|+()-*:/.,_^[]{}'\"=!", max_size=40))
def test_junk_raises_only_plce_error(text):
    try:
        parse(text)
    except PLCEError:
        pass
