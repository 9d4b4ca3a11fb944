"""The credible lower bound on the correctly classified share of a population (METHOD 8).

A reviewer checks a simple random sample of ``n`` records, without replacement, from a
population of ``N`` and finds ``k`` misclassified. With a uniform prior on the number ``K`` of
misclassified records in the population, the posterior of ``K`` is

    P(K | k) ∝ C(K, k) · C(N − K, n − k),   K = k, ..., N − (n − k),

(the hypergeometric likelihood of the sample). ``K95`` is the smallest ``K`` at which the
posterior's cumulative probability reaches the credible level (0.95), and the bound is
``1 − K95 / N``, rounded half to even to 4 decimal places. For large ``N`` it tends to the
``level`` lower quantile of Beta(n − k + 1, k + 1), the bound of a binomial sample under a
uniform prior.

The posterior is evaluated in log space (``math.lgamma``) in vectorised chunks, so ``N`` in
the millions takes well under a second. Each chunk's first log-weight comes from ``lgamma``;
within a chunk the log-weights follow from the exact ratio of consecutive terms,

    P(K + 1) / P(K) = (K + 1)(N − K − n + k) / ((K + 1 − k)(N − K)).

References
----------
The conjugacy behind the Beta limit: under a uniform prior on ``K`` the unsampled
misclassified count ``K − k`` is beta-binomial(N − n, k + 1, n − k + 1) a posteriori (a Pólya
urn; see e.g. Gelman et al., *Bayesian Data Analysis*, 3rd ed., ch. 2 and 8, on sampling
from a finite population).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Final

import numpy as np

from clnet_spark.errors import ClnetError

log = logging.getLogger(__name__)

CHUNK: Final = 1 << 18
"""Posterior terms evaluated per vectorised step."""

_PLACES: Final = Decimal("0.0001")


class BoundsArgumentError(ClnetError):
    """The sample size, misclassified count, population size or level is invalid."""


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise BoundsArgumentError(
            f"{name}: expected a whole number, found {type(value).__name__} {value!r}"
        )
    return int(value)


def validate_arguments(n: object, k: object, population: object, level: object) -> None:
    """Check ``0 <= k <= n <= N``, ``N >= 1`` and ``0 < level < 1``.

    Raises
    ------
    BoundsArgumentError
        Naming the argument, what was expected and what arrived.
    """
    n_, k_, big_n = (_check_count(name, v) for name, v in (("n", n), ("k", k), ("N", population)))
    if big_n < 1:
        raise BoundsArgumentError(f"N (population size): expected at least 1, found {big_n}")
    if not 0 <= n_ <= big_n:
        raise BoundsArgumentError(
            f"n (sample size): expected 0 <= n <= N = {big_n}, found n = {n_}"
        )
    if not 0 <= k_ <= n_:
        raise BoundsArgumentError(
            f"k (misclassified in the sample): expected 0 <= k <= n = {n_}, found k = {k_}"
        )
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise BoundsArgumentError(
            f"level: expected a number strictly between 0 and 1, found {level!r}"
        )


def _log_weight(big_k: int, n: int, k: int, big_n: int) -> float:
    """log C(K, k) + log C(N − K, n − k), without the terms that do not depend on K."""
    return (
        math.lgamma(big_k + 1)
        - math.lgamma(big_k - k + 1)
        + math.lgamma(big_n - big_k + 1)
        - math.lgamma(big_n - big_k - (n - k) + 1)
    )


def _chunks(n: int, k: int, big_n: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first K, log-weights) of the posterior's support, chunk by chunk."""
    last = big_n - (n - k)
    start = k
    while start <= last:
        stop = min(start + CHUNK, last + 1)
        ks = np.arange(start, stop - 1, dtype=np.float64)
        # log P(K + 1) - log P(K) for K = start .. stop - 2
        steps = (
            np.log(ks + 1) - np.log(ks + 1 - k) + np.log(big_n - ks - n + k) - np.log(big_n - ks)
        )
        weights = np.empty(stop - start, dtype=np.float64)
        weights[0] = _log_weight(start, n, k, big_n)
        np.cumsum(steps, out=weights[1:])
        weights[1:] += weights[0]
        yield start, weights
        start = stop


def posterior_quantile(n: int, k: int, population: int, level: float = 0.95) -> int:
    """``K95``: the smallest ``K`` whose posterior cumulative probability reaches ``level``.

    Raises
    ------
    BoundsArgumentError
        See :func:`validate_arguments`.
    """
    validate_arguments(n, k, population, level)
    big_n = population
    peak = max(float(w.max()) for _, w in _chunks(n, k, big_n))
    total = math.fsum(float(np.exp(w - peak).sum()) for _, w in _chunks(n, k, big_n))
    target = level * total
    reached = 0.0
    for start, weights in _chunks(n, k, big_n):
        cumulative = reached + np.cumsum(np.exp(weights - peak))
        hit = int(np.searchsorted(cumulative, target, side="left"))
        if hit < len(cumulative):
            return start + hit
        reached = float(cumulative[-1])
    return big_n - (n - k)  # rounding left the last term a hair short of the level


def credible_lower_bound(n: int, k: int, population: int, level: float = 0.95) -> float:
    """The credible lower bound on the correctly classified proportion, to 4 places.

    Parameters
    ----------
    n
        Records reviewed (the sample, drawn without replacement).
    k
        Misclassified records found in the sample.
    population
        ``N``, the size of the population sampled.
    level
        The credible level (0.95 in METHOD).

    Returns
    -------
    float
        ``1 − K95 / N`` rounded half to even to 4 decimal places (computed exactly from the
        integers, then converted).

    Raises
    ------
    BoundsArgumentError
        ``0 <= k <= n <= N`` does not hold, ``N < 1``, a count is not a whole number, or the
        level is not strictly between 0 and 1.

    Examples
    --------
    >>> credible_lower_bound(100, 0, 1_000_000)
    0.9708
    """
    k95 = posterior_quantile(n, k, population, level)
    bound = lower_bound_of(k95, population)
    log.debug("bound: n=%d k=%d N=%d level=%s -> K95=%d, %s", n, k, population, level, k95, bound)
    return bound


def lower_bound_of(k95: int, population: int) -> float:
    """``1 − K95 / N``, rounded half to even to 4 places from the exact fraction."""
    exact = Fraction(population - k95, population)
    bound = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        _PLACES, rounding=ROUND_HALF_EVEN
    )
    return float(bound)
