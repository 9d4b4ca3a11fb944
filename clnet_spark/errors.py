"""Exceptions raised at clnet's boundaries.

Every message names what was wrong (the file, the column, the setting), what was expected and
what arrived. For personal fields (names, dates of birth, record text) a message describes the
shape of what arrived, never its value.
"""

from __future__ import annotations


class ClnetError(ValueError):
    """Base class of every error clnet raises on bad input or configuration."""


class ConfigError(ClnetError):
    """A configuration file or setting is invalid."""


class InputContractError(ClnetError):
    """An input file is missing or does not have the columns the input contract requires."""


class CatalogueError(ConfigError):
    """The search-term catalogue is malformed or contains an unsafe pattern."""


class StageInputError(ClnetError):
    """A stage was started before the tables it reads exist in the warehouse."""


class CommitError(ClnetError):
    """A table write could not be committed: another writer changed the table meanwhile, or
    the Delta log refused the commit."""
