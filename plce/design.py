"""Build the estimation design from a parsed formula and a data frame.

One missing-value mask is computed over *every* column the model uses
(outcome, treatments, controls, random-effect groups, clusters) before
anything is split into folds, so auxiliary arrays can never be misaligned.
Categorical controls (``C(x)`` or a non-numeric column) are kept as pandas
categoricals, which LightGBM uses natively; other learners get dummies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import MissingValueWarning, PLCEError, PLCEWarning, closest_names, warn
from .formula import FormulaSpec

__all__ = ["Design", "build", "from_arrays", "safe_names"]

MissingPolicy = Literal["drop", "raise"]
_C_TERM = re.compile(r"^C\(\s*([A-Za-z_][A-Za-z0-9_.]*|`[^`]+`)\s*\)$")


@dataclass(frozen=True)
class Design:
    """Arrays for estimation, with names and the row bookkeeping.

    Attributes
    ----------
    y : ndarray, shape (n,)
    T : ndarray, shape (n, k)
        One column per treatment.
    X : DataFrame, shape (n, p)
        Controls for the learners: float columns and pandas categoricals. Column names are made safe for
        LightGBM (no ``"``, ``,``, ``:``, ``[``, ``]``, ``{``, ``}``); ``control_labels`` keeps the formula's names.
    groups : dict of name -> int ndarray
        Integer codes of each random-intercept factor (in formula order).
    fixed_effects : dict of name -> int ndarray
        Integer codes of each fixed-effect factor (``y ~ t | x | fe1 + fe2``).
    clusters : ndarray of shape (n, c) or None
        Integer codes of the one or two cluster variables.
    weights : ndarray of shape (n,) or None
        Sampling (survey) weights, normalised to mean 1.
    row_mask : ndarray of bool
        Over the rows of the input data: True where the row was used.
    input_index : Index
        The index of the input data (all rows; ``input_index[row_mask]`` are the rows used).
    scale_y, scale_t : float, ndarray
        Powers of two the outcome and treatments were divided by when their magnitude was extreme (1 otherwise);
        every estimate is reported on the original scale.
    notes : tuple of str
        What was converted on the way in (numbers stored as text, a labelled treatment, ...).
    """

    y: np.ndarray
    T: np.ndarray
    X: pd.DataFrame
    outcome_name: str
    treatment_names: tuple[str, ...]
    groups: dict = field(default_factory=dict)
    clusters: np.ndarray | None = None
    cluster_names: tuple[str, ...] = ()
    row_mask: np.ndarray | None = None
    dropped: dict = field(default_factory=dict)
    formula: str | None = None
    input_index: pd.Index | None = None
    control_labels: tuple[str, ...] = ()
    fixed_effects: dict = field(default_factory=dict)
    weights: np.ndarray | None = None
    weights_name: str | None = None
    scale_y: float = 1.0
    scale_t: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_dropped(self) -> int:
        return 0 if self.row_mask is None else int((~self.row_mask).sum())

    @property
    def control_names(self) -> tuple[str, ...]:
        return tuple(self.X.columns)

    @property
    def labels(self) -> dict:
        """Learner-safe control name -> the name in the formula."""
        return dict(zip(self.X.columns, self.control_labels or self.X.columns))

    @property
    def categorical_controls(self) -> tuple[str, ...]:
        return tuple(c for c in self.X.columns if isinstance(self.X[c].dtype, pd.CategoricalDtype))

    @property
    def effect_scale(self) -> np.ndarray:
        """Factor taking an effect on the internal scale back to the data's: scale_y / scale_t."""
        st = np.ones(self.T.shape[1]) if self.scale_t is None else self.scale_t
        return self.scale_y / st

    def numeric_X(self) -> np.ndarray:
        """Controls as a float matrix, categoricals as treatment-coded dummies."""
        if not self.categorical_controls:
            return self.X.to_numpy(dtype=float)
        return self.numeric_frame().to_numpy(dtype=float)

    def numeric_frame(self) -> pd.DataFrame:
        """:meth:`numeric_X` with column names (dummies named ``column_level``)."""
        if not self.categorical_controls:
            return self.X.astype(float)
        return pd.get_dummies(self.X, drop_first=True, dtype=float)


#: characters LightGBM refuses in feature names
_UNSAFE = re.compile(r'[",:\[\]{}]')
#: values beyond 2**64 (or below 2**-64) in absolute size are rescaled by an exact power of two
_EXTREME = 64
#: a categorical control with more levels than this (and than n/10) gets a warning
MANY_LEVELS = 50


def safe_names(names) -> list[str]:
    """Feature names LightGBM accepts (special characters replaced by ``_``), kept unique."""
    out, seen = [], set()
    for name in names:
        base = _UNSAFE.sub("_", str(name))
        cand, k = base, 1
        while cand in seen:
            k += 1
            cand = f"{base}_{k}"
        seen.add(cand)
        out.append(cand)
    return out


def _power_of_two(values: np.ndarray) -> float:
    """2**k bringing the largest |value| near 1 when it is beyond 2**64 or below 2**-64 (else 1): exact scaling."""
    a = np.abs(values[np.isfinite(values)])
    top = float(a.max()) if a.size else 0.0
    if top == 0.0:
        return 1.0
    k = int(np.round(np.log2(top)))
    return float(2.0**k) if abs(k) > _EXTREME else 1.0


def _as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except Exception as exc:
            raise PLCEError(f"Could not turn the dict passed as data into a DataFrame: {exc}") from None
    kind = f"{type(data).__module__.split('.')[0]}.{type(data).__name__}"
    if hasattr(data, "__dataframe__") or hasattr(data, "to_pandas"):
        try:  # polars, pyarrow, ... through the dataframe interchange protocol
            return pd.api.interchange.from_dataframe(data)
        except Exception:
            try:
                return data.to_pandas()
            except Exception as exc:
                raise PLCEError(f"Could not convert the {kind} to a pandas DataFrame ({exc}); pass "
                                "data.to_pandas() instead.") from None
    raise PLCEError(
        f"data must be a pandas DataFrame (or a dict of equal-length arrays, or a polars/pyarrow table); got "
        f"{kind}. Use pd.DataFrame(...) or pd.read_csv/read_stata first."
    )


def _missing_column_hint(col: str, frame: pd.DataFrame, formula: str | None) -> str:
    """Why a column is missing, when the formula text shows a habit from R or Stata."""
    text = formula or ""
    dotted = [c for c in map(str, frame.columns) if c.startswith(col + ".")]
    if col in ("i", "c") and re.search(rf"(?<![\w`]){col}\.\w", text):
        m = re.search(rf"(?<![\w`]){col}\.(\w+)", text)
        name = m.group(1) if m else "x"
        return (f" '{col}.{name}' is Stata's factor-variable notation; write C({name}) for a categorical control"
                if col == "i" else f" '{col}.{name}' is Stata's notation for a continuous variable; write {name}")
    if dotted and f"{col}." in text:
        return (f" The data have {dotted[:3]}: a name with a dot must be quoted in backticks, e.g. `{dotted[0]}` "
                "(unquoted, Python reads the dot as attribute access).")
    return closest_names(col, frame.columns)


def _check_columns(frame: pd.DataFrame, needed: dict[str, str], formula: str | None) -> None:
    for col, where in needed.items():
        if col not in frame.columns:
            src = f" in the formula '{formula}'" if formula else ""
            raise PLCEError(f"Column '{col}' ({where}){src} is not in the data.{_missing_column_hint(col, frame, formula)}")


def _usable(series: pd.Series) -> np.ndarray:
    ok = series.notna().to_numpy().copy()
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        ok &= np.isfinite(vals)
    return ok


def _numeric_column(series: pd.Series, role: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise PLCEError(
            f"The {role} '{series.name}' is not numeric (dtype {series.dtype}). "
            "Recode it to numbers (e.g. 0/1 for a binary variable) before fitting."
        )
    return series.to_numpy(dtype=float, na_value=np.nan)


def _eval_expr(frame: pd.DataFrame, expr: str, role: str) -> pd.Series:
    """A single-column formulaic expression (e.g. np.log(y)) evaluated on all rows."""
    name = expr[1:-1] if expr.startswith("`") and expr.endswith("`") else expr
    if name in frame.columns:
        return frame[name]
    from formulaic import model_matrix

    try:
        with np.errstate(all="ignore"):
            mm = model_matrix("0 + " + expr, frame, na_action="ignore")
    except Exception as exc:
        raise PLCEError(f"Could not evaluate the {role} '{expr}': {exc}") from None
    if mm.shape[1] != 1:
        raise PLCEError(
            f"The {role} '{expr}' expands to {mm.shape[1]} columns; plce needs one numeric column. "
            "Create the variable in the data frame first."
        )
    return pd.Series(np.asarray(mm, dtype=float)[:, 0], index=frame.index, name=expr)


_BACKTICKED = re.compile(r"`([^`]+)`")


def _term_vars(expr: str) -> set[str]:
    """Columns a formula piece uses (backticked names taken as they are: formulaic splits `x.1` at the dot)."""
    from formulaic import Formula

    quoted = set(_BACKTICKED.findall(expr))
    rest = _BACKTICKED.sub("__plce_quoted__", expr)
    return quoted | (set(Formula("0 + " + rest).required_variables) - {"__plce_quoted__"})


def _classify_controls(frame: pd.DataFrame, controls: Sequence[str]):
    """Split control terms into categorical columns and formulaic numeric terms."""
    categorical: dict[str, str] = {}
    numeric: list[str] = []
    for term in controls:
        m = _C_TERM.match(term)
        bare = term[1:-1] if term.startswith("`") and term.endswith("`") else term
        if m:
            col = m.group(1).strip("`")
            categorical[term] = col
        elif bare in frame.columns and not (
            pd.api.types.is_numeric_dtype(frame[bare].dtype) or pd.api.types.is_bool_dtype(frame[bare].dtype)
        ):
            categorical[term] = bare
        else:
            numeric.append(term)
    return categorical, numeric


def _convert_raw(frame: pd.DataFrame, columns: dict[str, str], notes: list[str]) -> pd.DataFrame:
    """Convert what is unambiguous, and say so: numbers stored as text, datetimes, a two-level labelled treatment."""
    work = frame
    for col, role in columns.items():
        s = frame[col]
        new = None
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            years = (s - pd.Timestamp("1970-01-01")).dt.total_seconds() / (365.25 * 86400) + 1970
            new, what = years, "a date; converted to decimal years (e.g. 2020.5)"
        elif role == "treatment" and isinstance(s.dtype, pd.CategoricalDtype) and len(s.cat.categories) == 2:
            cats = list(s.cat.categories)
            new = s.cat.codes.where(s.notna()).astype(float)
            what = f"a two-level categorical; coded {cats[0]!r} = 0, {cats[1]!r} = 1 (the first level is the control)"
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype) or (
                isinstance(s.dtype, pd.CategoricalDtype) and role != "treatment" and
                pd.api.types.is_numeric_dtype(s.cat.categories.dtype)):
            if isinstance(s.dtype, pd.CategoricalDtype):
                continue  # a categorical of numbers is a deliberate categorical
            vals = s.dropna()
            if len(vals) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                                 for v in vals):
                new, what = pd.to_numeric(s), "numbers in an object column; converted to floats"
            else:
                num = pd.to_numeric(vals.astype(str).str.strip(), errors="coerce")
                if len(vals) and num.notna().all():
                    new = pd.to_numeric(s.astype(str).str.strip().where(s.notna()), errors="coerce")
                    what = "numbers stored as text; converted to numbers"
        if new is not None:
            if work is frame:
                work = frame.copy()
            work[col] = new
            notes.append(f"Column '{col}' ({role}) holds {what}.")
            warn(f"Column '{col}' ({role}) holds {what}.", PLCEWarning)
    return work


def _check_levels(X: pd.DataFrame, labels: dict, n: int) -> None:
    for c in X.columns:
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            k = len(X[c].cat.categories)
            if k > MANY_LEVELS and k > n / 10:
                warn(f"The categorical control '{labels.get(c, c)}' has {k} levels for {n} rows (a continuous "
                     "variable or an identifier?). Each level is a category the learners must learn, which is slow "
                     "and noisy; for a number write it without C(), for a grouping use (1|g) or a fixed effect.",
                     PLCEWarning)


def _cluster_list(cluster) -> list[str]:
    if cluster is None:
        return []
    items = [cluster] if isinstance(cluster, str) else (list(cluster) if isinstance(cluster, (list, tuple)) else None)
    if items is None or not all(isinstance(c, str) for c in items):
        raise PLCEError(f"cluster takes one or two column names (str); got {cluster!r}. To cluster by values "
                        "that are not a column, add them to the data first.")
    if len(items) > 2:
        raise PLCEError(f"cluster takes one or two column names; got {len(items)}.")
    return items


def _codes(frame: pd.DataFrame, ok: np.ndarray, cols) -> np.ndarray:
    """Integer codes of the joint levels of ``cols`` (levels sorted as strings)."""
    keys = frame.loc[ok, cols[0]].astype(str)
    for c in cols[1:]:
        keys = keys + "\x1f" + frame.loc[ok, c].astype(str)
    return pd.factorize(keys, sort=True)[0].astype(np.int64)


def build(
    spec: FormulaSpec,
    data,
    *,
    cluster: str | Sequence[str] | None = None,
    missing: MissingPolicy = "drop",
    weights: str | None = None,
) -> Design:
    """Build a :class:`Design` from a :class:`~plce.formula.FormulaSpec` and data.

    Parameters
    ----------
    spec : FormulaSpec
    data : DataFrame, dict of arrays, or a polars/pyarrow table
    cluster : str or sequence of at most two str, optional
        Columns identifying clusters for cluster-robust standard errors.
    missing : {"drop", "raise"}
        ``"drop"`` removes incomplete rows (counted in the summary and warned
        about); ``"raise"`` refuses them.
    weights : str, optional
        Column of sampling (survey) weights.
    """
    if missing not in ("drop", "raise"):
        raise PLCEError(f"missing must be 'drop' or 'raise'; got {missing!r}.")
    frame = _as_frame(data)
    if frame.shape[0] == 0:
        raise PLCEError("The data have no rows.")
    formula = spec.formula

    treat_vars: set[str] = set()
    for t in spec.treatments:
        treat_vars |= _term_vars(t)
    control_vars = _term_vars(" + ".join(spec.controls)) if spec.controls else set()
    outcome_vars = _term_vars(spec.outcome)
    clusters = _cluster_list(cluster)
    if weights is not None and not isinstance(weights, str):
        raise PLCEError(f"weights takes the name of a column of sampling weights; got {type(weights).__name__}.")

    needed: dict[str, str] = {}
    for v in sorted(outcome_vars):
        needed[v] = "outcome"
    for v in sorted(treat_vars):
        needed[v] = "treatment"
    for v in sorted(control_vars):
        needed[v] = "control"
    for g in spec.group_columns:
        needed[g] = "random-effect group"
    for g in spec.fe_columns:
        needed[g] = "fixed effect"
    if weights is not None:
        needed[weights] = "weights"
    _check_columns(frame, needed, formula)
    dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]} & (set(needed) | set(clusters)))
    if dup:
        raise PLCEError(f"The data have several columns named {dup}; rename them so each name is unique.")
    for c in clusters:
        if c not in frame.columns:
            hint = closest_names(str(c), frame.columns)
            raise PLCEError(f"Cluster column '{c}' is not in the data.{hint}")
        if frame[c].isna().any():
            raise PLCEError(
                f"Cluster column '{c}' has {int(frame[c].isna().sum())} missing values; "
                "give every row a cluster (or drop those rows) before fitting."
            )

    both = treat_vars & control_vars
    if both:
        raise PLCEError(
            f"{sorted(both)} appear(s) both as treatment and as control in '{formula}'. "
            "A treatment cannot also be a control; remove it right of '|'."
        )
    if outcome_vars & (control_vars | treat_vars):
        raise PLCEError(f"The outcome {sorted(outcome_vars)} also appears right of '~' in '{formula}'.")
    overlap = set(spec.group_columns) & control_vars
    if overlap:
        raise PLCEError(
            f"Grouping factor(s) {sorted(overlap)} are also controls in '{formula}'. Use either the "
            "random intercept '(1|g)' or the control, not both."
        )
    fe_overlap = set(spec.fe_columns) & (control_vars | set(spec.group_columns))
    if fe_overlap:
        raise PLCEError(f"Fixed effect(s) {sorted(fe_overlap)} also appear as controls or random intercepts in "
                        f"'{formula}'; absorb each factor once.")

    notes: list[str] = []
    frame = _convert_raw(frame, {c: r for c, r in needed.items() if r in ("outcome", "treatment", "control")},
                         notes)
    # one mask over every used raw column
    ok = np.ones(len(frame), dtype=bool)
    dropped: dict[str, int] = {}
    for col in list(needed):
        col_ok = _usable(frame[col])
        if not col_ok.all():
            dropped[col] = int((~col_ok).sum())
        ok &= col_ok

    # evaluate outcome, treatments and numeric controls on all rows, then mask non-finite results
    y_s = _eval_expr(frame, spec.outcome, "outcome")
    y_all = _numeric_column(y_s, "outcome")
    t_all = [_numeric_column(_eval_expr(frame, t, "treatment"), "treatment") for t in spec.treatments]
    categorical, numeric_terms = _classify_controls(frame, spec.controls)
    num_frame = None
    if numeric_terms:
        from formulaic import model_matrix

        try:
            with np.errstate(all="ignore"):
                mm = model_matrix("0 + " + " + ".join(numeric_terms), frame, na_action="ignore")
        except Exception as exc:
            raise PLCEError(f"Could not build the controls {numeric_terms} of '{formula}': {exc}") from None
        num_frame = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=frame.index)
        # formulaic's intercept-free coding of a categorical interaction is full rank; keep as is
    for name, arr in [(spec.outcome, y_all)] + list(zip(spec.treatments, t_all)):
        bad = ~np.isfinite(arr) & ok
        if bad.any():
            dropped[name] = dropped.get(name, 0) + int(bad.sum())
            ok &= np.isfinite(arr)
    if num_frame is not None:
        finite = np.isfinite(num_frame.to_numpy())
        for j, col in enumerate(num_frame.columns):
            bad = ~finite[:, j] & ok
            if bad.any():
                dropped[col] = dropped.get(col, 0) + int(bad.sum())
        ok &= finite.all(axis=1)
    w_all = None
    if weights is not None:
        w_all = _numeric_column(frame[weights], "weights")
        if (w_all[ok] < 0).any():
            raise PLCEError(f"The weights column '{weights}' has negative values; sampling weights are >= 0.")

    n_bad = int((~ok).sum())
    if n_bad:
        detail = ", ".join(f"'{k}': {v}" for k, v in dropped.items())
        if missing == "raise":
            raise PLCEError(
                f"{n_bad} row(s) have missing or non-finite values in used columns ({detail}). "
                "Clean them, or pass missing='drop' to drop them."
            )
        if not ok.any():
            raise PLCEError(f"Every row has a missing or non-finite value in a used column ({detail}).")
        warn(
            f"Dropped {n_bad} of {len(frame)} rows with missing or non-finite values ({detail}).",
            MissingValueWarning,
        )

    y = y_all[ok]
    if np.ptp(y) == 0:
        raise PLCEError(f"The outcome '{spec.outcome}' is constant (all {y[0]:g}) in the rows used; there is "
                        "nothing to explain.")
    X_parts = []
    if num_frame is not None:
        X_parts.append(num_frame.loc[ok])
    if categorical:
        cat = pd.DataFrame(
            {term: pd.Categorical(frame.loc[ok, col].astype(str)) for term, col in categorical.items()},
            index=frame.index[ok],
        )
        X_parts.append(cat)
    X = pd.concat(X_parts, axis=1) if X_parts else pd.DataFrame(index=frame.index[ok])
    X.index = pd.RangeIndex(int(ok.sum()))
    labels = tuple(map(str, X.columns))
    X.columns = safe_names(labels)
    _check_levels(X, dict(zip(X.columns, labels)), int(ok.sum()))
    for c in X.columns:  # exact power-of-two rescaling of extreme controls (trees and least squares are unmoved)
        if not isinstance(X[c].dtype, pd.CategoricalDtype):
            sc = _power_of_two(X[c].to_numpy(dtype=float))
            if sc != 1.0:
                X[c] = X[c] / sc

    groups = {term.name: _codes(frame, ok, term.factors) for term in spec.re_terms}
    fixed = {"^".join(fe): _codes(frame, ok, fe) for fe in spec.fixed_effects}
    if X.shape[1] == 0 and not groups and not fixed:
        raise PLCEError(f"The formula '{formula}' has no controls: there is nothing for the learners to adjust for. "
                        "Name the controls right of '|' (for a regression of y on t alone, use statsmodels' OLS).")
    clus = None
    if clusters:
        clus = np.column_stack([pd.factorize(frame.loc[ok, c], sort=True)[0] for c in clusters]).astype(np.int64)
    w = None
    if w_all is not None:
        w = w_all[ok]
        if not (w > 0).any():
            raise PLCEError(f"The weights column '{weights}' is 0 for every row used.")
        w = w / w.mean()
    T = np.column_stack([t[ok] for t in t_all])
    scale_y = _power_of_two(y)
    scale_t = np.array([_power_of_two(T[:, j]) for j in range(T.shape[1])])
    return Design(
        y=y / scale_y,
        T=T / scale_t,
        X=X,
        outcome_name=spec.outcome,
        treatment_names=spec.treatments,
        groups=groups,
        clusters=clus,
        cluster_names=tuple(clusters),
        row_mask=ok,
        dropped=dropped,
        formula=formula,
        input_index=frame.index,
        control_labels=labels,
        fixed_effects=fixed,
        weights=w,
        weights_name=weights,
        scale_y=scale_y,
        scale_t=None if np.all(scale_t == 1) else scale_t,
        notes=tuple(notes),
    )


def _is_pandas(obj) -> bool:
    return isinstance(obj, (pd.Series, pd.DataFrame))


def from_arrays(y, t, X, *, groups=None, clusters=None, missing: MissingPolicy = "drop") -> Design:
    """Build a :class:`Design` from arrays (the :class:`plce.PLCE` interface).

    ``y`` is 1-d; ``t`` 1-d or 2-d (several treatments); ``X`` 2-d (array or DataFrame); ``groups`` and
    ``clusters`` 1-d or 2-d label arrays (or DataFrames), all of the same length. pandas inputs must share their
    index (statsmodels' rule): they are never combined by position when their indexes differ.
    """
    def named(obj, default: str) -> str:
        return str(getattr(obj, "name", None) or default)

    pandas_objs = {k: v for k, v in (("y", y), ("t", t), ("X", X), ("groups", groups), ("clusters", clusters))
                   if _is_pandas(v)}
    index = None
    if pandas_objs:
        first, index = next(iter(pandas_objs.items()))[0], next(iter(pandas_objs.values())).index
        for k, v in pandas_objs.items():
            if not v.index.equals(index):
                raise PLCEError(f"{first} and {k} are pandas objects with different indexes; plce does not combine "
                                "them by position. Align them (e.g. X.loc[y.index]) or pass .to_numpy() arrays.")
    for name, obj, dims in (("y", y, (1,)), ("t", t, (1, 2)), ("X", X, (1, 2))):
        try:
            nd = np.ndim(obj)
        except Exception:
            nd = -1
        if nd not in dims:
            raise PLCEError(f"{name} must be {' or '.join(f'{d}-d' for d in dims)} (one row per unit); got "
                            f"{'a scalar' if nd == 0 else f'{nd}-d input'}.")
    n = len(y)
    if n == 0:
        raise PLCEError("The data have no rows.")
    lengths = {"y": n, "t": len(t), "X": len(X)}
    for k, v in (("groups", groups), ("clusters", clusters)):
        if v is not None:
            lengths[k] = len(v)
    if len(set(lengths.values())) != 1:
        raise PLCEError(f"y, t, X, groups and clusters must have the same length; got {lengths}.")
    frame: dict = {}

    def add(name: str, values, role: str):
        if name in frame:
            raise PLCEError(f"Two inputs are named '{name}' (the {role} and another); give them distinct names.")
        frame[name] = np.asarray(values)

    yname = named(y, "y")
    add(yname, y, "outcome")
    if isinstance(t, pd.DataFrame):
        tnames = [str(c) for c in t.columns]
        tarr = t.to_numpy()
    else:
        tarr = np.asarray(t).reshape(n, -1)
        tnames = [named(t, "t")] if tarr.shape[1] == 1 else [f"t{j + 1}" for j in range(tarr.shape[1])]
    for j, name in enumerate(tnames):
        add(name, tarr[:, j], "treatment")
    if isinstance(X, pd.DataFrame):
        xnames = [str(c) for c in X.columns]
        for c, name in zip(X.columns, xnames):
            add(name, X[c].to_numpy(), "control")
    else:
        xa = np.asarray(X).reshape(n, -1)
        xnames = [f"x{j + 1}" for j in range(xa.shape[1])]
        for j, name in enumerate(xnames):
            add(name, xa[:, j], "control")
    gnames: list[str] = []
    cnames: list[str] = []
    for kind, obj in (("g", groups), ("cluster", clusters)):
        if obj is None:
            continue
        if isinstance(obj, pd.DataFrame):
            cols = {str(c): obj[c].to_numpy() for c in obj.columns}
        else:
            arr = np.asarray(obj, dtype=object).reshape(n, -1)
            base = named(obj, kind)
            cols = {base if arr.shape[1] == 1 else f"{base}{j + 1}": arr[:, j] for j in range(arr.shape[1])}
        for name, values in cols.items():
            add(name, values, "group" if kind == "g" else "cluster")
        (gnames if kind == "g" else cnames).extend(cols)
    df = pd.DataFrame(frame, index=index)
    from .formula import REterm

    spec = FormulaSpec(
        formula=None,
        outcome=yname,
        treatments=tuple(tnames),
        controls=tuple(f"`{c}`" if not c.isidentifier() else c for c in xnames),
        re_terms=tuple(REterm((g,)) for g in gnames),
    )
    return build(spec, df, cluster=cnames or None, missing=missing)
