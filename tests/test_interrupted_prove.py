"""Nothing half-written: a prove killed with SIGKILL leaves no folder that verify accepts, and no salts
outside a mode-0700 folder.

- test_sigkill_while_proving runs `python -m zkcert.cli prove` on the tiny model and kills it once
  ezkl is proving (marker: the witness is in prove's temporary folder and the proving key is in the
  cache, but no proof.json yet), then scans every file the run wrote.
- test_sigkill_while_writing_the_certificate kills write_certificate (in a forked child) just before
  each of its renames and inside make_manifest, on a fresh and on an existing --out, using the files
  of the session's honest certificate; the same call run to the end is the positive control.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certs import PROOF_NONCE, TINY_ARGS
from zkcert.certificate import PROOF, VK, Manifest
from zkcert.commitments import Salts
from zkcert.errors import VerificationError
from zkcert.models import save_model
from zkcert.verification import verify



def _verify(folder: Path, manifest: Manifest) -> None:
    """verify() anchored on the statement's own commitments and nonce (whatever the verifier's options)."""
    s = manifest.statement
    kwargs = dict(data_commitment=s.data_commitment, model_commitment=s.model_commitment, nonce=s.nonce)
    params = inspect.signature(verify).parameters
    if "allow_untrusted_srs" in params:  # the test SRS is generated locally
        kwargs["allow_untrusted_srs"] = True
    verify(folder, **kwargs)


def _refused(folder: Path, manifest: Manifest) -> str:
    """The named check verify fails on folder (the test fails if verify accepts it)."""
    with pytest.raises(VerificationError) as info:
        _verify(folder, manifest)
    assert info.value.check, info.value
    return info.value.check


def _salt_needles(salts: Salts, scale: int) -> list[bytes]:
    """How a salt element can appear in a file: salts.json, ezkl's input (v / 2**scale), field elements."""
    needles = []
    for v in (*salts.data, *salts.model):
        needles += [f'"{v}"'.encode(), repr(v / 2**scale).encode(), v.to_bytes(32, "little").hex().encode(),
                    v.to_bytes(32, "big").hex().encode()]
    return needles


def _private(path: Path, root: Path) -> bool:
    """Some folder between root (exclusive) and path is mode 0700 (nothing for group or others)."""
    return any(p.is_dir() and stat.S_IMODE(p.stat().st_mode) & 0o077 == 0
               for p in path.parents if p != root and root in p.parents)


def _files_with_salts(root: Path, needles: list[bytes]) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n in data for n in needles):
                found.append(path)
    return found


def _assert_no_exposed_salts(root: Path, needles: list[bytes]) -> list[Path]:
    found = _files_with_salts(root, needles)
    exposed = [str(p.relative_to(root)) for p in found if not _private(p, root)]
    assert not exposed, f"salts outside a mode-0700 folder: {exposed}"
    return found


def _wait_for(condition, proc: subprocess.Popen, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"prove exited ({proc.returncode}) before {what}: {log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _link_keys(manifest: Manifest, cache: Path) -> None:
    """Hard-link the session cache's circuit folder and SRS of the manifest's statement into cache."""
    session = Path(os.environ["ZKCERT_CACHE"])  # conftest._isolated_cache
    spec = manifest.statement.spec
    folder = Path("circuits", spec.digest()[:24])  # zkcert.circuit.build's layout of the cache
    shutil.copytree(session / folder, cache / folder, copy_function=os.link)
    (cache / "srs").mkdir()
    os.link(session / "srs" / f"local-k{spec.logrows}.srs", cache / "srs" / f"local-k{spec.logrows}.srs")


@pytest.mark.prove
def test_sigkill_while_proving(tmp_path, proof_mlp, honest_cert):
    private, pub, tmp, cache, cwd = (tmp_path / n for n in ("private", "pub", "tmp", "cache", "cwd"))
    for folder in (private, pub, tmp, cache, cwd):
        folder.mkdir()
    _link_keys(Manifest.load(honest_cert[0]), cache)
    private.chmod(0o700)
    # The honest certificate's salts and nonce over its 2 samples: the same direction calibrates to the same circuit,
    # so prove finds its key in the linked cache and reaches ezkl.prove without a setup (fresh salts calibrated
    # another lookup range, hence another circuit and a 15-20 s setup, on most draws).
    salts = honest_cert[1]
    (private / "salts.json").write_text(json.dumps(salts.to_json()))
    save_model(proof_mlp, pub / "model.pt")
    out = pub / "cert"
    # A cache of its own, holding only this statement's keys and SRS (hard links into the session's): prove reads
    # them instead of setting up, and whatever this run writes to the cache is scanned for salts below.
    env = {**os.environ, "TMPDIR": str(tmp), "ZKCERT_CACHE": str(cache)}
    argv = [sys.executable, "-m", "zkcert.cli", "prove", "--model", str(pub / "model.pt"), "--data", "digits",
            "--samples", "2", "--threshold", "1000", "--nonce", PROOF_NONCE, "--salts", str(private / "salts.json"),
            "--out", str(out), *TINY_ARGS, "--shard-size", "all"]
    log = (tmp_path / "prove.log").open("wb")  # a file, not a pipe: a full pipe would stall prove
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def work() -> list[Path]:
            # prove's private folder, and the proving job's (witness and proof), both temporary.
            return sorted([*tmp.glob("zkcert-prove-*"), *tmp.glob("zkcert-shard-*")])

        def proving() -> bool:
            keys = list(cache.glob("circuits/*/pk-*.key")) and list(cache.glob("circuits/*/vk-*.key"))
            return bool(keys) and any((w / "witness.json").is_file() for w in work())

        _wait_for(proving, proc, 480, "the proving stage", tmp_path / "prove.log")
        time.sleep(1.0)  # inside ezkl.prove: it takes ~20 s here on the 64-4-10 circuit
        assert proc.poll() is None, "prove finished before it could be interrupted"
        assert not any((w / "proof.json").exists() for w in work()), "killed too late: the proof was already written"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

    # No certificate, and nothing beside it (no staging folder) in the out folder's parent.
    assert not out.exists()
    assert sorted(p.name for p in pub.iterdir()) == ["model.pt"]
    assert sorted(p.name for p in cwd.iterdir()) == []
    # The salts are only in the user's private folder and prove's private temporary folder (mode 0700).
    found = _assert_no_exposed_salts(tmp_path, _salt_needles(salts, 10))
    leftovers = work()
    assert leftovers and all(stat.S_IMODE(w.stat().st_mode) == 0o700 for w in leftovers)
    assert private / "salts.json" in found and any(w in p.parents for p in found for w in leftovers)
    assert not any(cache in p.parents for p in found), "the cache must hold no salts"


# write_certificate's os.replace calls, in order: the staged manifest into the staging folder, [an
# existing out aside,] the staging folder to out, the staged manifest to manifest.json.
_KILL_POINTS = {
    False: ["copy:2", "manifest", "replace:1", "replace:2", "replace:3"],
    True: ["copy:2", "manifest", "replace:1", "replace:2", "replace:3", "replace:4"],
}


def _write_in_child(out: Path, files: dict[str, Path], manifest: Manifest, kill_at: str | None) -> int:
    """Run write_certificate in a forked child that SIGKILLs itself at kill_at; returns the wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            import zkcert.certificate as certificate

            counts = {"copy": 0, "replace": 0}

            def hook(kind: str, real):
                def wrapped(*args, **kwargs):
                    counts[kind] += 1
                    if kill_at == f"{kind}:{counts[kind]}":
                        os.kill(os.getpid(), signal.SIGKILL)
                    return real(*args, **kwargs)
                return wrapped

            os.replace = hook("replace", os.replace)  # the child's own copy of the module
            certificate.shutil.copyfile = hook("copy", shutil.copyfile)

            def make_manifest(_hashes):
                if kill_at == "manifest":
                    os.kill(os.getpid(), signal.SIGKILL)
                return manifest

            certificate.write_certificate(out, files, make_manifest)
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


@pytest.mark.prove
@pytest.mark.parametrize("existing", [False, True], ids=["fresh-out", "existing-out"])
def test_sigkill_while_writing_the_certificate(existing, honest_cert, tmp_path):
    honest = honest_cert[0]
    manifest = Manifest.load(honest)
    files = {PROOF: honest / PROOF, VK: honest / VK}
    for kill_at in _KILL_POINTS[existing]:
        parent = tmp_path / kill_at.replace(":", "-")
        parent.mkdir()
        out = parent / "cert"
        if existing:
            shutil.copytree(honest, out)
        status = _write_in_child(out, files, manifest, kill_at)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, kill_at
        for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
            if existing and _same_files(folder, honest):
                continue  # the certificate that was there before, untouched (at out, or set aside as .cert.old-PID)
            assert _refused(folder, manifest) == "certificate-format", (kill_at, folder.name)
        # The next write to the same out removes the dead writer's staging folder and succeeds.
        assert os.waitstatus_to_exitcode(_write_in_child(out, files, manifest, None)) == 0
        _verify(out, manifest)
        assert not [p.name for p in parent.iterdir() if ".staging-" in p.name]


def _same_files(folder: Path, reference: Path) -> bool:
    names = sorted(p.name for p in folder.iterdir())
    return names == sorted(p.name for p in reference.iterdir()) and all(
        (folder / n).read_bytes() == (reference / n).read_bytes() for n in names)
