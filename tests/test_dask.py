"""The (repetition x fold) tasks run on a Dask cluster through joblib's Dask backend, with identical results."""
import numpy as np
import pytest

import plce


def test_dask_local_cluster_gives_the_local_fit():
    distributed = pytest.importorskip("distributed")
    import joblib

    df, _ = plce.datasets.make_simdata("re", n=400, random_state=3)
    f = "y ~ t | x1 + x2 + x3 + (1|g)"
    local = plce.ols_ml(f, data=df, n_rep=2, random_state=3, n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            distributed.Client(c):
        with joblib.parallel_config(backend="dask"), distributed.get_task_stream() as ts:
            remote = plce.ols_ml(f, data=df, n_rep=2, random_state=3, n_jobs=-1)
    assert len(ts.data) >= 10  # the 2 x 5 fold tasks ran on the cluster
    np.testing.assert_array_equal(local.params.to_numpy(), remote.params.to_numpy())
    np.testing.assert_array_equal(local.bse.to_numpy(), remote.bse.to_numpy())
