"""Write docs/validation_tables.rst from the committed results in validation/results/."""
from __future__ import annotations

import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
DOCS = os.path.join(HERE, "..", "docs", "validation_tables.rst")

STUDIES = [
    ("binary.csv", "Binary treatments: ATE, ATT, ATC against DoubleML's IRM (issue 15)",
     ["overlap", "effect", "estimand", "method"]),
    ("experiments.csv", "Randomized experiments against Lin's (2013) OLS (issue 24)",
     ["treatment", "n", "prognosis", "method"]),
    ("fixed_effects.csv", "Two-way fixed effects on a confounded panel (issue 18)", ["variant", "balanced"]),
    ("weights.csv", "Sampling weights: the weighted-population average effect (issue 18)", ["method"]),
    ("spatial.csv", "Spatial and network interference (issue 17)", ["design", "method"]),
    ("effect_family.csv", "Average effects over the effect-shape family (issue 16)",
     ["n", "effect_model", "treatment", "variance", "effect", "estimand"]),
    ("subgroups.csv", "Average effects by subgroup on the categorical-moderator design (issue 16)",
     ["treatment", "variance", "level"]),
]


def table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    rows = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r] for r in frame.itertuples(index=False)]
    widths = [max(len(c), *(len(r[j]) for r in rows)) for j, c in enumerate(cols)]
    rule = "  ".join("=" * w for w in widths)
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([rule, line(cols), rule, *(line(r) for r in rows), rule])


def main() -> None:
    parts = []
    for fname, title, by in STUDIES:
        path = os.path.join(RESULTS, fname)
        if not os.path.exists(path):
            continue
        raw = pd.read_csv(path, dtype={"commit": str})  # a hash like 8925e69 would parse as a float
        tab = common.summarize(raw, by).drop(columns=["sd"])
        commits = ", ".join(sorted(set(map(str, raw["commit"]))))
        parts += [title, "-" * len(title), "", f"``validation/results/{fname}`` (commit {commits}; {len(raw)} rows).",
                  "bias_mcse is the Monte Carlo s.e. of the bias; se_sd is mean SE over the SD of the estimates.", "",
                  table(tab), ""]
    with open(DOCS, "w") as fh:
        fh.write("\n".join(parts) if parts else "No validation results committed yet.\n")


if __name__ == "__main__":
    main()
