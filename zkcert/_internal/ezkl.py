"""The one adapter around ezkl: every call goes through here, and Rust panics become CircuitError.

ezkl raises pyo3 PanicException (a BaseException, not an Exception) on Rust panics, and RuntimeError
or ValueError on ordinary failures; callers of zkcert must only ever see ZkcertError.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import ezkl

from ..errors import CircuitError, InputError

__all__ = [
    "run_args",
    "gen_settings",
    "calibrate",
    "compile_circuit",
    "gen_witness",
    "setup",
    "prove",
    "verify",
    "verify_all",
    "gen_srs",
    "poseidon",
    "kzg_commit",
    "to_felts",
    "felt_to_float",
    "felt_hex_to_int",
    "EZKL_VERSION",
    "ProofView",
    "WitnessView",
    "settings_output_scales",
]

EZKL_VERSION = getattr(ezkl, "__version__", "23.0.5")
F = TypeVar("F", bound=Callable[..., Any])
_FELT = re.compile(r"(0x)?[0-9a-fA-F]{64}")


def _guard(what: str) -> Callable[[F], F]:
    """Run an ezkl call, turning any failure (panics included) into CircuitError naming the step."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - pyo3 PanicException derives from BaseException
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise CircuitError(f"ezkl {what} failed: {text}") from None

        return wrapper  # type: ignore[return-value]

    return deco


def run_args(fields: dict[str, Any]) -> "ezkl.PyRunArgs":
    """A PyRunArgs with the given fields set (names as in ezkl's settings.json run_args)."""
    ra = ezkl.PyRunArgs()
    for key, value in fields.items():
        setattr(ra, key, tuple(value) if isinstance(value, list) else value)
    return ra


@_guard("gen_settings")
def gen_settings(onnx_path: Path, settings_path: Path, fields: dict[str, Any]) -> None:
    """Write settings.json for the graph with the given run arguments."""
    if not ezkl.gen_settings(str(onnx_path), str(settings_path), py_run_args=run_args(fields)):
        raise RuntimeError("returned false")


@contextlib.contextmanager
def _captured_output() -> Iterator[list[str]]:
    """Capture file descriptors 1 and 2: ezkl's Rust code prints reports there, and zkcert's API never prints.

    Yields a list that holds the captured lines once the block has finished.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    lines: list[str] = []
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            lines.extend(sink.read().decode(errors="replace").splitlines())


@_guard("calibrate_settings")
def calibrate(input_path: Path, onnx_path: Path, settings_path: Path, *, scale: int, max_logrows: int) -> None:
    """Calibrate lookup ranges and logrows at a fixed scale (the scale is part of the statement)."""
    try:
        with _captured_output() as output:
            ok = ezkl.calibrate_settings(
                str(input_path),
                str(onnx_path),
                str(settings_path),
                "resources",
                lookup_safety_margin=2,
                scales=[scale],
                scale_rebase_multiplier=[1],
                max_logrows=max_logrows,
            )
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - re-raised with ezkl's own reason, which it printed
        reasons = [ln.strip() for ln in output if "reason" in ln]
        raise RuntimeError(f"{str(exc).splitlines()[0] if str(exc) else exc!r}; {reasons[-1] if reasons else ''}") from None
    if not ok:
        raise RuntimeError("returned false")


@_guard("compile_circuit")
def compile_circuit(onnx_path: Path, compiled_path: Path, settings_path: Path) -> None:
    """Compile the graph into ezkl's circuit format."""
    if not ezkl.compile_circuit(str(onnx_path), str(compiled_path), str(settings_path)):
        raise RuntimeError("returned false")


@_guard("gen_witness")
def gen_witness(input_path: Path, compiled_path: Path, witness_path: Path, vk_path: Path | None = None,
                srs_path: Path | None = None) -> dict[str, Any]:
    """Run the quantized forward pass; returns the witness dict (KZG-committed inputs need the vk and SRS)."""
    if vk_path is None:
        return ezkl.gen_witness(str(input_path), str(compiled_path), str(witness_path))
    return ezkl.gen_witness(str(input_path), str(compiled_path), str(witness_path), str(vk_path), str(srs_path))


@_guard("setup")
def setup(compiled_path: Path, vk_path: Path, pk_path: Path, srs_path: Path) -> None:
    """Generate verifying and proving keys."""
    if not ezkl.setup(str(compiled_path), str(vk_path), str(pk_path), str(srs_path)):
        raise RuntimeError("returned false")


@_guard("prove")
def prove(witness_path: Path, compiled_path: Path, pk_path: Path, proof_path: Path, srs_path: Path) -> None:
    """Produce a proof file."""
    if not ezkl.prove(str(witness_path), str(compiled_path), str(pk_path), str(proof_path), str(srs_path)):
        raise RuntimeError("returned false")


def verify(proof_path: Path, settings_path: Path, vk_path: Path, srs_path: Path) -> bool:
    """True iff the proof verifies; any ezkl error (malformed proof included) counts as False."""
    try:
        return bool(ezkl.verify(str(proof_path), str(settings_path), str(vk_path), str(srs_path)))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # noqa: BLE001 - a tampered proof makes ezkl raise or panic: that is a "no"
        return False


# The child's whole program: it imports only ezkl (0.1 s to start, against about 2 s for zkcert with torch)
# and prints one JSON list of booleans; verify_all treats anything else as a failure of every proof.
_VERIFY_CHILD = """
import json, sys, ezkl
ok = []
for proof, settings, vk, srs in json.loads(sys.argv[1]):
    try:
        ok.append(bool(ezkl.verify(proof, settings, vk, srs)))
    except BaseException:
        ok.append(False)
print(json.dumps(ok))
"""


def verify_all(proofs: list[Path], settings_path: Path, vk_path: Path, srs_path: Path, workers: int | None = None) -> list[bool]:
    """verify() of each proof against one key, spread over worker processes; in the proofs' order.

    Each ezkl.verify call rereads the key and rebuilds its evaluation domain (profiled at logrows 18: FFT
    tables and selector compression, about 0.3 s of one core per call whatever the proof), and holds
    the GIL, so threads do not help: 50 shard proofs take 15 s in one process, about half in two.
    Only an explicit true from ezkl counts; a worker that dies or prints anything but its list has its
    share verified again in this process.
    """
    workers = min(workers or os.cpu_count() or 1, len(proofs))
    if workers < 2 or len(proofs) < 4:
        return [verify(p, settings_path, vk_path, srs_path) for p in proofs]
    jobs = [[str(p), str(settings_path), str(vk_path), str(srs_path)] for p in proofs]
    chunks = [list(range(w, len(jobs), workers)) for w in range(workers)]
    children = [subprocess.Popen([sys.executable, "-c", _VERIFY_CHILD, json.dumps([jobs[i] for i in chunk])],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                for chunk in chunks]
    ok = [False] * len(jobs)
    for child, chunk in zip(children, chunks):
        out, _ = child.communicate()
        try:
            found = json.loads(out.strip().splitlines()[-1]) if child.returncode == 0 and out.strip() else None
        except ValueError:
            found = None
        if not (isinstance(found, list) and len(found) == len(chunk)):
            # A child that could not run (say, ezkl not importable from a bare interpreter): redo its share here.
            found = [verify(proofs[i], settings_path, vk_path, srs_path) for i in chunk]
        for i, value in zip(chunk, found):
            ok[i] = value is True
    return ok


@_guard("gen_srs")
def gen_srs(srs_path: Path, logrows: int) -> None:
    """Generate an SRS locally: whoever ran this can forge proofs, so it is for tests and demos only."""
    tmp = Path(f"{srs_path}.tmp{os.getpid()}")
    ezkl.gen_srs(str(tmp), logrows)
    os.replace(tmp, srs_path)


@_guard("poseidon_hash")
def poseidon(felts: list[str]) -> str:
    """ezkl's Poseidon hash of a list of field elements (little-endian hex, as ezkl writes them)."""
    return ezkl.poseidon_hash(felts)[0]


@_guard("kzg_commit")
def kzg_commit(felts: list[str], vk_path: Path, settings_path: Path, srs_path: Path) -> list[str]:
    """KZG points of a column of field elements, each as 0x || x || y (big-endian hex), the encoding proofs carry."""
    points = ezkl.kzg_commit(felts, str(vk_path), str(settings_path), str(srs_path))
    # ezkl gives x and y as little-endian hex; a proof's transcript writes each point as x || y big-endian.
    return ["0x" + bytes.fromhex(p.x)[::-1].hex() + bytes.fromhex(p.y)[::-1].hex() for p in points]


@_guard("float_to_felt")
def to_felts(values: list[float], scale: int) -> list[str]:
    """Quantize floats to field elements at 2**scale exactly as ezkl's witness generation does."""
    return [ezkl.float_to_felt(float(v), scale) for v in values]


@_guard("felt_to_float")
def felt_to_float(felt: str, scale: int) -> float:
    """Dequantize one field element."""
    return float(ezkl.felt_to_float(felt, scale))


def felt_hex_to_int(felt: str) -> int:
    """Integer value of ezkl's little-endian hex field element."""
    return int.from_bytes(bytes.fromhex(felt.removeprefix("0x")), "little")


# ezkl's file layouts are read here and nowhere else.


_POINT_BYTES = 64


@dataclass(frozen=True)
class ProofView:
    """A proof file's public instances (one column of 32-byte hex field elements) and its transcript bytes."""

    instances: tuple[str, ...]
    transcript: bytes = b""

    @classmethod
    def from_json(cls, obj: Any, *, what: str = "proof") -> "ProofView":
        """The view of a parsed proof.json; InputError (naming `what`) unless it has one column of field elements."""
        if not isinstance(obj, dict) or not isinstance(obj.get("instances"), list) or len(obj["instances"]) != 1:
            raise InputError(f"{what} has no single instance column")
        column = obj["instances"][0]
        if not isinstance(column, list) or not all(isinstance(v, str) and _FELT.fullmatch(v) for v in column):
            raise InputError(f"{what}'s instances are not a list of 32-byte hex field elements")
        # The "proof" byte list is what ezkl.verify checks; "hex_proof" is only a copy, so it is never read.
        # A malformed one is left to ezkl.verify (the 'proof' check) and reads here as no transcript.
        raw = obj.get("proof")
        valid = isinstance(raw, list) and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in raw)
        return cls(tuple(column), bytes(raw) if valid else b"")

    def leading_points(self, n: int) -> tuple[str, ...]:
        """The first n G1 points of the transcript, each as 0x || x || y (big-endian hex).

        With KZG-committed ("polycommit") inputs the prover's first messages are the inputs'
        commitments, in input order; ezkl writes no other copy of them in the proof file. The
        verifier reads them here, from the bytes ezkl.verify checks the proof against.
        """
        if len(self.transcript) < n * _POINT_BYTES:
            raise InputError(f"the proof holds fewer than {n} committed points")
        return tuple("0x" + self.transcript[i * _POINT_BYTES : (i + 1) * _POINT_BYTES].hex() for i in range(n))


@dataclass(frozen=True)
class WitnessView:
    """What zkcert reads from a witness: the graph's outputs and the Poseidon hashes of its hashed inputs."""

    outputs: tuple[tuple[str, ...], ...]
    input_hashes: tuple[str, ...]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "WitnessView":
        """The view of the witness dict gen_witness returns (or witness.json parsed)."""
        processed = obj.get("processed_inputs") or {}
        return cls(tuple(tuple(out) for out in obj["outputs"]), tuple(processed.get("poseidon_hash") or ()))


def settings_output_scales(settings: dict[str, Any]) -> list[int]:
    """The fixed-point scale (log2) of each graph output, from a parsed settings.json."""
    return [int(s) for s in settings["model_output_scales"]]
