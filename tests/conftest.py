import os
import sys
import pathlib

import numpy as np
import pandas as pd
import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

@pytest.fixture
def small_df():
    rng = np.random.default_rng(42)
    n = 300
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    cat = rng.choice(["a", "b", "c"], size=n)
    t = x1 + rng.normal(size=n)
    y = 1.5 * t + np.sin(x1) + x2 + (cat == "b") + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "cat": cat, "cl": rng.integers(0, 30, size=n)})


os.environ.setdefault("MPLBACKEND", "Agg")
