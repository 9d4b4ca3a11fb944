"""Background records of one chunk of people: ordinary crime, drug use, intelligence,
custody, prison and missing-person records that are not county lines.

Counts per person are drawn here (from the chunk's own generator); attributes come from
:func:`clnet_spark.demo.population.people`. Each record has a primary person and perhaps
secondary people: circle mates (co-offenders, reporting parents) or strangers (victims,
witnesses). Planted county-lines members are never drawn, so background records stay away
from them apart from the few planted links.
"""

from __future__ import annotations

import numpy as np

from clnet_spark import columns as c
from clnet_spark.demo import population as pop
from clnet_spark.demo import sentences as s
from clnet_spark.demo import vocab as v
from clnet_spark.demo.chunk import (
    ChunkContext,
    day_area,
    draw_days,
    drug_groups,
    fillers,
    link_secondary,
    offence_code,
    pick_offences,
    pmf_counts,
    record_area,
)
from clnet_spark.demo.text import TextMaker

_OFFENCE_TRAPS = {
    "criminal_damage": (("crack_in_windscreen", "trap_crack_windscreen"),),
    "burglary": (
        ("cuckoo_clock", "trap_cuckoo_clock"),
        ("phone_line_down", "trap_phone_line_down"),
        ("dog_called_charlie", "trap_dog_called_charlie"),
        ("spice_rack", "trap_spice_rack"),
    ),
    "assault": (("line_manager", "trap_line_manager"),),
    "assault_injury": (("line_manager", "trap_line_manager"),),
    "theft": (("dog_called_charlie", "trap_dog_called_charlie"),),
}
_DESCRIPTION_TRAPS = (
    ("white_description", "trap_white_description"),
    ("brown_description", "trap_brown_description"),
)


def crime_text(ctx: ChunkContext, offence: str, area: str, victim_crime: bool) -> str:
    """An ordinary crime's text, with the traps its offence allows."""
    maker = ctx.makers[c.CRIMES]
    rec = {"area": area or "the area"}
    if offence == "criminal_damage" and maker.rnd.random() < ctx.knobs.trap_crack_windscreen:
        parts = [maker.trap("crack_in_windscreen")]
    else:
        parts = [maker.choice(s.OFFENCE_SENTENCES[offence])]
    for trap, knob in _OFFENCE_TRAPS.get(offence, ()):
        if trap != "crack_in_windscreen" and maker.rnd.random() < getattr(ctx.knobs, knob):
            parts.append(maker.trap(trap))
    for trap, knob in _DESCRIPTION_TRAPS:
        if maker.rnd.random() < getattr(ctx.knobs, knob):
            parts.append(maker.trap(trap))
    if victim_crime and maker.rnd.random() < ctx.knobs.trap_marathon_runner:
        parts.append(maker.trap("marathon_runner"))
    return maker.compose(c.CRIMES, parts, rec, fillers(ctx))


_OFFENDER_ROLES = ("suspect", "suspect", "offender", "charged")
_DRUG_SOURCES = (c.CRIMES, c.IMS, c.ICIS, c.PINS)
_DRUG_SOURCE_P = np.array([0.35, 0.35, 0.22, 0.08])
_DRUG_TEMPLATES = {
    c.CRIMES: s.DRUG_POSSESSION,
    c.IMS: s.DRUG_INTEL,
    c.ICIS: s.DRUG_CUSTODY,
    c.PINS: s.DRUG_PRISON,
}


def drug_records(ctx: ChunkContext, p: pop.People) -> None:
    """Possession, use and local dealing: the drug-word records of ordinary people."""
    k = ctx.knobs
    counts = np.zeros(len(p.idx), dtype=np.int64)
    for level, pmf in (
        (pop.DRUG_LIGHT, k.drug_records_light_pmf),
        (pop.DRUG_REGULAR, k.drug_records_regular_pmf),
        (pop.DRUG_DEALER, k.drug_records_dealer_pmf),
    ):
        mask = p.drug_level == level
        counts[mask] = pmf_counts(ctx.rng, pmf, int(mask.sum()))
    who, days, areas = day_area(ctx, p, np.repeat(np.arange(len(p.idx)), counts), 12, 99)
    groups = drug_groups(ctx, p.drug_group[who])
    source_i = ctx.rng.choice(4, size=len(who), p=_DRUG_SOURCE_P)
    source_i = np.where((source_i == 3) & (p.offending[who] < 2), 1, source_i)
    pwits = (p.drug_level[who] == pop.DRUG_DEALER) & (ctx.rng.random(len(who)) < 0.4)
    mates = ctx.mates(p.idx[who])
    co = ctx.rng.random(len(who)) < 0.03
    for i, w in enumerate(who.tolist()):
        person = int(p.idx[w])
        rec_ctx = {"area": areas[i] or "the area", "drugs": groups[i]}
        if pwits[i]:
            source, offence = (
                c.CRIMES,
                "pwits_cannabis" if groups[i][0] == "WEED" else "pwits_class_a",
            )
            template = s.LOCAL_DEALING
        else:
            source = _DRUG_SOURCES[int(source_i[i])]
            template = _DRUG_TEMPLATES[source]
            offence = "possession_cannabis" if groups[i][0] == "WEED" else "possession_class_a"
        maker = ctx.makers[source]
        parts = [maker.choice(template)]
        if len(groups[i]) == 2:
            parts.append(maker.choice(s.TWO_DRUGS))
        text = maker.compose(source, parts, rec_ctx, fillers(ctx))
        batch = ctx.batches[source]
        code = offence_code(ctx, offence) if source in (c.CRIMES, c.ICIS) else ""
        rec = batch.add(text, days[i], areas[i], code)
        if source == c.CRIMES:
            role = maker.choice(_OFFENDER_ROLES)
        else:
            role = "arrested" if source == c.ICIS else "subject"
        batch.link(rec, person, role)
        if co[i] and mates[i] >= 0 and source in (c.CRIMES, c.ICIS):
            batch.link(rec, int(mates[i]), role)


def misper_records(ctx: ChunkContext, p: pop.People) -> None:
    """Missing-person reports: children, adults, and elderly people with dementia."""
    k = ctx.knobs
    prone = np.flatnonzero(p.misper_prone)
    counts = pmf_counts(ctx.rng, k.misper_records_pmf, len(prone))
    who = np.repeat(prone, counts)
    elderly = p.age_class[who] == pop.AGE_ELDERLY
    child_now = p.age_class[who] == pop.AGE_CHILD
    lo = np.where(elderly, 60.0, np.where(child_now, 10.0, 12.0))
    hi = np.where(elderly, 99.0, np.where(child_now, 18.0, 99.0))
    days, keep = draw_days(ctx.rng, p.birth[who], lo, hi)
    who, days, elderly = who[keep], days[keep], elderly[keep]
    areas = record_area(ctx, p.home_area[who])
    reporters = ctx.mates(p.idx[who])
    report = ctx.rng.random(len(who)) < k.reporting_person_on_misper
    with_form = ctx.rng.random(len(who)) < k.misper_form_share
    durations = ctx.rng.integers(0, 10, size=len(who))
    far = ctx.rng.random(len(who)) < 0.1
    towns = ctx.rng.integers(0, len(v.COUNTY_TOWNS), size=len(who))
    maker = ctx.makers[c.COMPACT]
    batch = ctx.batches[c.COMPACT]
    for i, w in enumerate(who.tolist()):
        age = int((days[i] - p.birth[w]).astype(np.int64) / pop.DAYS_PER_YEAR)
        found = v.COUNTY_TOWNS[towns[i]] if far[i] else (areas[i] or "the area")
        rec_ctx = {"area": areas[i] or "the area", "found": found, "age": age}
        pool = s.MISPER_ELDERLY if elderly[i] else s.MISPER_CHILD if age < 18 else s.MISPER_ADULT
        options = [t for t in pool if ("{misper}" in t) == bool(with_form[i])] or list(pool)
        if elderly[i] and with_form[i]:
            maker.traps["dementia_misper"] += 1
        parts = [maker.choice(options)]
        if maker.rnd.random() < 0.5:
            parts.append(maker.choice(s.MISPER_FILLERS))
        text = maker.compose(c.COMPACT, parts, rec_ctx, 0)
        ended = (
            None if maker.rnd.random() < 0.05 else days[i] + np.timedelta64(int(durations[i]), "D")
        )
        found = found if ended is not None else ""
        rec = batch.add(text, days[i], areas[i], ended=ended, found=found)
        batch.link(rec, int(p.idx[w]), "missing person")
        if report[i] and reporters[i] >= 0:
            batch.link(rec, int(reporters[i]), "reporting person")


def crime_records(ctx: ChunkContext, p: pop.People) -> None:
    """Ordinary crimes: the person as offender (with victims, co-offenders) or as victim."""
    k = ctx.knobs
    n = len(p.idx)
    mean_off = np.select([p.offending == 1, p.offending == 2], list(k.offender_crimes_mean), 0.0)
    off_counts = ctx.rng.poisson(mean_off)
    vic_counts = ctx.rng.poisson(k.victim_crimes_mean, size=n)
    batch = ctx.batches[c.CRIMES]
    maker = ctx.makers[c.CRIMES]
    for counts, victim_crime in ((off_counts, False), (vic_counts, True)):
        who, days, areas = day_area(ctx, p, np.repeat(np.arange(n), counts), 10, 99)
        offences = pick_offences(ctx, len(who))
        persons = p.idx[who]
        others = ctx.strangers(len(who), avoid=persons)
        mates = ctx.mates(persons)
        witnesses = ctx.strangers(len(who), avoid=persons)
        recs: list[int] = []
        for i in range(len(who)):
            offence = offences[i]
            if victim_crime and offence in ("shoplifting", "weapon", "weapon_other"):
                offence = "theft"
            text = crime_text(ctx, offence, areas[i], victim_crime)
            rec = batch.add(text, days[i], areas[i], offence_code(ctx, offence))
            batch.link(
                rec, int(persons[i]), "victim" if victim_crime else maker.choice(_OFFENDER_ROLES)
            )
            recs.append(rec)
        if victim_crime:
            link_secondary(ctx, batch, recs, others, k.suspect_on_victim_crime, "suspect")
        else:
            link_secondary(ctx, batch, recs, others, k.victim_on_offender_crime, "victim")
            link_secondary(ctx, batch, recs, mates, k.co_offender_from_circle, "suspect")
        link_secondary(ctx, batch, recs, witnesses, k.witness_on_crime, "witness")


def intel_custody_prison_records(ctx: ChunkContext, p: pop.People) -> None:
    """Intelligence on people, custody records and prison records without drug words."""
    k = ctx.knobs
    n = len(p.idx)
    off = p.offending
    plans = (
        (c.IMS, ctx.rng.poisson(k.intel_subject_mean + k.intel_subject_offender_mean * off), 12),
        (c.ICIS, ctx.rng.poisson(np.select([off == 1, off == 2], list(k.custody_mean), 0.0)), 12),
        (c.PINS, ctx.rng.poisson(np.select([off == 1, off == 2], list(k.prison_mean), 0.0)), 18),
    )
    for source, counts, min_age in plans:
        who, days, areas = day_area(ctx, p, np.repeat(np.arange(n), counts), min_age, 99)
        persons = p.idx[who]
        mates = ctx.mates(persons)
        batch = ctx.batches[source]
        maker = ctx.makers[source]
        recs: list[int] = []
        for i in range(len(who)):
            rec_ctx = {"area": areas[i] or "the area", "date": _release_date(maker, days[i])}
            if source == c.IMS:
                parts = [maker.choice(s.INTEL)]
                if maker.rnd.random() < k.trap_phone_line_down:
                    parts.append(maker.trap("phone_line_down"))
                if maker.rnd.random() < k.trap_line_manager:
                    parts.append(maker.trap("line_manager"))
                if maker.rnd.random() < k.trap_decoy_phone_number:
                    parts.append(maker.trap("decoy_phone_number"))
                code = ""
            elif source == c.ICIS:
                parts = [maker.choice(s.CUSTODY)]
                for trap, knob in _DESCRIPTION_TRAPS:
                    if maker.rnd.random() < getattr(k, knob):
                        parts.append(maker.trap(trap))
                code = offence_code(ctx, pick_offences(ctx, 1)[0])
            else:
                parts, code = [maker.choice(s.PRISON)], ""
            text = maker.compose(source, parts, rec_ctx, fillers(ctx))
            rec = batch.add(text, days[i], areas[i], code)
            role = {c.IMS: "subject", c.ICIS: "arrested", c.PINS: "subject"}[source]
            batch.link(rec, int(persons[i]), role)
            recs.append(rec)
        if source == c.IMS:
            link_secondary(ctx, batch, recs, mates, k.associate_on_intel, "associate")


def _release_date(maker: TextMaker, day: np.datetime64) -> str:
    later = day + np.timedelta64(30 + int(maker.rnd.random() * 700), "D")
    iso = str(later)
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def occasional_records(ctx: ChunkContext, p: pop.People) -> None:
    """Rare linked records: a local "drugs line" and intelligence mentioning a misper."""
    k = ctx.knobs
    batch = ctx.batches[c.IMS]
    maker = ctx.makers[c.IMS]
    # a drug user with this record would pass the threshold on a single drug word
    clean = np.flatnonzero((p.drug_level == pop.DRUG_NONE) & ~p.misper_prone)
    share = k.linked_drugs_line_per_person * len(p.idx) / max(len(clean), 1)
    dl_who = clean[ctx.rng.random(len(clean)) < share]
    prone = np.flatnonzero(p.misper_prone)
    share = k.misper_mention_intel_per_person * len(p.idx) / max(len(prone), 1)
    mp_who = prone[ctx.rng.random(len(prone)) < share]
    for who, pool in ((dl_who, s.LOCAL_DRUGS_LINE), (mp_who, s.INTEL_MISPER)):
        who, days, areas = day_area(ctx, p, who, 12, 99)
        for i, w in enumerate(who.tolist()):
            text = maker.compose(
                c.IMS, [maker.choice(pool)], {"area": areas[i] or "the area"}, fillers(ctx)
            )
            rec = batch.add(text, days[i], areas[i])
            batch.link(rec, int(p.idx[w]), "subject")


def unlinked_records(ctx: ChunkContext, n_people: int) -> None:
    """Records about places, not people: anonymous intelligence, crimes with no suspect."""
    k = ctx.knobs
    span = int((pop.END - pop.START).astype(np.int64)) + 1
    mix = np.cumsum(v.BACKGROUND_DRUG_MIX)
    for source, per_person in (
        (c.IMS, k.unlinked_intel_per_person),
        (c.CRIMES, k.unlinked_crimes_per_person),
    ):
        n = int(ctx.rng.poisson(per_person * n_people))
        maker = ctx.makers[source]
        batch = ctx.batches[source]
        days = pop.START + ctx.rng.integers(0, span, size=n).astype("timedelta64[D]")
        areas = record_area(ctx, pop.force_area_index(ctx.rng.random(n)))
        groups = drug_groups(ctx, np.searchsorted(mix, ctx.rng.random(n) * 0.999999, side="right"))
        for i in range(n):
            rec_ctx = {"area": areas[i] or "the area", "drugs": groups[i]}
            if source == c.IMS:
                parts, code = [_unlinked_intel(maker)], ""
            else:
                parts = [_unlinked_crime(maker)]
                code = offence_code(ctx, pick_offences(ctx, 1)[0])
            batch.add(maker.compose(source, parts, rec_ctx, fillers(ctx)), days[i], areas[i], code)


def _unlinked_crime(maker: TextMaker) -> str:
    r = maker.rnd.random()
    if r < maker.knobs.trap_county_line_road:
        return maker.trap("county_line_road")
    if r < maker.knobs.unlinked_crime_drug_share:
        return maker.choice(s.UNLINKED_CRIME_DRUG)
    return maker.choice(s.UNLINKED_CRIME)


def _unlinked_intel(maker: TextMaker) -> str:
    k = maker.knobs
    r = maker.rnd.random()
    if r < k.trap_county_lines_awareness:
        return maker.trap("county_lines_awareness")
    if r < k.trap_county_lines_awareness + k.trap_drugs_line_other_sense:
        return maker.trap("drugs_line_other_sense")
    bound = 0.0
    for share, pool in (
        (k.unlinked_intel_drug_share, s.UNLINKED_INTEL_DRUG),
        (k.unlinked_intel_drugs_line_share, s.UNLINKED_INTEL_DRUGS_LINE),
        (k.unlinked_intel_misper_share, s.UNLINKED_INTEL_MISPER),
        (k.unlinked_intel_other_share, s.UNLINKED_INTEL_OTHER),
    ):
        bound += share
        if r < bound:
            return maker.choice(pool)
    return maker.choice(s.UNLINKED_INTEL)


def briefings(ctx: ChunkContext, n: int) -> None:
    """Briefing logs linking more than 25 people (evidence but no pairs in the method)."""
    maker = ctx.makers[c.IMS]
    batch = ctx.batches[c.IMS]
    for _ in range(n):
        size = int(ctx.rng.integers(26, 41))
        area = v.FORCE_AREAS[int(ctx.rng.integers(0, len(v.FORCE_AREAS)))][0]
        day = pop.START + np.timedelta64(int(ctx.rng.integers(0, 4000)), "D")
        rec = batch.add(maker.compose(c.IMS, list(s.BRIEFING), {"area": area}, 1), day, area)
        for person in set(ctx.strangers(size).tolist()) - {-1}:
            batch.link(rec, int(person), "subject")


def relationships(
    ctx: ChunkContext, p: pop.People
) -> list[tuple[int, int, str, str, np.datetime64]]:
    """Explicit links between background people, mostly inside circles."""
    k = ctx.knobs
    counts = ctx.rng.poisson(k.background_relationships_per_person, size=len(p.idx))
    who, days, _ = day_area(ctx, p, np.repeat(np.arange(len(p.idx)), counts), 12, 99)
    persons = p.idx[who]
    mates = ctx.mates(persons)
    strangers = ctx.strangers(len(who), avoid=persons)
    use_stranger = ctx.rng.random(len(who)) < k.background_random_relationship_share
    other = np.where(use_stranger | (mates < 0), strangers, mates)
    kind_r = ctx.rng.random(len(who))
    sources = ctx.rng.choice(len(c.SOURCES), size=len(who), p=(0.3, 0.4, 0.2, 0.05, 0.05))
    out = []
    for i in range(len(who)):
        if other[i] < 0:
            continue
        if use_stranger[i] or mates[i] < 0:
            kind = "associate" if kind_r[i] < 0.9 else "co-accused"
        else:
            kind = "family" if kind_r[i] < 0.7 else "associate" if kind_r[i] < 0.95 else "partner"
        out.append((int(persons[i]), int(other[i]), kind, c.SOURCES[int(sources[i])], days[i]))
    return out
