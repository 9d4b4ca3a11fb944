"""Typed configuration: ``conf/clnet.yaml`` validated into one :class:`ClnetConfig`.

Transforms receive the sections they need as arguments; nothing reads configuration from
globals. Validation happens here, before any data is read, with errors that name the setting.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clnet_spark.analysis.centrality import CentralityConfig
from clnet_spark.analysis.priority import PriorityConfig
from clnet_spark.errors import ConfigError
from clnet_spark.safeguarding.flags import SafeguardingConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "conf" / "clnet.yaml"


_INTERVAL = r"^interval \d+ (hours|days|weeks)$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ENCODINGS = ("utf-8", "iso-8859-1", "windows-1252", "utf-16", "utf-16le", "utf-16be")
"""Encodings an input CSV may declare in ``ingest.encoding`` (docs/ingest.md)."""


class IngestConfig(_Section):
    earliest_year: int = Field(1900, ge=1000, le=2100)
    encoding: dict[str, str] = Field(default_factory=dict)
    """Input table -> encoding of its CSV file; every other file must be UTF-8."""

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, values: dict[str, str]) -> dict[str, str]:
        cleaned = {k.strip().lower(): v.strip().lower() for k, v in values.items()}
        for table, name in cleaned.items():
            if name not in ENCODINGS:
                raise ValueError(f"{table}: expected one of {list(ENCODINGS)}, got {name!r}")
        return cleaned


class SearchConfig(_Section):
    catalogue: Path = Path("search_terms.yaml")
    engine: Literal["hyperscan", "native"] = "hyperscan"
    reader: Literal["files", "spark"] = "files"
    writer: Literal["files", "spark"] = "files"


class UpdateConfig(_Section):
    """``clnet update`` (docs/operations.md, "Small writes from the driver")."""

    driver_rows: int = Field(100_000, ge=0)
    """A batch's changes to a table, and its small tables, when at most this many rows, are
    committed from the driver with ``deltalake`` instead of a Spark Delta MERGE or write, and a
    batch of at most this many records is searched on the driver; 0: Spark does every write
    and search."""


class NetworkConfig(_Section):
    linking_roles: tuple[str, ...] = (
        "suspect",
        "offender",
        "charged",
        "arrested",
        "subject",
        "associate",
        "victim",
        "missing person",
    )
    max_record_nominals: int = Field(25, ge=2)
    line_weight: float = Field(0.4, ge=0.0, le=1.0)
    deepening_hops: Literal[1] = 1
    rounds: int = Field(1, ge=0, le=50)
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    adversarial_types: tuple[str, ...] = ("rival",)

    @field_validator("linking_roles", "adversarial_types")
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)


class GroupsConfig(_Section):
    walktrap_steps: int = Field(4, ge=1, le=100)


class SocConfig(_Section):
    association_threshold: float = Field(0.5, ge=0.0, le=1.0)


Layout = Literal["auto", "simple", "cchi_2020", "ons_css"]


class HarmConfig(_Section):
    """Harm indices (``docs/harm.md``); table paths are relative to the config file."""

    cchi_table: Path = Path("harm/demo_crime_harm_days.csv")
    cchi_layout: Layout = "auto"
    ons_table: Path = Path("harm/demo_severity_weights.csv")
    ons_layout: Layout = "auto"
    harm_roles: tuple[str, ...] = ("suspect", "offender", "charged")
    recent_years: int = Field(3, ge=1, le=100)

    @field_validator("harm_roles")
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)


class RetentionConfig(_Section):
    """How long Delta keeps what a table no longer uses (docs/operations.md, retention).

    Durations are Delta intervals (``interval 7 days``). Time travel reaches back only as far
    as ``deleted_file_retention`` once a table has been vacuumed; ``clnet forget`` vacuums.
    """

    deleted_file_retention: str = Field("interval 7 days", pattern=_INTERVAL)
    log_retention: str = Field("interval 30 days", pattern=_INTERVAL)

    def table_properties(self) -> dict[str, str]:
        """The Delta table properties set on every table of the warehouse."""
        return {
            "delta.deletedFileRetentionDuration": self.deleted_file_retention,
            "delta.logRetentionDuration": self.log_retention,
        }


class SparkConfig(_Section):
    master: str = "local[*]"
    app_name: str = "clnet"
    shuffle_partitions: int = Field(8, ge=1)
    driver_memory: str = "4g"
    extra: dict[str, str] = Field(default_factory=dict)


class ClnetConfig(_Section):
    """The whole configuration of a run."""

    force_areas: tuple[str, ...] = (
        "Birmingham",
        "Coventry",
        "Dudley",
        "Sandwell",
        "Solihull",
        "Walsall",
        "Wolverhampton",
    )
    ingest: IngestConfig = IngestConfig()
    search: SearchConfig = SearchConfig()
    update: UpdateConfig = UpdateConfig()
    network: NetworkConfig = NetworkConfig()
    groups: GroupsConfig = GroupsConfig()
    soc: SocConfig = SocConfig()
    harm: HarmConfig = HarmConfig()
    safeguarding: SafeguardingConfig = SafeguardingConfig()
    centrality: CentralityConfig = CentralityConfig()
    priority: PriorityConfig = PriorityConfig()
    retention: RetentionConfig = RetentionConfig()
    spark: SparkConfig = SparkConfig()
    base_dir: Path = Field(default=REPO_ROOT / "conf", exclude=True)

    @property
    def catalogue_path(self) -> Path:
        """The search catalogue, resolved against the directory of the config file."""
        path = self.search.catalogue
        return path if path.is_absolute() else self.base_dir / path

    def config_hash(self) -> str:
        """SHA-256 of the effective settings, recorded with every run."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def _apply_override(data: dict[str, Any], assignment: str) -> None:
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {assignment!r}: expected section.key=value")
    *parents, leaf = key.strip().split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
    node[leaf] = yaml.safe_load(raw)


def load_config(path: Path | None = None, overrides: tuple[str, ...] = ()) -> ClnetConfig:
    """Read and validate a configuration file.

    Parameters
    ----------
    path
        A YAML file; the repository's ``conf/clnet.yaml`` when ``None``.
    overrides
        ``section.key=value`` assignments applied on top of the file (values parsed as YAML).

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or a setting is unknown or out of range; the
        message names the setting.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top level")
    for assignment in overrides:
        _apply_override(data, assignment)
    try:
        return ClnetConfig(**data, base_dir=path.resolve().parent)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config file {path}: {problems}") from exc
