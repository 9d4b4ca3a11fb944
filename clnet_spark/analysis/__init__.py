"""Analyses of the kept network and its groups (METHOD section 7)."""
