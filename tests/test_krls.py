"""KRLS (Hainmueller & Hazlett 2014): the closed forms against brute force."""
import numpy as np
from numpy.testing import assert_allclose

from plce.peers.krls import krls


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(size=n) * 0.3


def test_leave_one_out_lambda_equals_refitting_without_each_unit():
    X, y = _data(60)
    fit = krls(y, X)
    Xs = (X - X.mean(0)) / X.std(0)
    ys = (y - y.mean()) / y.std()
    K = np.exp(-((Xs[:, None, :] - Xs[None, :, :]) ** 2).sum(-1) / 2)

    def loo_error(lam):
        err = 0.0
        for i in range(len(y)):
            m = np.arange(len(y)) != i
            c = np.linalg.solve(K[np.ix_(m, m)] + lam * np.eye(m.sum()), ys[m])
            err += (ys[i] - K[i, m] @ c) ** 2
        return err

    grid = np.exp(np.linspace(np.log(1e-6 * 60), np.log(60), 60))
    brute = grid[np.argmin([loo_error(lam) for lam in grid])]
    assert fit.lam == brute


def test_pointwise_effects_are_the_derivative_of_the_fit():
    X, y = _data()
    fit = krls(y, X)
    Xs = (X - X.mean(0)) / X.std(0)
    ys_sd, h = y.std(), 1e-5

    def yhat(x0):  # the fitted function at a new standardised point, on the data's scale
        k = np.exp(-((Xs - x0) ** 2).sum(1) / fit.sigma2)
        return y.mean() + ys_sd * k @ fit.coef

    for i in range(0, len(y), 17):
        for d in range(2):
            e = np.zeros(2)
            e[d] = h
            fd = (yhat(Xs[i] + e) - yhat(Xs[i] - e)) / (2 * h) / X[:, d].std()
            # the fitted function at x_i includes unit i's own kernel term, whose derivative is 0 at distance 0
            assert_allclose(fit.pointwise[i, d], fd, rtol=1e-5, atol=1e-8)


def test_apme_variance_is_the_closed_form_and_covers_in_simulation():
    ests, ses = [], []
    for seed in range(40):
        X, y = _data(150, seed)
        fit = krls(y, X)
        ests.append(fit.apme[0])
        ses.append(fit.se[0])
    ests, ses = np.array(ests), np.array(ses)
    assert abs(ests.mean() - 1.0) < 0.1  # the linear effect of x1 is 1
    assert 0.5 < ses.mean() / ests.std(ddof=1) < 2.0  # conditional-on-lambda SE: of the right size
