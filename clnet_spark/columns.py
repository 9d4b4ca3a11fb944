"""Column and table names of clnet's canonical model, in one place.

Transforms refer to these constants rather than to string literals, so a renamed column is a
one-line change and a typo is an ``AttributeError`` instead of a silent empty join.
"""

from __future__ import annotations

from typing import Final

# --- source systems ----------------------------------------------------------------------
CRIMES: Final = "crimes"
IMS: Final = "ims"
ICIS: Final = "icis"
PINS: Final = "pins"
COMPACT: Final = "compact"
SOURCES: Final = (CRIMES, IMS, ICIS, PINS, COMPACT)

# --- shared columns ----------------------------------------------------------------------
SOURCE: Final = "source"
RECORD_ID: Final = "record_id"
RECORDED_AT: Final = "recorded_at"
TEXT: Final = "text"
OFFENCE_CODE: Final = "offence_code"
AREA: Final = "area"
ENDED_AT: Final = "ended_at"
FOUND_AREA: Final = "found_area"
UPDATED_AT: Final = "updated_at"
IS_DELETED: Final = "is_deleted"
RESTRICTED: Final = "restricted"
"""Map of the extra input columns (names, addresses, ...): kept, never exported, never logged."""

NOMINAL_ID: Final = "nominal_id"
ROLE: Final = "role"
ROLE_RAW: Final = "role_raw"
BIRTH_DATE: Final = "birth_date"
BIRTH_DATE_PRECISION: Final = "birth_date_precision"
SEX: Final = "sex"
HOME_AREA: Final = "home_area"
LOOKED_AFTER_CHILD: Final = "looked_after_child"
VULNERABLE_ADULT: Final = "vulnerable_adult"

SOURCE_NOMINAL_ID: Final = "source_nominal_id"
"""``nominal_identity`` only: the nominal id as the source system spells it (restricted)."""

NOMINAL_A: Final = "nominal_a"
NOMINAL_B: Final = "nominal_b"
RELATIONSHIP_TYPE: Final = "relationship_type"
SOC_GROUP_ID: Final = "soc_group_id"

# --- quarantine --------------------------------------------------------------------------
TABLE: Final = "table"
REASON: Final = "reason"
RAW: Final = "raw"
RUN_ID: Final = "run_id"

# --- search ------------------------------------------------------------------------------
RECORD_WEIGHT: Final = "record_weight"
MATCHED_GROUPS: Final = "matched_groups"
MATCHES: Final = "matches"
GROUP: Final = "group"
TERM: Final = "term"
OFFSET: Final = "offset"
CATALOGUE_HASH: Final = "catalogue_hash"

# --- graph (GraphFrames' vertex/edge contract) ---------------------------------------------
ID: Final = "id"
SRC: Final = "src"
DST: Final = "dst"
MSG: Final = "msg"
EVIDENCE: Final = "evidence"
WEIGHT: Final = "weight"
PROVISIONAL: Final = "provisional"
EDGE_WEIGHT: Final = "edge_weight"
ADVERSARIAL_ONLY: Final = "adversarial_only"
EVIDENCE_RECORDS: Final = "evidence_records"
EVIDENCE_GROUPS: Final = "evidence_groups"
RELATIONSHIP_TYPES: Final = "relationship_types"
CO_RECORDS: Final = "co_records"

# --- groups ------------------------------------------------------------------------------
GROUP_ID: Final = "group_id"
GROUP_KIND: Final = "group_kind"

# --- deal lines --------------------------------------------------------------------------
LINE_ID: Final = "line_id"
LINE_KIND: Final = "kind"
FIRST_SEEN: Final = "first_seen"
LAST_SEEN: Final = "last_seen"
RECORDS: Final = "records"
ACTIVE: Final = "active"
EVIDENCE_LINES: Final = "evidence_lines"


class Tables:
    """Delta table names under the warehouse (``<warehouse>/<name>``)."""

    QUARANTINE: Final = "quarantine"
    RECORDS: Final = "records"
    RECORD_NOMINALS: Final = "record_nominals"
    NOMINALS: Final = "nominals"
    RELATIONSHIPS: Final = "relationships"
    SOC_GROUPS: Final = "soc_groups"
    MISSING_EPISODES: Final = "missing_episodes"
    INGEST_COUNTS: Final = "ingest_counts"
    RECORD_MATCHES: Final = "record_matches"
    CL_NOMINALS: Final = "cl_nominals"
    CL_EDGES: Final = "cl_edges"
    CL_GROUPS: Final = "cl_groups"
    SOC_OVERLAP: Final = "soc_overlap"
    SEARCH_GROUP_REPORT: Final = "search_group_report"
    SEARCH_TERM_REPORT: Final = "search_term_report"
    LINES: Final = "lines"
    RECORD_LINES: Final = "record_lines"
    GROUP_LINES: Final = "group_lines"
    HARM_CRIMES: Final = "harm_crimes"
    NOMINAL_HARM: Final = "nominal_harm"
    GROUP_HARM: Final = "group_harm"
    SAFEGUARDING_FLAGS: Final = "safeguarding_flags"
    SAFEGUARDING_LIST: Final = "safeguarding_list"
    MISSING_PERSONS: Final = "missing_persons"
    DISPROPORTIONALITY: Final = "disproportionality"
    CENTRALITY: Final = "centrality"
    GROUP_PRIORITY: Final = "group_priority"
    DISMANTLING: Final = "dismantling"
    RUN_LOG: Final = "run_log"
    GROUP_CHANGES: Final = "group_changes"
    GROUP_ID_REGISTER: Final = "group_id_register"
    RESCAN_PROGRESS: Final = "rescan_progress"
    NOMINAL_IDENTITY: Final = "nominal_identity"
    """Restricted: pseudonym -> source nominal id and the nominals' restricted columns."""
