"""What the proving benchmarks share: one subprocess per configuration, and the CSV and markdown table."""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

# The original statement (ds/v1, one rademacher-abs/v1 direction, eps 1/8, scale 2**8): the proving
# benchmark's baseline and the statement the scale benchmark's recorded rows prove.
V1 = {"metric": "ds/v1", "direction": "rademacher-abs/v1", "epsilon": 0.125, "n_directions": 1, "input_scale": 8,
      "commitment": "poseidon/v1"}
MACHINE = f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; ezkl 23.0.5; "


def statement_of(choices: dict):
    """A benchmark's statement (a dict of zkcert.preset choices, {} for the default) as the Preset prove takes."""
    from zkcert.preset import preset

    return preset("default", **choices)


def execution_of(config: dict, **extra):
    """A benchmark row's execution choices (shard_size, sample, inner_cols, workers, work_dir) as zkcert.proving.Execution."""
    from zkcert.proving import Execution

    keys = ("shard_size", "sample", "inner_cols", "workers", "work_dir", "max_memory_gb")
    return Execution(**{k: config[k] for k in keys if config.get(k) is not None}, **extra)


def run_configs(script: str, configs: list[dict], env: dict[str, str] | None = None) -> list[dict]:
    """Run `script --one CONFIG` in a fresh subprocess per configuration (so peak memory is its own); returns the rows."""
    rows = []
    for config in configs:
        print(f"proving {config} ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, script, "--one", json.dumps(config)], capture_output=True, text=True,
                              check=False, env=env)
        if done.returncode != 0:
            raise SystemExit(f"configuration {config} failed:\n{done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def read_table(out: Path, stem: str) -> list[dict]:
    """The rows of out/stem.csv as write_table wrote them, numbers as numbers."""
    with open(out / f"{stem}.csv", newline="") as fh:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _number(text: str) -> int | float | str:
    """A CSV cell as the int or float it was written from, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def write_table(out: Path, stem: str, columns: list[str], rows: list[dict], header: list[str], footer: list[str] = ()) -> None:
    """out/stem.csv and out/stem.md (header lines, the table, footer lines)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{stem}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    lines = [*header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    (out / f"{stem}.md").write_text("\n".join([*lines, *footer]) + "\n")
