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

from .errors import MissingValueWarning, PLCEError, closest_names, warn
from .formula import FormulaSpec

__all__ = ["Design", "build", "from_arrays"]

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
        Controls for the learners: float columns and pandas categoricals.
    groups : dict of name -> int ndarray
        Integer codes of each random-intercept factor (in formula order).
    clusters : ndarray of shape (n, c) or None
        Integer codes of the one or two cluster variables.
    row_mask : ndarray of bool
        Over the rows of the input data: True where the row was used.
    input_index : Index
        The index of the input data (all rows; ``input_index[row_mask]`` are the rows used).
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
    def categorical_controls(self) -> tuple[str, ...]:
        return tuple(c for c in self.X.columns if isinstance(self.X[c].dtype, pd.CategoricalDtype))

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


def _as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except Exception as exc:
            raise PLCEError(f"Could not turn the dict passed as data into a DataFrame: {exc}") from None
    raise PLCEError(
        f"data must be a pandas DataFrame (or a dict of equal-length arrays); got {type(data).__name__}. "
        "Use pd.DataFrame(...) or pd.read_csv/read_stata first."
    )


def _check_columns(frame: pd.DataFrame, needed: dict[str, str], formula: str | None) -> None:
    for col, where in needed.items():
        if col not in frame.columns:
            hint = closest_names(col, frame.columns)
            src = f" in the formula '{formula}'" if formula else ""
            raise PLCEError(f"Column '{col}' ({where}){src} is not in the data.{hint}")


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
    if expr in frame.columns:
        return frame[expr]
    from formulaic import model_matrix

    try:
        mm = model_matrix("0 + " + expr, frame, na_action="ignore")
    except Exception as exc:
        raise PLCEError(f"Could not evaluate the {role} '{expr}': {exc}") from None
    if mm.shape[1] != 1:
        raise PLCEError(
            f"The {role} '{expr}' expands to {mm.shape[1]} columns; plce needs one numeric column. "
            "Create the variable in the data frame first."
        )
    return pd.Series(np.asarray(mm, dtype=float)[:, 0], index=frame.index, name=expr)


def _term_vars(expr: str) -> set[str]:
    from formulaic import Formula

    return set(Formula("0 + " + expr).required_variables)


def _classify_controls(frame: pd.DataFrame, controls: Sequence[str]):
    """Split control terms into categorical columns and formulaic numeric terms."""
    categorical: dict[str, str] = {}
    numeric: list[str] = []
    for term in controls:
        m = _C_TERM.match(term)
        if m:
            col = m.group(1).strip("`")
            categorical[term] = col
        elif term in frame.columns and not (
            pd.api.types.is_numeric_dtype(frame[term].dtype) or pd.api.types.is_bool_dtype(frame[term].dtype)
        ):
            categorical[term] = term
        else:
            numeric.append(term)
    return categorical, numeric


def build(
    spec: FormulaSpec,
    data,
    *,
    cluster: str | Sequence[str] | None = None,
    missing: MissingPolicy = "drop",
) -> Design:
    """Build a :class:`Design` from a :class:`~plce.formula.FormulaSpec` and data.

    Parameters
    ----------
    spec : FormulaSpec
    data : DataFrame or dict of arrays
    cluster : str or sequence of at most two str, optional
        Columns identifying clusters for cluster-robust standard errors.
    missing : {"drop", "raise"}
        ``"drop"`` removes incomplete rows (counted in the summary and warned
        about); ``"raise"`` refuses them.
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
    clusters = [] if cluster is None else ([cluster] if isinstance(cluster, str) else list(cluster))
    if len(clusters) > 2:
        raise PLCEError(f"cluster takes one or two column names; got {len(clusters)}.")

    needed: dict[str, str] = {}
    for v in sorted(outcome_vars):
        needed[v] = "outcome"
    for v in sorted(treat_vars):
        needed[v] = "treatment"
    for v in sorted(control_vars):
        needed[v] = "control"
    for g in spec.group_columns:
        needed[g] = "random-effect group"
    _check_columns(frame, needed, formula)
    for c in clusters:
        if not isinstance(c, str) or c not in frame.columns:
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

    groups = {}
    for term in spec.re_terms:
        keys = frame.loc[ok, list(term.factors)].astype(str).agg("\x1f".join, axis=1)
        codes, _ = pd.factorize(keys, sort=True)
        groups[term.name] = codes.astype(np.int64)
    clus = None
    if clusters:
        clus = np.column_stack([pd.factorize(frame.loc[ok, c], sort=True)[0] for c in clusters]).astype(np.int64)

    return Design(
        y=y_all[ok],
        T=np.column_stack([t[ok] for t in t_all]),
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
    )


def from_arrays(y, t, X, *, groups=None, clusters=None, missing: MissingPolicy = "drop") -> Design:
    """Build a :class:`Design` from arrays (the :class:`plce.PLCE` interface).

    ``y`` and ``t`` are 1-d (``t`` may be 2-d for several treatments); ``X`` is
    2-d (array or DataFrame); ``groups`` and ``clusters`` are 1-d or 2-d label
    arrays (or DataFrames) of the same length.
    """
    def named(obj, default: str) -> str:
        return str(getattr(obj, "name", None) or default)

    n = len(y)
    frame = {}
    yname = named(y, "y")
    frame[yname] = np.asarray(y)
    if isinstance(t, pd.DataFrame):
        tnames = [str(c) for c in t.columns]
        tarr = t.to_numpy()
    else:
        tarr = np.asarray(t)
        tarr = tarr.reshape(n, -1) if tarr.ndim <= 2 else tarr
        tnames = [named(t, "t")] if tarr.shape[1] == 1 else [f"t{j + 1}" for j in range(tarr.shape[1])]
    for j, name in enumerate(tnames):
        frame[name] = tarr[:, j]
    if isinstance(X, pd.DataFrame):
        xnames = [str(c) for c in X.columns]
        for c, name in zip(X.columns, xnames):
            frame[name] = X[c].to_numpy()
    else:
        xa = np.asarray(X)
        xa = xa.reshape(n, -1)
        xnames = [f"x{j + 1}" for j in range(xa.shape[1])]
        for j, name in enumerate(xnames):
            frame[name] = xa[:, j]
    gnames: list[str] = []
    for kind, obj in (("g", groups), ("cluster", clusters)):
        if obj is None:
            continue
        if isinstance(obj, pd.DataFrame):
            cols = {str(c): obj[c].to_numpy() for c in obj.columns}
        else:
            arr = np.asarray(obj, dtype=object)
            arr = arr.reshape(n, -1)
            base = named(obj, kind)
            cols = {base if arr.shape[1] == 1 else f"{base}{j + 1}": arr[:, j] for j in range(arr.shape[1])}
        frame.update(cols)
        if kind == "g":
            gnames = list(cols)
        else:
            cnames = list(cols)
    lengths = {k: len(v) for k, v in frame.items()}
    if len(set(lengths.values())) != 1:
        raise PLCEError(f"y, t, X, groups and clusters must have the same length; got {lengths}.")
    df = pd.DataFrame(frame)
    from .formula import REterm

    spec = FormulaSpec(
        formula=None,
        outcome=yname,
        treatments=tuple(tnames),
        controls=tuple(f"`{c}`" if not c.isidentifier() else c for c in xnames),
        re_terms=tuple(REterm((g,)) for g in gnames),
    )
    return build(spec, df, cluster=cnames if clusters is not None else None, missing=missing)
