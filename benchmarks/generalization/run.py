"""Regenerate the pre-registered metric study of issue 11 (benchmarks/generalization/PROTOCOL.md).

    python benchmarks/generalization/run.py            # 164 models, results/generalization/
    python benchmarks/generalization/run.py --quick    # 42 short-trained models (CI), results/generalization/study-quick/

Trains (or loads) the zoo, computes the 336 candidates and the baselines on every model, picks the metric
on the selection half with the decision rule, then evaluates everything on the confirmation half. Models
and per-model rows are cached under results/generalization/models/ (git-ignored).
The earlier comparison of flatness measures (report.md, summary.csv, ...) is flatness_run.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

import candidates as C  # noqa: E402
import plots  # noqa: E402
import study  # noqa: E402
from zkcert.training import mean_loss  # noqa: E402
from zoo import StudySpec, study_zoo, trained_row  # noqa: E402

N_EVAL = {"full": 1000, "quick": 300, "tiny": 150}  # samples of the training set as trained that the metrics are computed on
ROW_VERSION = "study-row/v1"  # bump when a measure's definition changes


def _row(spec: StudySpec, n_eval: int, cache: Path, data_cache: dict) -> dict:
    """Outcomes, baselines and every candidate of one model, from the row cache when nothing changed."""
    key = hashlib.sha256(f"{spec.key()}|{n_eval}|{ROW_VERSION}".encode()).hexdigest()[:12]
    path = cache / f"{spec.name}-row-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    model, data, proxy, row = trained_row(spec, spec.half, cache, data_cache)
    row["test_loss"] = mean_loss(model, data_cache[spec.dataset][2])
    evalset = data.head(min(n_eval, len(data)))
    start = time.perf_counter()
    row.update(C.baselines(model, evalset, proxy))
    row.update(C.all_candidates(model, evalset, nonce=spec.name))
    row["measure_seconds"] = time.perf_counter() - start
    path.write_text(json.dumps(row))
    return row


def _fmt_table(t: pd.DataFrame, families: list[str]) -> str:
    return "\n".join(study.table_markdown(t, families))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="42 short-trained models for CI (about a minute)")
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the test's run: 24 models, checks the pipeline only
    p.add_argument("--out", type=Path, help="output folder (default results/generalization or .../study-quick)")
    p.add_argument("--cache", type=Path, default=ROOT / "results" / "generalization" / "models")
    p.add_argument("--boot", type=int, default=study.N_BOOT, help=f"bootstrap resamples (default {study.N_BOOT})")
    args = p.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    out = args.out or ROOT / "results" / "generalization" / {"full": "", "quick": "study-quick", "tiny": "study-tiny"}[mode]
    torch.set_num_threads(1)  # the machine is shared; results do not depend on it
    out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)

    specs, rows, data_cache, t0 = study_zoo(mode), [], {}, time.perf_counter()
    for i, spec in enumerate(specs, 1):
        rows.append(_row(spec, N_EVAL[mode], args.cache, data_cache))
        print(f"[{i}/{len(specs)}] {spec.name}: gap {rows[-1]['gap']:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    t_models = time.perf_counter() - t0
    names = C.all_names()
    measures = [*names, *C.BASELINES]
    label = "" if mode == "full" else f" ({mode.upper()} MODE: short training, a small zoo; not the study's result)"

    # 1. selection half only: criteria, the decision rule, written before the confirmation half is touched
    sel_half = study.Half(df[df.half == "selection"], n_boot=args.boot)
    families = sel_half.families
    selection = sel_half.table(measures)
    selected, tied = study.select(selection, names)
    selection.assign(rank=selection.primary.rank(ascending=False)).to_csv(out / "selection.csv", index=False)
    shown = pd.concat([selection[selection.measure.isin([selected, *study.BARS, "holdout_gap", *C.BASELINES])],
                       selection[selection.measure.isin(names)].nlargest(15, "primary")]).drop_duplicates("measure")
    (out / "selected.json").write_text(json.dumps({"selected": selected, "description": study.describe(selected),
                                                   "tied": list(tied.measure), "mode": mode}, indent=2))
    (out / "selection.md").write_text("\n".join([
        f"# Selection half{label}", "",
        f"{len(sel_half.df)} models (replicate r0). Criteria of PROTOCOL.md section 4; {args.boot} stratified bootstrap "
        f"resamples, seed {study.BOOT_SEED}. Full table of all {len(names)} candidates: selection.csv.", "",
        f"**Selected by the decision rule: `{selected}` = {study.describe(selected)}.** "
        f"Best primary criterion {selection.loc[selection.measure.isin(names), 'primary'].max():+.3f}; "
        f"{len(tied)} candidates within {study.CLOSE} of it, the cheapest of which is selected "
        f"(tied: {', '.join(tied.measure[:12])}{' ...' if len(tied) > 12 else ''}).", "",
        "The selected metric, the bars (1/L, raw DS reference `" + C.REFERENCE + "`, holdout gap), the other baselines "
        "and the 15 best candidates:", "",
        _fmt_table(shown, families), ""]))

    # 2. confirmation half: every measure, the outcome rule, threshold guidance
    conf_half = study.Half(df[df.half == "confirmation"], n_boot=args.boot)
    confirmation = conf_half.table(measures)
    confirmation.to_csv(out / "confirmation.csv", index=False)
    res = study.outcome(conf_half, selected)
    res["mode"] = mode
    (out / "outcome.json").write_text(json.dumps(res, indent=2))
    key = [selected, *study.BARS, "holdout_gap"]
    thr = study.thresholds(df[df.half == "selection"], df[df.half == "confirmation"], [selected, C.REFERENCE, "inv_loss"])
    thr.to_csv(out / "thresholds.csv", index=False)
    verdict = ("**The selected metric beats both 1/L and raw DS on the confirmation half**" if res["adopt"] else
               "**The selected metric does not beat both 1/L and raw DS on the confirmation half: raw DS (ds/v1) stays the default**")
    vs = res["versus"]
    lines = [f"# Confirmation half{label}", "",
             f"{len(conf_half.df)} models (replicate r1). Selected on the selection half: `{selected}` = {study.describe(selected)}.", "",
             verdict + ".", "",
             "| versus | its mean within-family tau | selected minus it [paired 95% CI] | beats | CI above 0 |", "|---|---|---|---|---|"]
    for bar, v in vs.items():
        lines.append(f"| {bar} | {v['bar_primary']:+.3f} | {v['difference']:+.3f} [{v['lo']:+.3f}, {v['hi']:+.3f}] | "
                     f"{'yes' if v['beats'] else 'no'} | {'yes' if v['significant'] else 'no'} |")
    lines += ["", f"Selected metric (primary {res['primary']:+.3f}), bars and baselines:", "",
              _fmt_table(confirmation[confirmation.measure.isin(key + list(C.BASELINES))].set_index("measure")
                         .loc[list(dict.fromkeys(key + list(C.BASELINES)))].reset_index(), families), "",
              "## Threshold guidance", "",
              f"T = zkcert.threshold.suggest_threshold(fpr={study.THRESHOLD_FPR}) on the honest selection-half models of each "
              "family; rates on the confirmation half of the same family.", "",
              "| measure | family | T | method (n honest) | FPR honest | detected deviated | detected gap>0.10 |",
              "|---|---|---|---|---|---|---|"]
    for _, r in thr.iterrows():
        lines.append(f"| {r.measure} | {r.family} | {r.threshold:.4g} | {r.method} ({r.n_honest_selection}) | "
                     f"{r.fpr_confirmation:.2f} of {r.n_honest_confirmation} | {r.detect_deviated:.2f} of {r.n_deviated} | "
                     f"{r.detect_poor:.2f} of {r.n_poor} |")
    lines += ["", "## Every candidate on the confirmation half (in selection-half order)", "",
              _fmt_table(confirmation.set_index("measure").loc[list(selection.sort_values("primary", ascending=False).measure)]
                         .reset_index(), families), ""]
    (out / "confirmation.md").write_text("\n".join(lines))

    df.to_csv(out / "study_zoo.csv", index=False)
    plots.selected_scatter(df, [selected, C.REFERENCE, "inv_loss"], out / "scatter_selected.png")
    print(f"selected {selected}; confirmation: adopt={res['adopt']}; models {t_models:.0f} s, "
          f"total {time.perf_counter() - t0:.0f} s; wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
