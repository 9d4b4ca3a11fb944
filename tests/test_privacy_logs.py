"""No name, date of birth or record text in any log line, error message or export.

Distinctive names (in the restricted ``name`` column of nominals and in record text) and
dates of birth are planted in a small demo corpus. Two CLI runs in subprocesses (DEBUG
logging): a full run, and a run that stops on a nominals file that is not UTF-8. Their
stdout and stderr, every log file written and every CSV export are searched for the planted
values. Re-identification needs the restricted ``nominal_identity`` table, never an output.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clnet_spark.demo import write_demo_corpus

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
PLANTED_NAMES = ("Quillonby Marchbanks", "Zephrine Oddingsell", "Thaddeus Wrenfoldé")
PLANTED_BIRTH = ("1913-07-29", "2009-02-17", "29/07/1913")
PLANTED_TEXT = "Marchbanks told Oddingsell the county line phone is in Wrenfolde's flat"
SPARK = (
    "--set",
    "spark.master=local[2]",
    "--set",
    "spark.driver_memory=1g",
    "--set",
    "spark.shuffle_partitions=2",
    "--set",
    "spark.extra={spark.ui.enabled: 'false'}",
)


def plant(folder: Path) -> list[str]:
    """Put the planted names, birth dates and text into the demo corpus; return the needles."""
    nominals = pd.read_csv(folder / "nominals.csv", dtype=str, keep_default_na=False)
    for row, name in enumerate(PLANTED_NAMES):
        nominals.loc[row, "name"] = name
        nominals.loc[row, "birth_date"] = PLANTED_BIRTH[row % 2]
    nominals.to_csv(folder / "nominals.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    crimes = pd.read_csv(folder / "crimes.csv", dtype=str, keep_default_na=False)
    crimes.loc[0:4, "text"] = PLANTED_TEXT
    crimes.to_csv(folder / "crimes.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    surnames = ("Marchbanks", "Oddingsell", "Wrenfold", "Quillonby", "Zephrine", "Thaddeus")
    return [*PLANTED_NAMES, *surnames, *PLANTED_BIRTH, PLANTED_TEXT, "county line phone"]


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), COLUMNS="200")
    code = f"from clnet_spark.cli import main; main({['-v', *SPARK, *args]!r})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


def outputs(run: subprocess.CompletedProcess[str], root: Path) -> dict[str, str]:
    """Everything a run printed or logged, and every export it wrote, by where it was found."""
    found = {"stdout": run.stdout, "stderr": run.stderr}
    staged = "_exports.versions"  # every export set written, published or not
    for path in root.rglob("*"):
        if path.is_file() and (path.suffix in (".log", ".out", ".err") or staged in path.parts):
            found[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return found


def leaks(texts: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    return [
        (where, n) for where, text in texts.items() for n in needles if n.lower() in text.lower()
    ]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("privacy_logs")
    write_demo_corpus(root / "input", scale=0.01, seed=5)
    return root, plant(root / "input")


def test_full_run_logs_and_exports_hold_no_personal_value(planted) -> None:
    root, needles = planted
    run = cli(["run", "--input", str(root / "input"), "--warehouse", str(root / "wh")], root)
    assert run.returncode == 0, run.stderr[-3000:]
    texts = outputs(run, root / "wh")
    assert "stage ingest: started" in run.stderr  # the log was captured
    assert any("exports" in where for where in texts)
    assert leaks(texts, needles) == []
    published = (root / "wh" / "exports").resolve()  # the link to the complete export set
    header = texts[str(published / "cl_nominals.csv")].splitlines()[0]
    assert "source_nominal_id" not in header and "name" not in header.split(",")
    ids = pd.read_csv(root / "wh" / "exports" / "cl_nominals.csv", dtype=str)["nominal_id"]
    assert ids.str.fullmatch(r"P[0-9a-f]{20}").all()  # pseudonyms only


def test_failing_run_names_the_file_never_a_value(planted) -> None:
    root, needles = planted
    broken = root / "broken"
    broken.mkdir()
    for path in (root / "input").glob("*.csv"):
        data = path.read_text(encoding="utf-8")
        target = broken / path.name
        if path.name == "nominals.csv":
            target.write_bytes(data.encode("cp1252", errors="replace"))  # the é is not UTF-8
        else:
            target.write_text(data, encoding="utf-8")
    run = cli(["run", "--input", str(broken), "--warehouse", str(root / "wh-broken")], root)
    assert run.returncode == 2, run.stderr[-3000:]
    assert "nominals.csv: not UTF-8" in run.stdout + run.stderr
    assert leaks(outputs(run, root / "wh-broken"), needles) == []
    assert not (root / "wh-broken" / "nominals").exists()  # stopped before writing
