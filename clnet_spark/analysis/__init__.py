"""Analyses of the groups: dismantling (METHOD section 7)."""
