"""The credible lower bound of METHOD section 8, against independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import beta, hypergeom

from clnet_spark.review.bounds import (
    BoundsArgumentError,
    credible_lower_bound,
    lower_bound_of,
    posterior_quantile,
)


def exact_k95(n: int, k: int, population: int, level: Fraction = Fraction(95, 100)) -> int:
    """Brute force with exact integers: the posterior C(K,k) C(N-K,n-k) over its support."""
    support = range(k, population - (n - k) + 1)
    weights = [math.comb(big_k, k) * math.comb(population - big_k, n - k) for big_k in support]
    total = sum(weights)
    running = 0
    for big_k, weight in zip(support, weights, strict=True):
        running += weight
        if Fraction(running, total) >= level:
            return big_k
    raise AssertionError("the posterior sums to 1")


def scipy_k95(n: int, k: int, population: int, level: float = 0.95) -> int:
    """The posterior built from scipy's hypergeometric pmf P(k | N, K, n), uniform prior."""
    support = np.arange(k, population - (n - k) + 1)
    likelihood = hypergeom.pmf(k, population, support, n)
    cdf = np.cumsum(likelihood) / likelihood.sum()
    return int(support[np.searchsorted(cdf, level, side="left")])


SMALL_CASES = [
    (n, k, big_n)
    for big_n in (1, 2, 3, 5, 10, 37, 100)
    for n in sorted({0, 1, big_n // 3, big_n // 2, big_n})
    for k in sorted({0, 1, n // 2, n})
    if k <= n
]


@pytest.mark.parametrize(("n", "k", "population"), SMALL_CASES)
def test_bound_equals_the_exact_brute_force_for_small_populations(
    n: int, k: int, population: int
) -> None:
    k95 = exact_k95(n, k, population)
    assert posterior_quantile(n, k, population) == k95
    expected = round(Fraction(population - k95, population), 4)
    assert credible_lower_bound(n, k, population) == float(expected)


@pytest.mark.parametrize("k", [0, 1, 2, 5, 10])
@pytest.mark.parametrize("population", [250, 5_000, 20_000])
def test_bound_matches_a_scipy_hypergeometric_posterior(k: int, population: int) -> None:
    n = 100
    k95 = scipy_k95(n, k, population)
    assert posterior_quantile(n, k, population) == k95
    assert credible_lower_bound(n, k, population) == round(1 - k95 / population, 4)


@pytest.mark.parametrize(("n", "k"), [(100, 0), (100, 2), (100, 10), (400, 3), (50, 50)])
def test_large_populations_tend_to_the_beta_bound(n: int, k: int) -> None:
    limit = 1 - beta.ppf(0.95, k + 1, n - k + 1)
    assert credible_lower_bound(n, k, 5_000_000) == pytest.approx(limit, abs=1.5e-4)


def test_the_seed_figures() -> None:
    # n = 100, none misclassified: "about 0.97" is 0.9708 for a large population
    assert credible_lower_bound(100, 0, 1_000_000) == 0.9708
    assert [credible_lower_bound(100, 0, size) for size in (200, 1_000, 10_000)] == [
        0.98,
        0.973,
        0.971,
    ]
    # n = 100, two misclassified: the large-population bound is 0.9390 (the seed's "about
    # 0.93" is that figure cut to two places). It falls towards 0.9390 as N grows; no N
    # gives less, and small populations give more:
    assert credible_lower_bound(100, 2, 1_000_000) == 0.939
    assert credible_lower_bound(100, 2, 10_000) == 0.9392
    assert credible_lower_bound(100, 2, 1_000) == 0.942
    assert credible_lower_bound(100, 2, 200) == 0.955
    for population, figure in ((10_000, 0.9392), (1_000, 0.942), (200, 0.955)):
        assert 1 - exact_k95(100, 2, population) / population == pytest.approx(figure, abs=1e-12)


def test_a_census_knows_the_proportion_exactly() -> None:
    assert credible_lower_bound(50, 3, 50) == 0.94
    assert credible_lower_bound(10, 0, 10) == 1.0


def test_an_empty_sample_leaves_the_uniform_prior() -> None:
    # K uniform on 0..10: P(K <= k) = (k + 1) / 11 reaches 0.95 at K = 10
    assert posterior_quantile(0, 0, 10) == 10
    assert credible_lower_bound(0, 0, 10) == 0.0


def test_millions_of_records_are_handled() -> None:
    assert credible_lower_bound(100, 0, 20_000_000) == 0.9708


def test_rounding_is_half_to_even_on_the_exact_fraction() -> None:
    assert lower_bound_of(583, 20_000) == 0.9708  # 0.97085 exactly
    assert lower_bound_of(581, 20_000) == 0.971  # 0.97095 exactly


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (10, 11, 100),
            r"k \(misclassified in the sample\): expected 0 <= k <= n = 10, found k = 11",
        ),
        ((10, -1, 100), r"expected 0 <= k <= n = 10, found k = -1"),
        ((101, 0, 100), r"n \(sample size\): expected 0 <= n <= N = 100, found n = 101"),
        ((0, 0, 0), r"N \(population size\): expected at least 1, found 0"),
        ((10.0, 0, 100), r"n: expected a whole number, found float 10.0"),
        ((10, True, 100), r"k: expected a whole number, found bool True"),
    ],
)
def test_invalid_arguments_are_named(args: tuple, message: str) -> None:
    with pytest.raises(BoundsArgumentError, match=message):
        credible_lower_bound(*args)


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, "0.95"])
def test_invalid_levels_are_rejected(level: object) -> None:
    with pytest.raises(BoundsArgumentError, match="level: expected a number strictly between"):
        credible_lower_bound(10, 0, 100, level)  # type: ignore[arg-type]
