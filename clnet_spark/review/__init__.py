"""Validation by sampling (METHOD section 8): reviewer samples and credible lower bounds.

``docs/review.md`` describes the populations, the sample, the CSV a reviewer fills in and the
bound computed from it.
"""
