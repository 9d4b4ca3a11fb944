"""The Hyperscan search engine: the whole catalogue in one multi-pattern scan per Arrow batch.

Records go to Python workers as Arrow batches (``mapInArrow``; in the search stage the workers
read them from the table's files, :mod:`clnet_spark.search.table_files`). Per batch:

1. **Filter.** The UTF-8 bytes of all the batch's texts, as Arrow holds them (one contiguous
   buffer), are scanned once by a Hyperscan block-mode database holding one pattern per phrase
   (:func:`~clnet_spark.search.translate.phrase_filter`: the phrase's words and separator runs,
   without word boundaries or the plural), compiled with ``HS_FLAG_SOM_LEFTMOST``. Hyperscan
   reports every end offset of every pattern with its leftmost start; an end offset maps to
   its record through the Arrow offsets. A pattern matches at least wherever its phrase does,
   so this gives a superset of the (record, term) pairs. A match across two adjacent texts is
   a false candidate.
2. **Decide from the bytes.** In an ASCII record, for a phrase whose words start and end with
   a character other than ``-`` and ``_``, the remaining conditions are byte tests, done for
   the whole batch in numpy (:func:`~clnet_spark.search.byte_decision.decide`, which gives the
   reasoning): the first occurrence is the smallest valid start, in bytes = characters.
3. **Verify.** Every other candidate (record, term): the term's Python ``re`` pattern
   (exactly the Java pattern's meaning,
   :func:`~clnet_spark.search.translate.phrase_verifier`) is searched in the record's text,
   after the native engine's replacement of supplementary characters
   (:func:`~clnet_spark.search.translate.bmp_text`, which keeps the length). The match start
   is the first occurrence in code points (Python string indices). Raw regex terms have no
   filter: their verifier runs on every text.
4. **Weigh.** Groups with a match, ``min(1, sum of their weights)`` as an exact
   :class:`~decimal.Decimal` (once per distinct set of groups), sent back as
   ``DECIMAL(12,9)``.

The compiled engine (database, scratch, verifiers) is cached per Python process, keyed by the
catalogue hash: Spark reuses its Python workers, so a worker compiles the catalogue once.
:func:`check_catalogue` compiles it on the driver first, so a term the engine cannot run is
reported, with its name, before any data is read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from clnet_spark.columns import (
    CATALOGUE_HASH,
    GROUP,
    MATCHED_GROUPS,
    MATCHES,
    OFFSET,
    RECORD_ID,
    RECORD_WEIGHT,
    SOURCE,
    TERM,
    TEXT,
)
from clnet_spark.errors import CatalogueError, InputContractError
from clnet_spark.search.byte_decision import EMPTY, Events, decide, scan_events
from clnet_spark.search.catalogue import PHRASE, Catalogue, Term, phrase_words
from clnet_spark.search.native import MATCHES_TYPE
from clnet_spark.search.translate import bmp_text, phrase_filter, phrase_verifier, raw_verifier
from clnet_spark.weights import WEIGHT_TYPE

log = logging.getLogger(__name__)

OUTPUT_SCHEMA: Final = StructType(
    [
        StructField(SOURCE, StringType()),
        StructField(RECORD_ID, StringType()),
        StructField(RECORD_WEIGHT, WEIGHT_TYPE),
        StructField(MATCHED_GROUPS, ArrayType(StringType())),
        StructField(MATCHES, MATCHES_TYPE),
        StructField(CATALOGUE_HASH, StringType()),
    ]
)
"""The columns of ``record_matches``, as :func:`clnet_spark.search.native.match_records`."""

_ARROW_MATCH: Final = pa.struct(
    [pa.field(GROUP, pa.string()), pa.field(TERM, pa.string()), pa.field(OFFSET, pa.int32())]
)
ARROW_SCHEMA: Final = pa.schema(
    [
        pa.field(SOURCE, pa.string()),
        pa.field(RECORD_ID, pa.string()),
        pa.field(RECORD_WEIGHT, pa.decimal128(WEIGHT_TYPE.precision, WEIGHT_TYPE.scale)),
        pa.field(MATCHED_GROUPS, pa.list_(pa.string())),
        pa.field(MATCHES, pa.list_(_ARROW_MATCH)),
        pa.field(CATALOGUE_HASH, pa.string()),
    ]
)
_NINE_PLACES: Final = Decimal("1e-9")
_ONE: Final = Decimal(1)


@dataclass
class CompiledTerm:
    """A term ready to verify: its index in :attr:`Catalogue.terms` and its ``re`` pattern.

    A phrase's pattern is compiled on first use (each takes ~20 ms: its word classes list
    every Unicode letter), so a worker only compiles the phrases its records contain.
    """

    index: int
    term: Term
    source: str
    flags: int
    _pattern: re.Pattern[str] | None = None

    @property
    def verifier(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.source, self.flags)
        return self._pattern


class CompiledCatalogue:
    """A catalogue compiled for the Hyperscan engine (one per process and catalogue hash)."""

    def __init__(self, catalogue: Catalogue, *, decide_by_bytes: bool = True) -> None:
        import hyperscan  # a runtime dependency of this engine only

        self.decide_by_bytes = decide_by_bytes
        """Whether matches in ASCII records are decided from the bytes
        (:meth:`decided_by_bytes`); otherwise the verifier checks every candidate."""
        self.catalogue = catalogue
        self.weights = {group.name: group.weight for group in catalogue.groups}
        self._by_mask: dict[int, tuple[Decimal, list[str]]] = {}
        bit = {group.name: 1 << number for number, group in enumerate(catalogue.groups)}
        self.group_bits = np.array([bit[t.group] for t in catalogue.terms], dtype=np.int64)
        self.group_column = pa.array([term.group for term in catalogue.terms], type=pa.string())
        self.term_column = pa.array([term.label for term in catalogue.terms], type=pa.string())
        self.terms: list[CompiledTerm] = []
        for index, term in enumerate(catalogue.terms):
            try:
                source = phrase_verifier(term.label) if term.kind == PHRASE else None
                source = source or raw_verifier(term.pattern)
            except CatalogueError as exc:
                raise CatalogueError(f"group {term.group!r}, term {term.label!r}: {exc}") from exc
            flags = 0 if term.kind == PHRASE else re.ASCII
            self.terms.append(CompiledTerm(index, term, source, flags))
        self.phrases = [t for t in self.terms if t.term.kind == PHRASE]
        self.raws = [t for t in self.terms if t.term.kind != PHRASE]
        self.phrase_index = np.array([t.index for t in self.phrases], dtype=np.int64)
        self.decidable = np.array(
            [
                all(word[0] not in "-_" and word[-1] not in "-_" for word in words)
                for words in (phrase_words(t.term.label) for t in self.phrases)
            ],
            dtype=bool,
        )
        """Per phrase: whether :meth:`decided_by_bytes` may decide it (no word of it starts or
        ends with a hyphen or underscore, characters a separator run also matches)."""
        self.database: Any = None
        self.som = False
        """Whether the database reports each match's leftmost start."""
        if self.phrases:
            expressions = [phrase_filter(t.term.label) for t in self.phrases]
            try:
                self.database = self._compile(expressions, hyperscan.HS_FLAG_SOM_LEFTMOST)
                self.som = True
            except hyperscan.error:
                log.info("hyperscan: starts of match unavailable, every candidate is verified")
                try:
                    self.database = self._compile(expressions, 0)
                except hyperscan.error as exc:
                    raise CatalogueError(
                        f"Hyperscan cannot compile the catalogue's phrases: {exc} "
                        f"({self._failing_term(expressions)})"
                    ) from exc
            self.scratch = hyperscan.Scratch(self.database)

    @staticmethod
    def _compile(expressions: list[bytes], flags: int) -> Any:
        import hyperscan

        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[flags] * len(expressions),
        )
        return database

    def _failing_term(self, expressions: list[bytes]) -> str:
        import hyperscan

        for term, expression in zip(self.phrases, expressions, strict=True):
            try:
                hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[expression])
            except hyperscan.error:
                return f"group {term.term.group!r}, term {term.term.label!r}"
        return "no single term fails alone"

    def events(self, texts: pa.StringArray) -> Events | None:
        """Every filter match in one batch's texts (:func:`byte_decision.scan_events`);
        ``None`` when there is nothing to scan."""
        if self.database is None:
            return None
        return scan_events(self.database, self.scratch, texts)

    def decided_by_bytes(
        self, events: Events, ascii_records: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(records, phrases, offsets, undecided)``: the matches the bytes decide and the
        candidate pairs left to the verifier (:func:`byte_decision.decide`; without
        leftmost starts every candidate is left to it)."""
        if not self.som:
            keys = events.records * len(self.phrases) + events.phrases
            return EMPTY, EMPTY, EMPTY, np.unique(keys)
        return decide(events, ascii_records, self.decidable, len(self.phrases))

    def match_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``record_matches`` rows of one batch of records (source, record_id, text)."""
        texts = batch.column(batch.schema.get_field_index(TEXT))
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if texts.type == pa.large_string():
            texts = texts.cast(pa.string())
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        undecided = EMPTY
        events = self.events(texts)
        if events is not None:
            ascii_records = (
                pc.fill_null(pc.string_is_ascii(texts), False).to_numpy(zero_copy_only=False)
                if self.decide_by_bytes
                else np.zeros(len(texts), dtype=bool)
            )
            rows, phrase_numbers, starts, undecided = self.decided_by_bytes(events, ascii_records)
            found.append((rows, self.phrase_index[phrase_numbers], starts))
        found.append(self._verified(texts, undecided))
        rows, indexes, offsets = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return self._rows(batch, rows, indexes, offsets)

    def _verified(
        self, texts: pa.StringArray, undecided: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The verifier's matches: the undecided (record, phrase) pairs, and every raw term
        on every text."""
        rows: list[int] = []  # per verified match: record, term index, offset
        indexes: list[int] = []
        offsets: list[int] = []
        width = max(len(self.phrases), 1)
        values: list[str | None] | None = None
        if self.raws or len(undecided) > len(texts) // 16:
            values = texts.to_pylist()  # cheaper than one lookup per row when many match
        last, text = -1, ""
        phrases = self.phrases
        for key in undecided.tolist():
            row, phrase = divmod(key, width)
            if row != last:
                value = values[row] if values is not None else texts[row].as_py()
                last, text = row, bmp_text(value)
            compiled = phrases[phrase]
            hit = compiled.verifier.search(text)
            if hit is not None:
                rows.append(row)
                indexes.append(compiled.index)
                offsets.append(hit.start())
        if self.raws and values is not None:
            for row, value in enumerate(values):
                if value is None:
                    continue
                text = bmp_text(value)
                for compiled in self.raws:
                    hit = compiled.verifier.search(text)
                    if hit is not None:
                        rows.append(row)
                        indexes.append(compiled.index)
                        offsets.append(hit.start())
        return (
            np.asarray(rows, dtype=np.int64),
            np.asarray(indexes, dtype=np.int64),
            np.asarray(offsets, dtype=np.int64),
        )

    def _rows(
        self, batch: pa.RecordBatch, rows: np.ndarray, indexes: np.ndarray, offsets: np.ndarray
    ) -> pa.RecordBatch:
        """The output batch from the verified matches (record, term index, offset)."""
        row_array = np.asarray(rows, dtype=np.int64)
        index_array = np.asarray(indexes, dtype=np.int64)
        order = np.lexsort((index_array, row_array))  # by record, then catalogue order
        row_array, index_array = row_array[order], index_array[order]
        offset_array = np.asarray(offsets, dtype=np.int32)[order]
        records, starts = np.unique(row_array, return_index=True)
        masks = (
            np.bitwise_or.reduceat(self.group_bits[index_array], starts)
            if len(starts)
            else np.empty(0, np.int64)
        )
        # Weights and group lists once per distinct set of groups, then taken per record.
        sets, of_record = np.unique(masks, return_inverse=True)
        described = [self._groups_of(mask) for mask in sets.tolist()]
        take_sets = pa.array(of_record.astype(np.int64), type=pa.int64())
        weights = pa.array(
            [weight for weight, _ in described], type=ARROW_SCHEMA.field(RECORD_WEIGHT).type
        ).take(take_sets)
        groups = pa.array(
            [named for _, named in described], type=ARROW_SCHEMA.field(MATCHED_GROUPS).type
        ).take(take_sets)
        take_terms = pa.array(index_array, type=pa.int64())
        matches = pa.ListArray.from_arrays(
            pa.array(np.append(starts, len(row_array)).astype(np.int32)),
            pa.StructArray.from_arrays(
                [
                    self.group_column.take(take_terms),
                    self.term_column.take(take_terms),
                    pa.array(offset_array, type=pa.int32()),
                ],
                fields=list(_ARROW_MATCH),
            ),
        )
        take = pa.array(records, type=pa.int64())
        return pa.RecordBatch.from_arrays(
            [
                batch.column(batch.schema.get_field_index(SOURCE)).take(take).cast(pa.string()),
                batch.column(batch.schema.get_field_index(RECORD_ID)).take(take).cast(pa.string()),
                weights,
                groups,
                matches,
                pa.repeat(pa.scalar(self.catalogue.hash, type=pa.string()), len(records)),
            ],
            schema=ARROW_SCHEMA,
        )

    def _groups_of(self, mask: int) -> tuple[Decimal, list[str]]:
        """The weight and sorted names of a set of groups (a bit mask over catalogue.groups,
        which are sorted by name); cached per set."""
        known = self._by_mask.get(mask)
        if known is None:
            named = [g.name for bit, g in enumerate(self.catalogue.groups) if mask >> bit & 1]
            total = sum((self.weights[name] for name in named), Decimal(0))
            known = self._by_mask[mask] = (min(total, _ONE).quantize(_NINE_PLACES), named)
        return known


_COMPILED: dict[str, CompiledCatalogue] = {}
"""This process's compiled catalogues, by catalogue hash."""


def compiled(catalogue: Catalogue) -> CompiledCatalogue:
    """The process's compiled form of the catalogue, compiled on first use."""
    engine = _COMPILED.get(catalogue.hash)
    if engine is None:
        engine = CompiledCatalogue(catalogue)
        _COMPILED[catalogue.hash] = engine
        log.info("hyperscan: compiled catalogue %s", catalogue.hash[:12])
    return engine


def check_catalogue(catalogue: Catalogue) -> None:
    """Compile the catalogue for this engine; call before reading any data.

    Raises
    ------
    CatalogueError
        A term the engine cannot run (naming its group and label), or Hyperscan is missing.
    """
    try:
        import hyperscan  # noqa: F401
    except ImportError as exc:
        raise CatalogueError(
            "search.engine is hyperscan but the Python package 'hyperscan' is not installed "
            "(pip install hyperscan; executors need it too: see docs/search.md)"
        ) from exc
    compiled(catalogue)


def match_records(records: DataFrame, catalogue: Catalogue) -> DataFrame:
    """Match every record's text against the catalogue, with Hyperscan.

    Same input and output as :func:`clnet_spark.search.native.match_records`: input columns
    ``source``, ``record_id``, ``text`` (others ignored); one row per record with at least one
    match, columns ``source``, ``record_id``, ``record_weight`` (``DECIMAL(12,9)``),
    ``matched_groups``, ``matches`` (``array<struct<group, term, offset>>``, offsets in code
    points) and ``catalogue_hash``.

    Raises
    ------
    InputContractError
        A required column is missing or ``text`` is not a string column.
    CatalogueError
        A term this engine cannot run.
    """
    _require_columns(records)
    check_catalogue(catalogue)
    log.info(
        "search (hyperscan): %d groups, %d terms, catalogue %s",
        len(catalogue.groups),
        len(catalogue.terms),
        catalogue.hash[:12],
    )

    def scan(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        engine = compiled(catalogue)
        for batch in batches:
            yield engine.match_batch(batch)

    return records.select(SOURCE, RECORD_ID, TEXT).mapInArrow(scan, OUTPUT_SCHEMA)


def _require_columns(records: DataFrame) -> None:
    present = records.columns
    missing = [name for name in (SOURCE, RECORD_ID, TEXT) if name not in present]
    if missing:
        raise InputContractError(
            f"match_records: records lack the column(s) {missing}; present: {present}"
        )
    text_type = records.schema[TEXT].dataType
    if not isinstance(text_type, StringType):
        raise InputContractError(
            f"match_records: column {TEXT!r} must be a string, got {text_type.simpleString()}"
        )
