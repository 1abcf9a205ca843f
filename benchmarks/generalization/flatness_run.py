"""Regenerate the flatness-measure comparison (the first generalization study; the metric study of issue 11 is run.py): train (or load) the zoo, compute every measure, write the results.

    python benchmarks/generalization/flatness_run.py            # full zoo (82 models), results/generalization/
    python benchmarks/generalization/flatness_run.py --quick    # 15 digits models, results/generalization/quick/
    python benchmarks/generalization/flatness_run.py --tiny --out DIR   # 5 models, the test's setting

Trained models are cached under results/generalization/models/ (git-ignored) and each model's row of
measures beside them, so a rerun only recomputes what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

import analysis  # noqa: E402
import plots  # noqa: E402
from measures import REFERENCE, MeasureConfig, measure_all, outcomes  # noqa: E402
from zoo import HYPERPARAMETERS, Spec, splits, trained, training_data, zoo  # noqa: E402

_CONFIGS = {
    "full": (MeasureConfig(), 1000),
    "quick": (MeasureConfig(n_eval=500, ds_k=(1, 8), ds_eps=(1e-2, 1e-1)), 500),
    "tiny": (MeasureConfig(n_eval=200, ds_k=(1, 4), ds_eps=(1e-2,), keskar_steps=3, avg_samples=3, worst_steps=3,
                           hutchinson_samples=3, power_iters=5, pac_samples=2, pac_iters=5), 100),
}


def _row(spec: Spec, cfg: MeasureConfig, cache: Path, data_cache: dict) -> dict:
    """Outcomes and measures of one model, from the row cache when nothing changed."""
    key = hashlib.sha256((spec.key() + json.dumps(asdict(cfg), sort_keys=True)).encode()).hexdigest()[:12]
    path = cache / f"{spec.name}-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    if spec.dataset not in data_cache:
        data_cache[spec.dataset] = splits(spec.dataset)
    full, proxy, test = data_cache[spec.dataset]
    data = training_data(spec, full)
    start = time.perf_counter()
    model = trained(spec, data, cache)
    row = {**asdict(spec), "seed": spec.seed, "train_seconds": time.perf_counter() - start}
    row.update(outcomes(model, data, test))
    row.update(measure_all(model, data, proxy, cfg, spec.seed, nonce=spec.name))
    path.write_text(json.dumps(row))  # insertion order = column order of zoo.csv
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the study in the chosen mode and write zoo.csv, summary.csv, report.md and the plots."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="15 digits models, fewer settings (< 5 min)")
    p.add_argument("--tiny", action="store_true", help="5 models, the test suite's setting (< 1 min)")
    p.add_argument("--out", type=Path, help="output folder (default results/generalization[/quick|/tiny])")
    p.add_argument("--cache", type=Path, default=ROOT / "results" / "generalization" / "models")
    p.add_argument("--boot", type=int, help="bootstrap resamples (default 1000 full, 500 quick, 100 tiny)")
    args = p.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    out = args.out or ROOT / "results" / "generalization" / ("" if mode == "full" else mode)
    cfg, n_boot = _CONFIGS[mode]
    n_boot = args.boot if args.boot is not None else n_boot
    torch.set_num_threads(1)  # the 2 cores are shared with other jobs (proving); results do not depend on it
    out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)

    specs, rows, data_cache, t0 = zoo(mode), [], {}, time.perf_counter()
    for i, spec in enumerate(specs, 1):
        rows.append(_row(spec, cfg, args.cache, data_cache))
        print(f"[{i}/{len(specs)}] {spec.name}: gap {rows[-1]['gap']:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    measures = ["holdout_gap", *cfg.ds_names(), *[m for m in analysis_measures(df) if m not in cfg.ds_names()]]
    reference = REFERENCE if REFERENCE in measures else cfg.ds_names()[0]
    summary = analysis.summarize(df, measures, HYPERPARAMETERS, reference, n_boot=n_boot)
    df.to_csv(out / "zoo.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    (out / "report.md").write_text(analysis.markdown(summary, df, HYPERPARAMETERS, mode))
    plots.scatter(df, measures, out / "scatter.png")
    plots.roc(df, measures, "gap", out / "roc_gap.png")
    plots.roc(df, measures, "deviated", out / "roc_deviated.png")
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


def analysis_measures(df: pd.DataFrame) -> list[str]:
    """Baseline measure columns present in the table (those with a cost column), in table order."""
    return [c[: -len("__sec")] for c in df.columns if c.endswith("__sec") and c != "holdout_gap__sec"]


if __name__ == "__main__":
    sys.exit(main())
