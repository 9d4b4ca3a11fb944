"""Dismantling benchmark: every method on five real criminal networks, and the default at scale.

For each network (``../shared/data/networks``; edges undirected, direction ignored, weights
summed, which dismantling does not read anyway) and each method of
:data:`clnet_spark.analysis.dismantling.METHODS`, reports:

- ``removals``: removals until the largest component has at most 10% of the nodes
  (crimenet_moreno: at most 7 nodes, about 1%, as in the network dismantling literature);
- ``R``: the mean largest-component fraction over the whole removal sequence (Schneider et
  al.'s robustness, see ``DismantlingResult.mean_lcc_fraction``); lower is better;
- ``seconds``, ``cpu``: wall and CPU time of one run (single-threaded, so CPU time is the
  figure to trust when other processes share the machine).

It then says, per network, whether the default is at least as good as the best baseline on
both figures, and times the default (and CoreHD with reinsertion, for reference) on generated
20,000-node graphs: Barabasi-Albert (m = 2) and forest fire (forward 0.3, backward 0.5 of it).

Run: ``.venv/bin/python benchmarks/dismantling.py [--shared ../shared] [--out results.json]
[--large-nodes 20000] [--skip-large]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

import igraph as ig
import pandas as pd

from clnet_spark.analysis.dismantling import DEFAULT, METHODS, dismantle
from clnet_spark.analysis.edgelist_cli import read_edge_file

NETWORKS = {
    "crimenet_moreno": 7,
    "montagna_meetings": None,
    "montagna_phonecalls": None,
    "caviar_full": None,
    "london_gang": None,
}
"""Network -> target size in nodes (None: 10% of the nodes)."""
TARGET_FRACTION = 0.1
REPO = Path(__file__).resolve().parents[1]


def load(shared: Path, name: str) -> pd.DataFrame:
    folder = shared / "data" / "networks" / name
    if name == "crimenet_moreno":
        raw = pd.read_csv(
            folder / "edges_space_separated.txt", sep=r"\s+", header=None, dtype=str
        ).set_axis(["src", "dst"], axis=1)
        return raw[raw["src"] != raw["dst"]]
    return read_edge_file(folder / "edges.csv")[1]


def run(edges: pd.DataFrame | ig.Graph, method: str, target: int | None) -> dict[str, object]:
    started, cpu = time.perf_counter(), time.process_time()
    result = dismantle(edges, method=method, target_fraction=TARGET_FRACTION, target_size=target)
    return {
        "removals": result.removals_to_target,
        "R": round(result.mean_lcc_fraction, 6),
        "seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "n": result.n_vertices,
        "target": result.target_size,
    }


def compare(rows: dict[str, dict[str, object]]) -> dict[str, object]:
    """The default against the best baseline on each figure (R compared at 4 decimals)."""
    baselines = {m: r for m, r in rows.items() if m != DEFAULT}
    best_removals = min(r["removals"] for r in baselines.values())
    best_r = min(r["R"] for r in baselines.values())
    mine = rows[DEFAULT]
    return {
        "best_baseline_removals": best_removals,
        "best_baseline_removals_by": sorted(
            m for m, r in baselines.items() if r["removals"] == best_removals
        ),
        "best_baseline_R": best_r,
        "best_baseline_R_by": sorted(m for m, r in baselines.items() if r["R"] == best_r),
        "removals_met": mine["removals"] <= best_removals,
        "R_met": round(mine["R"], 4) <= round(best_r, 4),
    }


def large_graphs(nodes: int) -> dict[str, ig.Graph]:
    rng = random.Random(0)
    ig.set_random_number_generator(rng)
    graphs = {
        f"barabasi_albert_m2_{nodes}": ig.Graph.Barabasi(nodes, 2),
        f"forest_fire_0.3_0.5_{nodes}": ig.Graph.Forest_Fire(nodes, 0.3, 0.5),
    }
    for graph in graphs.values():
        graph.simplify()
        graph.vs["name"] = [f"n{i:06d}" for i in range(graph.vcount())]
    return graphs


def print_table(results: dict[str, dict[str, object]]) -> None:
    print(f"{'network':<20} {'method':<25} {'removals':>8} {'R':>8} {'seconds':>8} {'cpu':>8}")
    for name, entry in results.items():
        rows, verdict = entry["methods"], entry["verdict"]
        for method, row in rows.items():
            flags = []
            if method != DEFAULT and row["removals"] == verdict["best_baseline_removals"]:
                flags.append("best removals")
            if method != DEFAULT and row["R"] == verdict["best_baseline_R"]:
                flags.append("best R")
            print(
                f"{name:<20} {method:<25} {row['removals']!s:>8} {row['R']:>8.4f} "
                f"{row['seconds']:>8.2f} {row['cpu_seconds']:>8.2f}  {', '.join(flags)}"
            )
        print(
            f"{'':<20} default vs best baseline: removals "
            f"{'met' if verdict['removals_met'] else 'NOT met'}, R "
            f"{'met' if verdict['R_met'] else 'NOT met'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--large-nodes", type=int, default=20_000)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, object]] = {}
    for name, target in NETWORKS.items():
        edges = load(args.shared, name)
        rows = {method: run(edges, method, target) for method in METHODS}
        results[name] = {"methods": rows, "verdict": compare(rows)}
    print_table(results)

    large: dict[str, dict[str, object]] = {}
    if not args.skip_large:
        print()
        for name, graph in large_graphs(args.large_nodes).items():
            large[name] = {
                "edges": graph.ecount(),
                "methods": {m: run(graph, m, None) for m in (DEFAULT, "corehd+reinsertion")},
            }
            for method, row in large[name]["methods"].items():
                print(
                    f"{name:<28} {graph.ecount():>7} edges {method:<20} removals "
                    f"{row['removals']} (target {row['target']}), R {row['R']:.4f}, "
                    f"{row['seconds']:.1f} s ({row['cpu_seconds']:.1f} s CPU)"
                )
    if args.out is not None:
        report = {
            "networks": results,
            "large": large,
            "python": platform.python_version(),
            "igraph": ig.__version__,
            "machine": platform.machine(),
        }
        args.out.write_text(json.dumps(report, indent=2))
        print(f"\nresults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
