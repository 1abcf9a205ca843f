import json

import numpy as np
import pytest

from certs import copy_cert, edit_json
from zkcert.certificate import MANIFEST
from zkcert.commitments import KZG, Salts
from zkcert.cli import main
from zkcert.metric import DEFAULT_METRIC, METRIC_NAMES
from zkcert.models import save_model


@pytest.fixture()
def model_file(tmp_path, proof_mlp):
    save_model(proof_mlp, tmp_path / "model.pt")
    return tmp_path / "model.pt"


def test_measure_and_json(model_file, capsys):
    assert main(["measure", "--model", str(model_file), "--data", "digits", "--samples", "8"]) == 0
    assert capsys.readouterr().out.startswith(f"{METRIC_NAMES[DEFAULT_METRIC]} ")
    assert main(["measure", "-m", str(model_file), "-d", "digits", "-n", "8", "--json", "--nonce", "x", "--metric", "ds/v1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["samples"] == 8 and out["metric"] == "ds/v1" and out["value"] > 0 and out["nonce"] == "x"
    assert out["mean_training_loss"] > 0 and out["exact"] is True and out["data_commitment"].startswith("0x")
    # Under kzg/v1 ("fast") no direction exists before `zkcert commit`: the spread over draws, marked inexact.
    assert main(["measure", "-m", str(model_file), "-d", "digits", "-n", "8", "--json", "--statement", "fast"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] is False and out["p10"] <= out["value"] <= out["p90"] and out["draws"] == 30
    assert out["statement"].startswith("fast: rds/v1 along 1 row-sign/v1 direction")


def test_commit_writes_public_and_private_files(model_file, tmp_path, capsys):
    assert main(["commit", "-m", str(model_file), "-d", "digits", "-n", "4", "--statement", "default", "--out", str(tmp_path / "c")]) == 0
    public = json.loads((tmp_path / "c" / "commitments.json").read_text())
    assert public["data_commitment"] in capsys.readouterr().out
    assert (tmp_path / "c" / "salts.json").stat().st_mode & 0o077 == 0
    # The same salts give the same commitments: what lets the owner prove later against published values.
    assert main(["commit", "-m", str(model_file), "-d", "digits", "-n", "4", "--out", str(tmp_path / "d"), "--statement", "default",
                 "--salts", str(tmp_path / "c" / "salts.json")]) == 0
    assert json.loads((tmp_path / "d" / "commitments.json").read_text()) == public


def test_commit_with_shards_publishes_the_root(model_file, tmp_path, capsys):
    from zkcert.commitments import shard_root

    assert main(["commit", "-m", str(model_file), "-d", "digits", "-n", "4", "--shard-size", "2", "--statement", "default", "--out", str(tmp_path / "c")]) == 0
    public = json.loads((tmp_path / "c" / "commitments.json").read_text())
    assert len(public["shard_commitments"]) == 2
    assert public["data_commitment"] == shard_root(public["shard_commitments"])
    assert public["data_commitment"] in capsys.readouterr().out
    assert main(["commit", "-m", str(model_file), "-d", "digits", "-n", "4", "--shard-size", "2", "--out", str(tmp_path / "d"),
                 "--statement", "default", "--salts", str(tmp_path / "c" / "salts.json")]) == 0
    assert json.loads((tmp_path / "d" / "commitments.json").read_text()) == public


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (["measure", "-m", "missing.pt", "-d", "digits"], 3, "model file not found"),
        (["measure", "-m", "{model}", "-d", "nan.npz"], 3, "NaN or inf"),
        (["measure", "-m", "{model}", "-d", "digits", "-n", "99999"], 3, "asked for 99999 samples"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "0.001", "-o", "out", "--statement", "default", "--shard-size", "all"], 1,
         "above the threshold"),
        (["verify", "no-such-folder"], 1, "certificate folder not found"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "5", "--shard-size", "2", "-t", "9", "-o", "out"], 3, "do not split into shards"),
        (["commit", "-m", "{model}", "-d", "digits", "-n", "4", "--shard-size", "3", "--statement", "default"], 3, "do not split into shards"),
        (["commit", "-m", "{model}", "-d", "digits", "-n", "4", "--statement", "fast"], 3,
         "kzg/v1 commitments are made with the circuit's key, which fixes T"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "4", "-t", "9", "-o", "out", "--statement", "fastest"], 3,
         "unknown statement 'fastest'; known: default, fast, ds-paper"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "4", "-t", "9", "-o", "out", "--commitments", "nowhere"], 3,
         "commit folder not found: nowhere"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "4", "-t", "9", "-o", "out", "--shard-size", "two"], 3,
         "neither a number of samples nor 'auto'"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--commitment", "sha/v9"], 3,
         "unknown commitment scheme 'sha/v9'"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--inner-cols", "0"], 3,
         "inner columns must be at least 1, got 0"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--direction", "row-sign/v1",
          "--epsilon", "2"], 3, "row-sign/v1 needs epsilon <= 1"),
        (["commit", "-m", "{model}", "-d", "digits", "-n", "2", "--statement", "default", "--salts", "kzg-salts.json"], 3,
         "the salts are for kzg/v1 commitments, the circuit commits with poseidon/v1"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--statement", "default", "--shard-size", "all",
          "--salts", "kzg-salts.json"], 3,
         "the salts are for kzg/v1 commitments, the circuit commits with poseidon/v1"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--resilience", "1.5:4"], 3,
         "the perturbation degree e must lie in (0, 1], got 1.5"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--resilience", "0.1:0"], 3,
         "the number of neighbours Q must be an integer of at least 1, got 0"),
        (["prove", "-m", "{model}", "-d", "digits", "-n", "2", "-t", "9", "-o", "out", "--resilience", "0.1"], 3,
         "--resilience takes E:Q"),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code(argv, code, message, model_file, tmp_path, capsys, monkeypatch):
    """Bad input (InputError) exits 3; a threshold exceeded or a failed check exits 1."""
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "nan.npz", x=np.full((2, 1, 8, 8), np.nan, dtype=np.float32), y=np.array([0, 1]))
    (tmp_path / "kzg-salts.json").write_text(json.dumps(Salts.fresh(KZG).to_json()))
    assert main([a.replace("{model}", str(model_file)) for a in argv]) == code
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("error:") and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_bad_cache_limit_stops_prove_before_any_setup(model_file, tmp_path, capsys, monkeypatch):
    from zkcert.circuit import build

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZKCERT_CACHE_MAX_GB", "ten")
    monkeypatch.setattr(build._ezkl, "setup", lambda *a: pytest.fail("setup ran before the limit was checked"))
    assert main(["prove", "-m", str(model_file), "-d", "digits", "-n", "2", "-t", "9", "-o", "out"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "ZKCERT_CACHE_MAX_GB must be a non-negative number of GB, got 'ten'" in err


def test_usage_error_exits_2(capsys):
    assert main(["prove", "--model"]) == 2


@pytest.mark.prove
def test_verify_cli(honest_cert, tmp_path, capsys):
    """Exit codes of verify: 5 without published values, 6 unanchored, 4 an SRS the verifier did not give, 0, 1."""
    import shutil

    from certs import PROOF_NONCE
    from zkcert.api import published_json
    from zkcert.certificate import Manifest
    from zkcert.srs import find_srs_by_hash

    cert = honest_cert[0]
    manifest = Manifest.load(cert)
    published = tmp_path / "commitments.json"
    published.write_text(json.dumps(published_json(manifest.statement.data_commitment, manifest.statement.model_commitment)))
    anchored = ["--published", str(published), "--nonce", PROOF_NONCE]
    assert main(["verify", str(cert)]) == 5
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "published data commitment" in err and "nonce you issued" in err and "\n" not in err
    assert main(["verify", str(cert), "--published", str(published), "--json"]) == 5
    out = json.loads(capsys.readouterr().out)
    assert out["missing"] == ["nonce"] and out["exit_code"] == 5 and out["failed_check"] == "anchors"
    assert main(["verify", str(cert), *anchored]) == 4
    assert "check 'srs-trust' failed" in capsys.readouterr().err
    assert main(["verify", str(cert), "--unanchored", "--allow-untrusted-srs"]) == 6
    assert capsys.readouterr().out.startswith("CONSISTENT (unanchored): loss-normalized directional sharpness <= 1000")
    assert main(["verify", str(cert), "--unanchored", "--allow-untrusted-srs", "--json"]) == 6
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["not_checked"] == ["srs-trust", "data-commitment", "model-commitment", "nonce"]
    assert "nonce" not in out["checks"]
    assert main(["verify", str(cert), *anchored, "--allow-untrusted-srs"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("VERIFIED: loss-normalized directional sharpness <= 1000") and "untrusted SRS allowed" in captured.err
    verifier_srs = tmp_path / "verifier.srs"
    shutil.copyfile(find_srs_by_hash(manifest.srs["sha256"]).path, verifier_srs)
    assert main(["verify", str(cert), *anchored, "--srs", str(verifier_srs), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["srs_trusted"] is True and "srs-trust" in out["checks"]
    assert main(["verify", str(cert), *anchored, "--srs", str(verifier_srs), "--nonce", "other"]) == 1
    assert "check 'nonce' failed" in capsys.readouterr().err
    bad = copy_cert(cert, tmp_path / "bad")
    edit_json(bad / MANIFEST, lambda m: m.update(schema="zkcert-certificate/v2"))
    assert main(["verify", str(bad), *anchored]) == 1
    assert "check 'certificate-format' failed" in capsys.readouterr().err
    assert main(["verify", str(bad), *anchored, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["failed_check"] == "certificate-format" and out["exit_code"] == 1


def test_measure_suggests_threshold(model_file, tmp_path, capsys):
    (tmp_path / "honest.txt").write_text("\n".join(str(v) for v in range(1, 40)))
    assert main(["measure", "-m", str(model_file), "-d", "digits", "-n", "8", "--honest", str(tmp_path / "honest.txt")]) == 0
    out = capsys.readouterr().out
    assert "suggested threshold T = 38:" in out  # ceil((39 + 1) * 0.95) = 38th smallest and "this model: DS =" in out
    (tmp_path / "few.txt").write_text("1\n2\n")
    assert main(["measure", "-m", str(model_file), "-d", "digits", "-n", "8", "--honest", str(tmp_path / "few.txt")]) == 3  # too few honest models: bad input


def test_cli_sample_needs_shards(model_file, capsys):
    from zkcert.cli import main

    argv = ["prove", "-m", str(model_file), "-d", "digits", "-n", "8", "-t", "1", "-o", "x", "--sample", "1"]
    assert main(argv + ["--shard-size", "all"]) == 3
    assert "a spot check (sample) proves shards" in capsys.readouterr().err
    assert main(argv + ["--shard-size", "2", "--sample", "5"]) == 3
    assert "cannot challenge 5 of 4 shards" in capsys.readouterr().err


def test_public_files_are_shareable_and_salts_private(model_file, tmp_path):
    """Atomic writes go through a private temporary file: the result must still get an ordinary mode."""
    assert main(["commit", "-m", str(model_file), "-d", "digits", "-n", "2", "--statement", "default", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "commitments.json").stat().st_mode & 0o044 == 0o044  # others may read what is published
    assert (tmp_path / "c" / "salts.json").stat().st_mode & 0o777 == 0o600


def test_prove_warns_when_the_fixed_point_value_strays(model_file, tmp_path, monkeypatch, capsys):
    """The certificate is about the fixed-point value; a gap above 2 % from the float value is said out loud."""
    from types import SimpleNamespace

    import zkcert.proving

    def fake_prove(*_args, **_kwargs):
        statement = SimpleNamespace(describe=lambda: "a statement")
        reported = {"float_metric": 100.0, "circuit_metric": 105.0, "relative_gap": 0.05}
        return SimpleNamespace(certificate=tmp_path / "cert", manifest=SimpleNamespace(statement=statement, reported=reported, claims=()))

    monkeypatch.setattr(zkcert.proving, "prove", fake_prove)
    assert main(["prove", "-m", str(model_file), "-d", "digits", "-n", "2", "-t", "1000", "-o", str(tmp_path / "cert"), "--statement", "default"]) == 0
    assert "5.0 % from the float value" in capsys.readouterr().err
    reported_ok = {"float_metric": 100.0, "circuit_metric": 100.5, "relative_gap": 0.005}
    monkeypatch.setattr(zkcert.proving, "prove", lambda *a, **k: SimpleNamespace(
        certificate=tmp_path / "cert", manifest=SimpleNamespace(statement=SimpleNamespace(describe=lambda: "s"), reported=reported_ok, claims=())))
    assert main(["prove", "-m", str(model_file), "-d", "digits", "-n", "2", "-t", "1000", "-o", str(tmp_path / "cert"), "--statement", "default"]) == 0
    assert "from the float value" not in capsys.readouterr().err


def test_prove_resilience_passes_the_claim_and_prints_both_counts(model_file, tmp_path, monkeypatch, capsys):
    """--resilience E:Q hands prove a resilience/v1 job at that e and Q, and the claim's line shows the float counts too."""
    from types import SimpleNamespace

    import zkcert.proving
    from zkcert.claims import ClaimEntry
    from zkcert.resilience import NAME, ResilienceJob

    seen = {}
    text = "at most 1 of 2 committed training samples have a misclassified neighbour at e = 0.25 (Q = 3)"
    entry = ClaimEntry(NAME, {"text": text}, {"float_weak": 1, "float_pairs": 2})

    def fake_prove(*_args, **kwargs):
        seen.update(kwargs)
        statement = SimpleNamespace(describe=lambda: "a statement")
        reported = {"float_metric": 1.0, "circuit_metric": 1.0, "relative_gap": 0.0}
        return SimpleNamespace(certificate=tmp_path / "cert", manifest=SimpleNamespace(statement=statement, reported=reported, claims=(entry,)))

    monkeypatch.setattr(zkcert.proving, "prove", fake_prove)
    argv = ["prove", "-m", str(model_file), "-d", "digits", "-n", "2", "-t", "1000", "-o", str(tmp_path / "cert"), "--resilience", "0.25:3"]
    assert main(argv) == 0
    (job,) = seen["claims"]
    assert isinstance(job, ResilienceJob) and (job.degree, job.neighbours, len(job.data)) == (0.25, 3, 2)
    assert f"{NAME}: {text}; float counts: 1 weak, 2 pairs" in capsys.readouterr().out
