"""Build the golden set of rejected certificates from one honest single-proof certificate of the tiny test circuit.

    python tests/golden/make_golden.py HONEST_CERT_FOLDER

Each case folder holds the tampered manifest.json and proof.json (the proof bytes cut to 64, the key
replaced by a placeholder: every case is decided before the proof is checked, so none needs a real
key or SRS) and case.json: the `zkcert verify` arguments. tests/test_fuzz_certificates.py runs each
case and compares the verifier's JSON answer with expected.json; ZKCERT_UPDATE_GOLDEN=1 rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).parent
NONCE = "verifier-issued-nonce"  # tests/certs.py PROOF_NONCE: the honest certificate's
PLACEHOLDER_SRS = b"golden placeholder SRS: its hash is what the manifest names\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(folder: Path, name: str, obj: Any) -> bytes:
    raw = (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
    (folder / name).write_bytes(raw)
    return raw


def _anchored(manifest: dict) -> list[str]:
    st = manifest["statement"]
    return ["--data-commitment", st["data_commitment"], "--model-commitment", st["model_commitment"], "--nonce", NONCE]


def make(honest: Path) -> None:
    base_manifest = json.loads((honest / "manifest.json").read_text())
    base_proof = json.loads((honest / "proof.json").read_text())
    base_proof.update(proof=base_proof["proof"][:64], hex_proof=None)

    # name -> (change(manifest, proof, folder) -> extra argv, rehash files after the change)
    cases: dict[str, tuple[Callable[[dict, dict, Path], list[str]], bool]] = {
        "foreign-schema": (lambda m, p, f: m.update(schema="zkcert-certificate/v2") or [], True),
        "unknown-manifest-field": (lambda m, p, f: m.update(signature="trust me") or [], True),
        "proof-edited-not-rehashed": (lambda m, p, f: p["instances"][0].__setitem__(3, "00" * 32) or [], False),
        "unexpected-listed-file": (lambda m, p, f: (f / "notes.txt").write_text("extra\n") and m["files"].update({"notes.txt": ""}) or [], True),
        "unsafe-file-name": (lambda m, p, f: m["files"].update({"../vk.key": "00" * 32}) or [], True),
        "instances-not-field-elements": (lambda m, p, f: p.update(instances=[[1, 2, 3]]) or [], True),
        "two-instance-columns": (lambda m, p, f: p["instances"].append(list(p["instances"][0])) or [], True),
        "unknown-srs": (lambda m, p, f: m["srs"].update(sha256="ab" * 32) or ["--allow-untrusted-srs"], True),
        "prover-srs-refused": (lambda m, p, f: [], True),
        "missing-anchors": (lambda m, p, f: ["--allow-untrusted-srs", "--ANCHORS-OFF"], True),
        "logrows-above-limit": (lambda m, p, f: _logrows(m, f), True),
    }
    for name, (change, rehash) in cases.items():
        folder = HERE / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        manifest, proof = json.loads(json.dumps(base_manifest)), json.loads(json.dumps(base_proof))
        extra = change(manifest, proof, folder) or []
        raw_proof = _write(folder, "proof.json", proof)
        (folder / "vk.key").write_bytes(b"placeholder key: every golden case fails before the key is read\n")
        if rehash:
            for listed in list(manifest.get("files", {})):
                if (folder / listed).is_file() and "/" not in listed:
                    manifest["files"][listed] = _sha((folder / listed).read_bytes())
        else:
            manifest["files"]["vk.key"] = _sha((folder / "vk.key").read_bytes())
            manifest["files"]["proof.json"] = _sha(raw_proof)[::-1]  # the stored hash is not the file's
        _write(folder, "manifest.json", manifest)
        argv = [] if "--ANCHORS-OFF" in extra else _anchored(base_manifest)
        _write(folder, "case.json", {"argv": [a for a in extra if a != "--ANCHORS-OFF"] + argv})
        print(f"{name}: {sum(p.stat().st_size for p in folder.iterdir())} bytes")


def _logrows(manifest: dict, folder: Path) -> list[str]:
    """A hostile spec that would make the verifier build a 2**26-row key, with an SRS the verifier passes."""
    manifest["statement"]["spec"]["run_args"]["logrows"] = 26
    (folder / "verifier.srs").write_bytes(PLACEHOLDER_SRS)
    manifest["srs"]["sha256"] = _sha(PLACEHOLDER_SRS)
    return ["--srs", "verifier.srs"]


if __name__ == "__main__":
    make(Path(sys.argv[1]))
