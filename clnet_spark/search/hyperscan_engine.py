"""The Hyperscan search engine: the whole catalogue in one multi-pattern scan per Arrow batch.

Records go to Python workers as Arrow batches (``mapInArrow``). Per batch:

1. **Filter.** The UTF-8 bytes of all the batch's texts, as Arrow holds them (one contiguous
   buffer), are scanned once by a Hyperscan block-mode database holding one pattern per phrase
   (:func:`~clnet_spark.search.translate.phrase_filter`: the phrase's words and separator runs,
   without word boundaries or the plural). Hyperscan reports every end offset of every
   pattern; an end offset maps to its record through the Arrow offsets. A pattern matches at
   least wherever its phrase does, so this gives a superset of the (record, term) pairs. A
   match across two adjacent texts is a false candidate, dropped in step 2.
2. **Verify.** For each candidate (record, term), the term's Python ``re`` pattern (exactly
   the Java pattern's meaning, :func:`~clnet_spark.search.translate.phrase_verifier`) is
   searched in the record's text, after the native engine's replacement of supplementary
   characters (:func:`~clnet_spark.search.translate.bmp_text`, which keeps the length). The
   match start is the first occurrence in code points (Python string indices). Raw regex terms
   have no filter: their verifier runs on every text.
3. **Weigh.** Groups with a verified term, ``min(1, sum of their weights)`` as an exact
   :class:`~decimal.Decimal`, sent back as ``DECIMAL(12,9)``.

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
from clnet_spark.search.catalogue import PHRASE, Catalogue, Term
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
_ARROW_SCHEMA: Final = pa.schema(
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

    def __init__(self, catalogue: Catalogue) -> None:
        import hyperscan  # a runtime dependency of this engine only

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
        self.database: Any = None
        if self.phrases:
            self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            expressions = [phrase_filter(t.term.label) for t in self.phrases]
            try:
                self.database.compile(
                    expressions=expressions,
                    ids=list(range(len(self.phrases))),
                    elements=len(expressions),
                    flags=0,
                )
            except hyperscan.error as exc:
                raise CatalogueError(
                    f"Hyperscan cannot compile the catalogue's phrases: {exc} "
                    f"({self._failing_term(expressions)})"
                ) from exc
            self.scratch = hyperscan.Scratch(self.database)

    def _failing_term(self, expressions: list[bytes]) -> str:
        import hyperscan

        for term, expression in zip(self.phrases, expressions, strict=True):
            try:
                hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[expression])
            except hyperscan.error:
                return f"group {term.term.group!r}, term {term.term.label!r}"
        return "no single term fails alone"

    def candidates(self, texts: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
        """``(records, phrases)``: the sorted unique candidate pairs of one batch's texts."""
        if self.database is None or len(texts) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)
        offsets = offsets[texts.offset : texts.offset + len(texts) + 1]
        start, end = int(offsets[0]), int(offsets[-1])
        data = texts.buffers()[2]
        if end == start or data is None:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        ids: list[int] = []
        ends: list[int] = []

        def on_match(pattern: int, _from: int, to: int, _flags: int, _context: object) -> None:
            ids.append(pattern)
            ends.append(to)

        self.database.scan(
            memoryview(data)[start:end], match_event_handler=on_match, scratch=self.scratch
        )
        if not ids:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # A match ending at byte ``to`` (exclusive) lies in the record holding byte to - 1.
        records = np.searchsorted(offsets - start, np.asarray(ends) - 1, side="right") - 1
        pairs = np.unique(records.astype(np.int64) * len(self.phrases) + np.asarray(ids))
        return pairs // len(self.phrases), pairs % len(self.phrases)

    def match_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``record_matches`` rows of one batch of records (source, record_id, text)."""
        texts = batch.column(batch.schema.get_field_index(TEXT))
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if texts.type == pa.large_string():
            texts = texts.cast(pa.string())
        rows: list[int] = []  # per verified match: record, term index, offset
        indexes: list[int] = []
        offsets: list[int] = []
        candidate_rows, candidate_phrases = self.candidates(texts)
        values: list[str | None] | None = None
        if self.raws or len(candidate_rows) > len(texts) // 16:
            values = texts.to_pylist()  # cheaper than one lookup per row when many match
        last, text = -1, ""
        phrases = self.phrases
        for row, phrase in zip(candidate_rows.tolist(), candidate_phrases.tolist(), strict=True):
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
        return self._rows(batch, rows, indexes, offsets)

    def _rows(
        self, batch: pa.RecordBatch, rows: list[int], indexes: list[int], offsets: list[int]
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
        weights, groups = [], []
        for mask in masks.tolist():
            weight, named = self._groups_of(mask)
            weights.append(weight)
            groups.append(named)
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
                pa.array(weights, type=_ARROW_SCHEMA.field(RECORD_WEIGHT).type),
                pa.array(groups, type=_ARROW_SCHEMA.field(MATCHED_GROUPS).type),
                matches,
                pa.array([self.catalogue.hash] * len(records), type=pa.string()),
            ],
            schema=_ARROW_SCHEMA,
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
