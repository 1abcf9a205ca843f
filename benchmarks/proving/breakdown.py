"""Where a shard's cost goes: rows per MNIST sample by operation, and where one proof's seconds go.

1. Rows (gen_settings only, about a minute): the graph-5 MNIST 784-32-10 shard circuit at 4 columns, fitted
   between N = 8 and 24, against the same circuit with one operation taken out. The difference is what that
   operation costs per sample. The variants compute something else (they are priced, never proved).
2. Seconds (one 8-sample shard at logrows 16, setup and proof, about 5 minutes): the proof's time in graph 4
   and graph 5 (the same arithmetic with two lookup arguments fewer), how long reading the proving key takes
   (the process's read bytes, sampled every 0.1 s, stop growing), and graph 5 at the same logrows without the
   log-sum-exp's lookups (exp, ln) and comparisons, to see what the lookup argument costs beyond its rows.

Writes results/proving/breakdown.csv and breakdown.md.

    python benchmarks/proving/breakdown.py
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from rows import V2, spec_for, v2_rows

from zkcert import circuit
from zkcert._internal import ezkl as _ezkl
from zkcert.circuit import graph as G

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "proving"
FIT = (8, 24)
COLS = 4
REPEATS = 3


def _lse_without_floor(z: torch.Tensor, relu_floor: bool = False, tree_max: bool = False) -> torch.Tensor:
    m = G._row_max(z)
    return torch.sum(m.reshape(-1) + torch.log(torch.sum(torch.exp(z - m), dim=1)))


def _lse_without_max(z: torch.Tensor, relu_floor: bool = False, tree_max: bool = False) -> torch.Tensor:
    return torch.sum(torch.log(torch.sum(torch.exp(z), dim=1)))


def _lse_as_sum(z: torch.Tensor, relu_floor: bool = False, tree_max: bool = False) -> torch.Tensor:
    return torch.sum(z)


def _pair_without_eps(self, cfg, h, u, w, a_in, a_out):
    v = G._product(cfg, h, G._times_sign(w, a_in))
    r, p = G._times_sign(v, a_out), v + G._times_sign(u, a_out)
    return [u + (r + p), u + (r - p)]


def _no_relu(cfg, h):
    return h.reshape(h.shape[0], -1) if cfg["type"] == "Flatten" else h


# name -> (attribute of zkcert.circuit.graph or of SharpnessGraph, replacement)
VARIANTS: dict[str, list[tuple[object, str, object]]] = {
    "graph 5 (as built)": [],
    "without the exp floor (relu(x + 16) - 16)": [(G.SharpnessGraph, "_summed_log_sum_exp", staticmethod(_lse_without_floor))],
    "without the row maximum and the floor": [(G.SharpnessGraph, "_summed_log_sum_exp", staticmethod(_lse_without_max))],
    "log-sum-exp replaced by a plain sum": [(G.SharpnessGraph, "_summed_log_sum_exp", staticmethod(_lse_as_sum))],
    "pair without its eps**2 products": [(G.SharpnessGraph, "_folded_pair", _pair_without_eps)],
    "without the products by sign": [(G, "_times_sign", lambda z, signs: z)],
    "without the hidden relu": [(G, "_other_layer", _no_relu)],
}


@contextmanager
def patched(changes: list[tuple[object, str, object]]) -> Iterator[None]:
    """The graph with some operations replaced, restored afterwards."""
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in changes]
    try:
        for owner, name, value in changes:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def mnist_spec(n: int, graph: int = 5):
    return spec_for(784, 32, (1, 28, 28), n, shard=True, reveal_value=False, graph=graph, **V2)


def row_table() -> list[dict]:
    """Rows per sample and fixed rows of each variant."""
    table = []
    for name, changes in VARIANTS.items():
        with patched(changes):
            lo, hi = (v2_rows(784, 32, (1, 28, 28), n, COLS, graph=5) for n in FIT)
        per_sample = (hi - lo) / (FIT[1] - FIT[0])
        table.append({"variant": name, "rows_per_sample": round(per_sample), "fixed_rows": round(lo - FIT[0] * per_sample)})
    base = table[0]["rows_per_sample"]
    for row in table:
        row["saves_per_sample"] = base - row["rows_per_sample"]
        row["saves_cells_per_sample"] = COLS * row["saves_per_sample"]
    return table


def _read_bytes(pid: int) -> int:
    """Bytes the process has read so far (Linux /proc), 0 once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("rchar:")), 0)


def _proof_seconds(work: Path, srs_path: Path) -> tuple[float, float]:
    """(seconds, seconds until the proving key was read) of one proof of work's witness, in a child process."""
    # The proof runs in a child process sampled from here: ezkl.prove holds the GIL, so a thread in the
    # proving process would not run until it returns.
    code = (f"import ezkl; ezkl.prove({str(work / 'w.json')!r}, {str(work / 'm.ezkl')!r}, {str(work / 'pk.key')!r}, "
            f"{str(work / 'proof.json')!r}, {str(srs_path)!r})")
    (work / "proof.json").unlink(missing_ok=True)
    samples: list[tuple[float, int]] = []
    t = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while child.poll() is None:
        samples.append((time.perf_counter(), _read_bytes(child.pid)))
        time.sleep(0.1)
    prove_s = time.perf_counter() - t
    if child.returncode != 0 or not (work / "proof.json").is_file():
        raise RuntimeError(f"the timed proof failed (exit {child.returncode})")
    pk_bytes = (work / "pk.key").stat().st_size
    loaded = next((ts for ts, b in samples if b >= 0.95 * pk_bytes), samples[-1][0])
    return prove_s, loaded - t


def timed_proof(changes: list[tuple[object, str, object]], logrows: int, srs_path: Path, graph: int = 5, repeats: int = REPEATS) -> dict:
    """Setup and `repeats` proofs (medians) of an 8-sample shard (random-normal inputs at the circuit's scale) at a fixed logrows."""
    spec = mnist_spec(FIT[0], graph)
    with patched(changes), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        circuit.export_onnx(spec, work / "m.onnx")
        # exp's floor is at -16 and a row's sum of exp at most 10 (times 2**10): one table column at logrows 16,
        # like the calibrated MNIST shard's [-32768, 7974] at logrows 17.
        args = {**circuit.ezkl_run_args(spec), "num_inner_cols": COLS, "logrows": logrows, "lookup_range": [-32768, 12288]}
        _ezkl.gen_settings(work / "m.onnx", work / "s.json", args)
        _ezkl.compile_circuit(work / "m.onnx", work / "m.ezkl", work / "s.json")
        rows_used = json.loads((work / "s.json").read_text())["num_rows"]
        t = time.perf_counter()
        _ezkl.setup(work / "m.ezkl", work / "vk.key", work / "pk.key", srs_path)
        setup_s = time.perf_counter() - t
        gen = torch.Generator().manual_seed(0)
        lengths = circuit.input_lengths(spec)
        inputs = [torch.randn(n, generator=gen).mul(0.1).tolist() for n in lengths[:2]] + [[1.0, -1.0] * (lengths[2] // 2)]
        (work / "in.json").write_text(json.dumps({"input_data": inputs}))
        _ezkl.gen_witness(work / "in.json", work / "m.ezkl", work / "w.json", work / "vk.key", srs_path)
        runs = [_proof_seconds(work, srs_path) for _ in range(repeats)]
        return {"rows": rows_used, "logrows": logrows, "setup_s": round(setup_s, 1),
                "prove_s": round(statistics.median(r[0] for r in runs), 1), "prove_runs": [round(r[0], 1) for r in runs],
                "pk_gb": round((work / "pk.key").stat().st_size / 1e9, 2), "pk_read_s": round(statistics.median(r[1] for r in runs), 1)}


def main() -> None:
    from zkcert.srs import resolve_srs

    table = row_table()
    srs = resolve_srs(16, None)
    proofs = {"graph 4": timed_proof([], 16, srs.path, graph=4)}
    proofs |= {name: timed_proof(VARIANTS[name], 16, srs.path) for name in ("graph 5 (as built)", "log-sum-exp replaced by a plain sum")}
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "breakdown.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    base, old = proofs["graph 5 (as built)"], proofs["graph 4"]
    lines = ["# Where a shard's cost goes (MNIST 784-32-10, graph 5, kzg/v1 shard circuit, 4 columns per row)", "",
             f"## Rows per sample by operation (gen_settings, fitted between N = {FIT[0]} and {FIT[1]}; each variant takes one operation out)", "",
             "| variant | rows per sample | fixed rows | saves per sample (rows) | saves per sample (cells) |", "|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['rows_per_sample']:,} | {r['fixed_rows']:,} | {r['saves_per_sample']:,} | {r['saves_cells_per_sample']:,} |"
              for r in table]
    lines += ["", "The floor and the row maximum are the log-sum-exp's safety: without them exp's lookup table spans",
              "the logits' range, which depends on the model. The pair's eps**2 products are two rescales per output unit.", "",
              f"## One proof's seconds (an {FIT[0]}-sample shard at logrows 16, 2 cores, this run; median of {REPEATS} proofs)", "",
              "| circuit | rows | setup s | prove s (median) | proofs s | proving key GB | reading the key s |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {p['rows']:,} | {p['setup_s']} | {p['prove_s']} | {', '.join(map(str, p['prove_runs']))} | {p['pk_gb']} | {p['pk_read_s']} |"
              for name, p in proofs.items()]
    plain = proofs["log-sum-exp replaced by a plain sum"]
    lines += ["", f"Graph 5 proved in {base['prove_s']} s against graph 4's {old['prove_s']} s "
              f"({100 * (base['prove_s'] / old['prove_s'] - 1):+.0f} %) with {100 * (base['rows'] / old['rows'] - 1):+.1f} % rows: "
              "the same arithmetic without the boolean range check and the shuffles, two lookup arguments fewer.",
              f"At the same logrows the circuit without exp, ln and the comparisons proved in {plain['prove_s']} s against "
              f"{base['prove_s']} s ({100 * (plain['prove_s'] / base['prove_s'] - 1):+.0f} %), with "
              f"{100 * (plain['rows'] / base['rows'] - 1):+.0f} % rows: the lookup argument costs time beyond its rows.",
              f"Reading the proving key took {base['pk_read_s']} s of {base['prove_s']} s; the rest is ezkl's prover, which kept both",
              "cores busy (95-100 % of both, sampled every 2 s during an 80-sample graph-3 run's shard proofs, 2026-11-25).",
              "Inputs here are random (normal, sd 0.1) at the circuit's scale with a fixed lookup range, not calibrated data;",
              "each proof runs in a child process (sampled from outside), so its seconds include starting Python and importing ezkl."]
    (OUT / "breakdown.md").write_text("\n".join(lines) + "\n")
    print((OUT / "breakdown.md").read_text())


if __name__ == "__main__":
    main()
