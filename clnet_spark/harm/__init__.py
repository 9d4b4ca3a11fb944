"""Harm: offence codes, the CCHI and ONS harm tables, and the harm of crimes, people and groups.

METHOD section 6; ``docs/harm.md`` documents the code normalisation, the table formats and the
output tables.
"""
