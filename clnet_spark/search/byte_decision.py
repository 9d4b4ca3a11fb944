"""Steps 1 and 2 of the Hyperscan engine (:mod:`clnet_spark.search.hyperscan_engine`): the
filter's match events in one batch's text buffer, and the candidates decided from the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa

EMPTY: Final = np.empty(0, dtype=np.int64)
_WORD_BYTE: Final = np.zeros(256, dtype=bool)
"""Per byte value: an ASCII word character (``[A-Za-z0-9_]``, what ``\\w`` is in ASCII)."""
for _char in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_":
    _WORD_BYTE[_char] = True
_LOWER_S: Final = ord("s")
_UPPER_S: Final = ord("S")


@dataclass(frozen=True)
class Events:
    """The filter matches of one batch: per event its record (row in the batch), phrase
    (number among the catalogue's phrases), start and end bytes (exclusive end; the start is
    Hyperscan's leftmost start when the database reports starts), all relative to ``data``,
    the batch's text bytes; ``bounds`` are the records' byte bounds in ``data``."""

    records: np.ndarray
    phrases: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    bounds: np.ndarray
    data: np.ndarray


def scan_events(database: Any, scratch: Any, texts: pa.StringArray) -> Events | None:
    """Scan the texts' bytes once, as the one buffer Arrow holds them in, with a Hyperscan
    block-mode database; ``None`` when nothing matches or there is nothing to scan."""
    if len(texts) == 0:
        return None
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)
    offsets = offsets[texts.offset : texts.offset + len(texts) + 1].astype(np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    data = texts.buffers()[2]
    if end == start or data is None:
        return None
    found: list[int] = []
    add = found.extend

    def on_match(pattern: int, begin: int, to: int, _flags: int, _context: object) -> None:
        add((pattern, begin, to))

    view = memoryview(data)[start:end]
    database.scan(view, match_event_handler=on_match, scratch=scratch)
    if not found:
        return None
    triples = np.asarray(found, dtype=np.int64).reshape(-1, 3)
    bounds = offsets - start
    ends = triples[:, 2]
    # A match ending at byte ``to`` (exclusive) lies in the record holding byte to - 1.
    records = np.searchsorted(bounds, ends - 1, side="right") - 1
    return Events(
        records=records,
        phrases=triples[:, 0],
        starts=triples[:, 1],
        ends=ends,
        bounds=bounds,
        data=np.frombuffer(view, dtype=np.uint8),
    )


def decide(
    events: Events, ascii_records: np.ndarray, decidable: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the (record, phrase) candidates into those the bytes decide and the rest.

    Returns ``(records, phrases, offsets, undecided)``: the matches decided from the
    bytes alone (each pair's first occurrence, in characters), and the candidate pairs
    (``record * width + phrase``, ``width`` the number of phrases) left to the verifier.
    The events must carry Hyperscan's leftmost starts (``HS_FLAG_SOM_LEFTMOST``).

    A match event decides its pair when it starts inside its record, the record is ASCII
    (``ascii_records``), and no word of the phrase starts or ends with ``-`` or ``_``
    (``decidable``, per phrase). Then a
    character is a byte, the word characters are ``[A-Za-z0-9_]`` and the phrase
    pattern's remaining conditions are two byte tests: no word character right before the
    start, and after the end either no word character, or one ``s`` / ``S`` (the plural)
    with no word character after it.

    Why the leftmost start reported for an end is the only start: each word of such a
    phrase starts and ends with a character no separator run holds, so every separator
    run of a filter match is a maximal run of separators in the text. From the end, the
    last word's place is fixed, so is the run before it (maximal), so is the word before
    that, and so on to the start. Every start where the phrase matches (with boundaries)
    is thus the reported start of some event, and the first occurrence is the smallest
    start of a valid event.
    """
    keys = events.records * width + events.phrases
    low = events.bounds[events.records]
    high = events.bounds[events.records + 1]
    byte_decides = (
        ascii_records[events.records] & (events.starts >= low) & decidable[events.phrases]
    )
    undecided = np.unique(keys[~byte_decides])
    data, starts, ends = events.data, events.starts, events.ends
    last = len(data) - 1
    before = data[np.maximum(starts - 1, 0)]
    after = data[np.minimum(ends, last)]
    beyond = data[np.minimum(ends + 1, last)]
    clear_before = (starts == low) | ~_WORD_BYTE[before]
    plural = ((after == _LOWER_S) | (after == _UPPER_S)) & (
        (ends + 1 >= high) | ~_WORD_BYTE[beyond]
    )
    clear_after = (ends >= high) | ~_WORD_BYTE[after] | plural
    valid = byte_decides & clear_before & clear_after
    valid_keys, valid_starts = keys[valid], starts[valid]
    order = np.lexsort((valid_starts, valid_keys))
    valid_keys, valid_starts = valid_keys[order], valid_starts[order]
    pairs, first = np.unique(valid_keys, return_index=True)
    keep = ~np.isin(pairs, undecided)
    pairs, first_starts = pairs[keep], valid_starts[first][keep]
    records = pairs // width
    return records, pairs % width, first_starts - events.bounds[records], undecided
