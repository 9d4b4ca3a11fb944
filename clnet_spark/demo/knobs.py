"""Tuning knobs of the demo corpus, in one place.

Every number that shapes the corpus lives here as a field of :class:`DemoKnobs` with a
documented default. The defaults aim at the calibration targets of ``docs/demo-corpus.md``
(the shares of matching records "in the network" in the seed's appendix table). To tune,
change a default here or pass ``write_demo_corpus(..., knobs=DemoKnobs(field=value))``.

Counts "per scale" are the values at ``scale = 1.0``; the generator multiplies them by the
scale. Rates are per row or per person, so they do not change with scale.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- size ---------------------------------------------------------------------------------
NOMINALS_PER_SCALE = 40_000
"""Nominals (people) at scale 1, planted members included."""

NOMINALS_PER_CHUNK = 10_000
"""Background people generated together; each chunk holds about 50,000 records."""

GROUPS_PER_SCALE = 40
"""Planted county-lines groups at scale 1 (never fewer than ``MIN_GROUPS``)."""

MIN_GROUPS = 4


@dataclass(frozen=True)
class DemoKnobs:
    """All tunable rates of the demo corpus.

    Attributes are grouped as in ``docs/demo-corpus.md``: background population, background
    records, planted county-lines groups, planted SOC groups, text forms, traps and
    malformed rows. Probabilities are in [0, 1]; ``*_pmf`` tuples give the probability of the
    counts 1, 2, 3, ... in order.
    """

    # --- background population (per person) ---------------------------------------------
    child_share: float = 0.11
    young_share: float = 0.27
    elderly_share: float = 0.15
    drug_light_share: float = 0.26
    drug_regular_share: float = 0.08
    drug_dealer_share: float = 0.015
    offender_occasional_share: float = 0.30
    offender_prolific_share: float = 0.12
    misper_prone_child_share: float = 0.20
    misper_prone_elderly_share: float = 0.10
    misper_prone_adult_share: float = 0.02
    looked_after_child_share: float = 0.06
    vulnerable_adult_share: float = 0.04
    vulnerable_unknown_share: float = 0.15
    outside_force_home_share: float = 0.03

    # --- background records: counts per person ------------------------------------------
    drug_records_light_pmf: tuple[float, ...] = (0.88, 0.11, 0.01)
    drug_records_regular_pmf: tuple[float, ...] = (0.60, 0.27, 0.09, 0.03, 0.008, 0.002)
    drug_records_dealer_pmf: tuple[float, ...] = (0.60, 0.30, 0.08, 0.02)
    two_drug_share: float = 0.04
    """Share of a person's drug-word records naming two drug groups ("crack and heroin")."""
    misper_records_pmf: tuple[float, ...] = (0.72, 0.20, 0.06, 0.015, 0.005)
    misper_form_share: float = 0.8
    """Share of missing-person reports whose text uses a MISPER form ("misper", ...)."""
    offender_crimes_mean: tuple[float, float] = (1.0, 3.5)
    """Mean ordinary crimes as suspect/offender for occasional and prolific offenders."""
    custody_mean: tuple[float, float] = (0.5, 2.2)
    prison_mean: tuple[float, float] = (0.0, 0.6)
    victim_crimes_mean: float = 0.6
    intel_subject_mean: float = 0.35
    intel_subject_offender_mean: float = 0.5
    unlinked_intel_per_person: float = 1.4
    unlinked_crimes_per_person: float = 0.7
    unlinked_crime_drug_share: float = 0.25
    unlinked_intel_drug_share: float = 0.6
    unlinked_intel_drugs_line_share: float = 0.05
    unlinked_intel_misper_share: float = 0.08
    unlinked_intel_other_share: float = 0.04
    linked_drugs_line_per_person: float = 0.004
    """Records where one background person (never a drug user) runs a local "drugs line"."""
    misper_mention_intel_per_person: float = 0.02
    """Intelligence logs on a background person that mention a misper episode."""
    large_briefings_per_scale: float = 2.0
    """Briefing logs linking more than ``max_record_nominals`` (25) people, no search term."""

    # --- background secondary people on a record (probabilities) ------------------------
    victim_on_offender_crime: float = 0.2
    co_offender_from_circle: float = 0.08
    witness_on_crime: float = 0.2
    suspect_on_victim_crime: float = 0.06
    associate_on_intel: float = 0.08
    reporting_person_on_misper: float = 0.6
    unlisted_role_share: float = 0.002
    """Secondary people given an unlisted role ("informant", counted as other)."""
    other_role_share: float = 0.02
    background_relationships_per_person: float = 0.12
    background_random_relationship_share: float = 0.3

    # --- planted county-lines groups ----------------------------------------------------
    group_size_min: int = 6
    group_size_max: int = 30
    group_size_gamma: tuple[float, float] = (2.0, 4.5)
    cl_records_per_member: float = 5.0
    members_per_record_pmf: tuple[float, ...] = (0.0, 0.40, 0.30, 0.18, 0.12)
    child_runner_share: float = 0.75
    runner_looked_after_share: float = 0.30
    missing_episodes_pmf: tuple[float, ...] = (0.6, 0.25, 0.1, 0.05)
    cl_misper_county_line_share: float = 0.35
    member_ordinary_records_mean: float = 1.2
    """Non-CL records (violence, weapons) per line holder or middle-tier member."""
    within_group_associates_mean: float = 1.6
    cross_group_associates_per_group: float = 0.15
    rival_pair_share: float = 0.5
    background_links_per_group_mean: float = 1.2
    """Family or associate links from members to background people (kept by propagation)."""
    witness_member_share: float = 0.03

    # --- forms on county-lines records (probabilities per record) -----------------------
    cl_county_line_share: float = 0.58
    cl_drugs_line_share: float = 0.2
    cl_cuckoo_share: float = 0.05
    cl_code_share: float = 0.01
    cl_miss_share: float = 0.05
    cl_other_share: float = 0.16
    cl_misper_share: float = 0.02
    cl_drug_word_share: float = 0.18
    cl_phone_share: float = 0.3
    cl_line_name_share: float = 0.45

    # --- planted SOC groups ----------------------------------------------------------------
    soc_associated_group_share: float = 0.34
    soc_partial_group_share: float = 0.25
    soc_background_groups_per_scale: float = 12.0
    soc_extra_members: tuple[int, int] = (3, 15)

    # --- texts ----------------------------------------------------------------------------
    upper_case_text_share: float = 0.08
    multi_line_text_share: float = 0.15
    non_ascii_share: float = 0.01
    emoji_share: float = 0.002
    attached_letter_share: float = 0.002
    """A non-ASCII letter glued to a search word ("heroiné"): the word no longer matches."""

    # --- traps in background texts (probability per eligible record) ---------------------
    trap_crack_windscreen: float = 0.08
    trap_marathon_runner: float = 0.02
    trap_phone_line_down: float = 0.01
    trap_line_manager: float = 0.01
    trap_county_line_road: float = 0.0008
    trap_drugs_line_other_sense: float = 0.0002
    trap_white_description: float = 0.01
    trap_brown_description: float = 0.005
    trap_cuckoo_clock: float = 0.004
    trap_dog_called_charlie: float = 0.002
    trap_spice_rack: float = 0.003
    trap_county_lines_awareness: float = 0.0003
    trap_decoy_phone_number: float = 0.02

    # --- malformed rows (probability per row of the table) -------------------------------
    malformed_empty_record_id: float = 0.0015
    malformed_unparseable_date: float = 0.0015
    malformed_future_date: float = 0.001
    malformed_duplicate_exact: float = 0.001
    malformed_duplicate_conflicting: float = 0.001
    malformed_link_unknown_record: float = 0.0015
    malformed_link_unknown_nominal: float = 0.0015
    malformed_link_unknown_source: float = 0.0007
    malformed_relationship_unknown_nominal: float = 0.003
    malformed_relationship_self: float = 0.002
    malformed_soc_unknown_nominal: float = 0.01
    malformed_nominal_empty_id: float = 0.004


DEFAULT_KNOBS = DemoKnobs()
