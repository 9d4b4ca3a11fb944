"""The pandas exports the dashboard offers: CSV, Excel, GraphML, GEXF and i2 tables."""

from __future__ import annotations

import io

import networkx as nx
import pandas as pd
from openpyxl import load_workbook

from clnet_spark.report import exports


def _nominals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nominal_id": ["A", "B", "C"],
            "weight": [1.0, 0.5, 0.75],
            "group_id": ["G1", "G1", None],
            "group_kind": ["main", "main", "unlinked"],
            "evidence_records": [["crimes:1", "ims:2"], ["crimes:1"], []],
            "restricted": [{"name": "x"}, {"name": "y"}, {}],
            "cchi_all": [10.0, 0.0, 2.5],
            "ons_all": [20.0, 0.0, 1.0],
            "safeguarding_listed": [True, False, False],
        }
    )


def _edges() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "src": ["A", "B"],
            "dst": ["B", "C"],
            "weight": [1.0, 0.4],
            "adversarial_only": [False, True],
            "relationship_types": [["associate", "family"], ["rival"]],
            "evidence_records": [["crimes:1"], []],
        }
    )


def test_flatten_frame_joins_lists_drops_maps_and_jsons_structs() -> None:
    frame = _nominals().assign(matches=[[{"term": "t", "offset": 1}], [], []])
    flat = exports.flatten_frame(frame)
    assert "restricted" not in flat.columns
    assert flat["evidence_records"].tolist() == ["crimes:1;ims:2", "crimes:1", ""]
    assert flat["matches"].iloc[0] == '[{"offset": 1, "term": "t"}]'
    assert flat["weight"].tolist() == [1.0, 0.5, 0.75]


def test_csv_reads_back_to_the_flattened_table() -> None:
    back = pd.read_csv(io.BytesIO(exports.csv_bytes(_nominals())), keep_default_na=False)
    assert back.columns.tolist() == [col for col in _nominals().columns if col != "restricted"]
    assert back["evidence_records"].tolist() == ["crimes:1;ims:2", "crimes:1", ""]


def test_excel_has_a_sheet_per_table_and_keeps_formula_like_text_as_text() -> None:
    risky = pd.DataFrame({"term": ["=HYPERLINK(1)", "plain"], "n": [1, 2]})
    body = exports.excel_bytes({"nominals": _nominals(), "terms": risky})
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["nominals", "terms"]
    cells = list(book["terms"].iter_rows(values_only=True))
    assert cells == [("term", "n"), ("=HYPERLINK(1)", 1), ("plain", 2)]
    assert book["terms"]["A2"].data_type == "s"
    rows = list(book["nominals"].iter_rows(values_only=True))
    assert rows[0][0] == "nominal_id" and "restricted" not in rows[0]
    assert rows[3][2] is None  # the missing group stays empty


def test_graphml_and_gexf_read_back_with_attributes() -> None:
    graph = exports.network_graph(_nominals(), _edges())
    for body, reader in (
        (exports.graphml_bytes(graph), nx.read_graphml),
        (exports.gexf_bytes(graph), nx.read_gexf),
    ):
        back = reader(io.BytesIO(body))
        assert sorted(back.nodes) == ["A", "B", "C"]
        assert sorted(tuple(sorted(e)) for e in back.edges) == [("A", "B"), ("B", "C")]
        assert back.nodes["A"]["group_id"] == "G1"
        assert "group_id" not in back.nodes["C"]
        assert back.edges["B", "C"]["relationship_types"] == "rival"
        assert float(back.edges["A", "B"]["weight"]) == 1.0


def test_i2_tables_have_the_documented_columns() -> None:
    entities = exports.i2_entities(_nominals())
    links = exports.i2_links(_edges())
    assert entities.columns.tolist() == list(exports.I2_ENTITY_COLUMNS)
    assert links.columns.tolist() == list(exports.I2_LINK_COLUMNS)
    assert entities["Identity"].tolist() == ["A", "B", "C"]
    assert set(entities["Entity Type"]) == {"Person"}
    assert links[["From Identity", "To Identity", "Link Label"]].values.tolist() == [
        ["A", "B", "associate;family"],
        ["B", "C", "rival"],
    ]
    # Every link end is an entity, as i2's import needs.
    assert set(links["From Identity"]) | set(links["To Identity"]) <= set(entities["Identity"])


def test_i2_link_without_a_relationship_is_labelled_co_recorded() -> None:
    edges = _edges().assign(relationship_types=[[], ["rival"]])
    assert exports.i2_links(edges)["Link Label"].tolist() == ["co-recorded", "rival"]
