"""The simulation generators: group structure options and the spatial design."""
import numpy as np
import pytest

from plce import PLCEError
from plce.datasets import make_simdata, make_spatial


def test_unbalanced_groups_span_small_and_large_sizes():
    sizes = []
    for seed in range(5):
        df, _ = make_simdata("re", n=1000, random_state=seed, unbalanced=True)
        c = df["g"].value_counts()
        assert c.sum() == 1000 and c.min() >= 2 and c.max() <= 201
        sizes.extend(c.tolist())
    assert min(sizes) <= 5 and max(sizes) >= 100  # both ends of the 2-200 range occur


def test_many_small_groups():
    df, _ = make_simdata("re", n=1000, random_state=0, group_size=5)
    assert df["g"].nunique() == 200 and (df["g"].value_counts() == 5).all()


def test_spatial_design_neighbour_effect():
    """The outcome minus own effects is the neighbours' mean treatment within the radius (truth check)."""
    from scipy.spatial import distance_matrix

    df, theta = make_spatial(400, random_state=3, radius=0.1, spillover=2.0)
    D = distance_matrix(df[["x", "y"]].to_numpy(), df[["x", "y"]].to_numpy())
    nb = (D < 0.1) & (D > 0)
    mean_nb = np.where(nb.sum(1) > 0, (nb * df["t"].to_numpy()).sum(1) / np.maximum(nb.sum(1), 1), 0.0)
    noise = df["outcome"] - theta * df["t"] - 2.0 * mean_nb - df["z"]
    assert abs(noise.mean()) < 0.2 and 0.8 < noise.std() < 1.2  # what is left is the N(0, 1) error
    with pytest.raises(PLCEError):
        make_spatial(5)
