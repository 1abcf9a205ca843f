"""Fuzzed certificates: every kind (single, sharded, spot check) mutated every way the issue lists.

The oracle: a mutated certificate may pass verification only if nothing bound changed, that is, if
every difference from the honest folder lies in a field listed in UNBOUND / PROOF_UNBOUND (each with
the reason it is unbound) or in a file the manifest does not list. Every other mutation must raise
VerificationError naming a check of the kind's checklist, and nothing may raise anything else.

Verification is anchored (the honest certificate's published commitments and issued nonce) and
allows the test SRS (the prover's, as in every test: tests/verification/test_single.py covers SRS trust).
ezkl verification costs about a second per proof, so the example counts are small and fixed
(derandomized). A longer, randomized run: ZKCERT_FUZZ_SCALE=20 (examples multiplied by 20).
ZKCERT_FUZZ_RESULTS=results/fuzz writes summary.md and summary.csv of what was tried and rejected.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certs import PROOF_NONCE, SHARD_NONCE, SPOT_NONCE, UNTRUSTED_SRS_OK, anchors, rehash
from zkcert.certificate import MANIFEST, SRS_FILE
from zkcert.errors import VerificationError
from zkcert.verification import MAX_MANIFEST_BYTES, MAX_PROOF_BYTES, SAMPLED_CHECKS, SHARDED_CHECKS, verify

pytestmark = pytest.mark.prove

SCALE = max(1, int(os.environ.get("ZKCERT_FUZZ_SCALE", "1")))
KNOWN_CHECKS = set(SHARDED_CHECKS) | set(SAMPLED_CHECKS) | {"anchors"}

# Manifest fields that nothing checks, and why that is sound. Any other manifest change must be rejected.
# ("reported", "*") is every entry of `reported` except circuit_metric, the one the verifier checks.
UNBOUND: dict[tuple[str, ...], str] = {
    ("reported", "*"): "the prover's measurements: float metric (informational; the proof binds the fixed-point value, "
                       "reported.circuit_metric, which is checked; an auditor recomputes the float one), relative gap, "
                       "timings and peak memory (steps, shards), the worst challenged shard's float value; extra entries",
    ("files", "*"): "the hashes of the files: what they bind is the files' content, compared file by file "
                    "(a hash that does not match its file is rejected, a listed name added or removed is bound)",
    ("software",): "the prover's software versions: informational",
    ("srs", "locally_generated"): "the prover's own claim about its SRS: trust comes only from the SRS the verifier passes",
    ("srs", "logrows"): "informational: the SRS is identified by its hash, the circuit size by the spec",
}
# Fields of ezkl's proof JSON that ezkl.verify does not read and zkcert never reads.
PROOF_UNBOUND: dict[tuple[str, ...], str] = {
    ("pretty_public_inputs",): "a human-readable copy of the instances: zkcert reads instances only (verification/test_single.py tests a lying copy)",
    ("hex_proof",): "ezkl's hex copy of `proof`: ezkl.verify reads the byte list (found by this test: deleting it passed)",
    ("timestamp",): "when ezkl wrote the proof: metadata, not part of the transcript",
    ("version",): "the ezkl version that wrote the proof: metadata (found by this test: deleting it passed)",
}
# And in a proof JSON, deleting a top-level field whose value is null (protocol, split) changes nothing:
# ezkl reads a missing optional field as null (found by this test: deleting either passed).
# A shipped kzg.srs is a copy: the verifier uses the SRS with the manifest's srs.sha256 (and requires a listed
# kzg.srs to have that hash), so its bytes are bound only through that hash.


# ---- the oracle -------------------------------------------------------------------------------------------

def _leaves(obj: Any, path: tuple = ()) -> dict[tuple, str]:
    """Every leaf (and empty container) of a JSON document by path, as canonical JSON text (1 and 1.0 differ)."""
    if isinstance(obj, dict) and obj:
        return {p: v for k, child in obj.items() for p, v in _leaves(child, path + (k,)).items()}
    if isinstance(obj, list) and obj:
        return {p: v for i, child in enumerate(obj) for p, v in _leaves(child, path + (i,)).items()}
    return {path: json.dumps(obj, sort_keys=True)}


def _is_unbound(path: tuple, unbound: dict[tuple[str, ...], str]) -> bool:
    for u in unbound:
        if u[-1] == "*":  # every child of u[:-1] but circuit_metric (for reported)
            if path[: len(u) - 1] == u[:-1] and len(path) >= len(u) and path[len(u) - 1] != "circuit_metric":
                return True
        elif path[: len(u)] == u:
            return True
    return False


def _json_diff(a: Any, b: Any, unbound: dict[tuple[str, ...], str]) -> list[tuple]:
    """Paths where b differs from a, outside the unbound ones."""
    la, lb = _leaves(a), _leaves(b)
    changed = [p for p in set(la) | set(lb) if la.get(p) != lb.get(p) and not _same_reported_value(p, la.get(p), lb.get(p))
               and not (unbound is PROOF_UNBOUND and len(p) == 1 and la.get(p) == "null" and p not in lb)
               and not (unbound is UNBOUND and p not in lb and _holds_its_default(p, la[p]))]
    return [p for p in changed if not _is_unbound(p, unbound)]


def _holds_its_default(path: tuple, value: str) -> bool:
    """A spec field at its default parses the same when absent (to_json omits some defaults itself, e.g. the commitment
    scheme), so deleting it changes no statement (found by this test: deleting aggregation.reveal_value = true passed)."""
    import dataclasses

    from zkcert.spec import AggregationSpec, CircuitSpec

    if len(path) != 3 or path[:2] not in (("statement", "spec"), ("statement", "aggregation")):
        return False
    fields = dataclasses.fields(CircuitSpec if path[1] == "spec" else AggregationSpec)
    default = next((f.default for f in fields if f.name == path[2]), dataclasses.MISSING)
    return default is not dataclasses.MISSING and json.dumps(default, sort_keys=True) == value


def _same_reported_value(path: tuple, a: str | None, b: str | None) -> bool:
    """The verifier compares reported.circuit_metric with the proof's value to 1e-9 relative (float printing):
    a change below that reports the same number (found by this test: adding 1e-9 to 14.27 passed)."""
    if path != ("reported", "circuit_metric") or a is None or b is None:
        return False
    x, y = json.loads(a), json.loads(b)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
        return False
    return abs(x - y) <= 1e-9 * max(1.0, abs(x)) / 2


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError, OSError):
        return None


def bound_changes(honest: Path, mutated: Path) -> list[str]:
    """What a mutation changed that verification depends on (empty: it may pass)."""
    found: list[str] = []
    if (mutated / MANIFEST).is_symlink():
        found.append("manifest is a link")
    old_m, new_m = _read(honest / MANIFEST), _read(mutated / MANIFEST)
    if new_m is None:
        return found + ["manifest unreadable"]
    found += [f"manifest {'.'.join(map(str, p))}" for p in _json_diff(old_m, new_m, UNBOUND)]
    new_files = new_m.get("files") if isinstance(new_m, dict) and isinstance(new_m.get("files"), dict) else {}
    if set(new_files) != set(old_m["files"]):
        found.append("listed files")
    for name in sorted(set(old_m["files"]) | set(new_files)):
        a, b = honest / name, mutated / name
        if b.is_symlink():
            found.append(f"{name} is a link")
        elif not b.is_file() or not a.is_file():
            found.append(f"{name} added or removed")
        elif name.endswith(".json"):
            pa, pb = _read(a), _read(b)
            if pb is None or _json_diff(pa, pb, PROOF_UNBOUND):
                found.append(f"{name} content")
        elif a.read_bytes() != b.read_bytes():
            found.append(f"{name} bytes")
    return found


# ---- recording ----------------------------------------------------------------------------------------------

RECORD: list[tuple[str, str, str]] = []  # (kind, mutation class, outcome: the failed check, or "passed (unbound)")
GUARDED: list[str] = []  # mutations only the verifier's fail-closed guard caught


@pytest.fixture(scope="module", autouse=True)
def _summary():
    """With ZKCERT_FUZZ_RESULTS=FOLDER, write FOLDER/summary.md and .csv after the module."""
    yield
    out = os.environ.get("ZKCERT_FUZZ_RESULTS")
    if out and RECORD:
        write_summary(Path(out), RECORD)


def write_summary(out: Path, record: list[tuple[str, str, str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    counts = collections.Counter(record)
    rows = sorted({(k, c) for k, c, _ in record})
    lines = ["kind,mutation,tried,rejected,passed_unbound,checks"]
    md = [
        "# Fuzzed certificates", "",
        f"tests/test_fuzz_certificates.py, ZKCERT_FUZZ_SCALE={SCALE} ({'derandomized' if SCALE == 1 else 'randomized'}). "
        "Anchored verification of mutated copies of the session's honest certificates (tiny test circuit). "
        "A mutation may pass only if it changed nothing bound (the test's UNBOUND lists why each such field is unbound); "
        "none raised anything but a named VerificationError.", "",
        "| kind | mutation | tried | rejected | passed (unbound) | rejected by |", "|---|---|---|---|---|---|",
    ]
    for kind, cls in rows:
        outcomes = {o: n for (k, c, o), n in counts.items() if k == kind and c == cls}
        tried = sum(outcomes.values())
        passed = outcomes.get("passed (unbound)", 0)
        by = ", ".join(f"{o} {n}" for o, n in sorted(outcomes.items()) if o != "passed (unbound)")
        lines.append(f"{kind},{cls},{tried},{tried - passed},{passed},{by.replace(', ', ';')}")
        md.append(f"| {kind} | {cls} | {tried} | {tried - passed} | {passed} | {by} |")
    total = len(record)
    passed = sum(1 for r in record if r[2] == "passed (unbound)")
    md += ["", f"Total: {total} mutated certificates, {total - passed} rejected, {passed} passed with only unbound changes."]
    if GUARDED:
        md += ["", "Caught only by the verifier's fail-closed guard (a named check, no traceback; the parser should name them):", ""]
        md += [f"- `{g[:200]}`" for g in sorted(set(GUARDED))]
    md += ["", "Unbound fields (may change without rejection):", ""]
    md += [f"- manifest `{'.'.join(k)}`: {v}" for k, v in UNBOUND.items()]
    md += [f"- proof JSON `{'.'.join(k)}`: {v}" for k, v in PROOF_UNBOUND.items()]
    md += ["- proof JSON: a top-level field that is null (protocol, split) deleted: ezkl reads a missing optional field as null",
           "- manifest `reported.circuit_metric` changed by less than the verifier's 1e-9 relative tolerance (float printing)"]
    md += ["- files the manifest does not list: never read"]
    (out / "summary.csv").write_text("\n".join(lines) + "\n")
    (out / "summary.md").write_text("\n".join(md) + "\n")


# ---- the certificates ---------------------------------------------------------------------------------------

KINDS = ("single", "sharded", "spot")


@pytest.fixture(scope="module")
def certs(honest_cert, sharded_cert, spot_cert) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each kind's honest folder and the anchored verify arguments that accept it."""
    made = {"single": (honest_cert[0], PROOF_NONCE), "sharded": (sharded_cert[0], SHARD_NONCE), "spot": (spot_cert[0], SPOT_NONCE)}
    out = {kind: (folder, {**anchors(folder, nonce), **UNTRUSTED_SRS_OK}) for kind, (folder, nonce) in made.items()}
    for folder, kwargs in out.values():
        verify(folder, **kwargs)  # honest ones pass
    return out


def check_mutation(kind: str, cls: str, honest: Path, kwargs: dict[str, Any], mutate: Callable[[Path], str]) -> None:
    """Copy, mutate, verify, and hold the outcome to the oracle."""
    with tempfile.TemporaryDirectory(prefix="zkcert-fuzz-") as tmp:
        folder = Path(tmp) / "cert"
        shutil.copytree(honest, folder)
        what = mutate(folder)
        changed = bound_changes(honest, folder)
        try:
            verify(folder, **kwargs)
        except VerificationError as exc:
            assert exc.check in KNOWN_CHECKS, f"{what}: unnamed check {exc.check!r}"
            # The verifier's last line of defence names the step too; counted apart, as a field the
            # certificate's parser should have refused with its own message (the summary lists them).
            guard = " (fail-closed guard)" if "unexpected " in str(exc) else ""
            RECORD.append((kind, cls, exc.check + guard))
            if guard:
                GUARDED.append(f"{kind}/{what}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{kind}/{what}: raised {type(exc).__name__}, not a named check: {exc}")
        assert not changed, f"{kind}/{what}: accepted although it changed {changed}"
        RECORD.append((kind, cls, "passed (unbound)"))


def _fuzz(n: int):
    return settings(max_examples=n * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# ---- mutations of JSON ---------------------------------------------------------------------------------------

def _nodes(obj: Any, path: tuple = ()) -> list[tuple]:
    """Every path in a JSON document (containers and leaves)."""
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _nodes(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3] + ([] if len(obj) <= 3 else [])):  # long lists (proof bytes): a few elements
            out += _nodes(v, path + (i,))
        if len(obj) > 3:
            out += [path + (len(obj) // 2,), path + (len(obj) - 1,)]
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


OPS = ("replace", "tweak", "delete", "null", "wrong-type", "duplicate", "reverse")


def _tweak(value: Any, draw) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + draw(st.sampled_from([1, -1, 1 << 40, -value - 1]))
    if isinstance(value, float):
        return draw(st.sampled_from([value * 2, -value, value + 1e-9, float(int(value)) + 0.5]))
    if isinstance(value, str):
        if not value:
            return "x"
        i = draw(st.integers(0, len(value) - 1))
        return value[:i] + ("0" if value[i] != "0" else "1") + value[i + 1:]
    if isinstance(value, list):
        return value + value[-1:] if value else [0]
    if isinstance(value, dict):
        return {**value, "zz_extra": 1}
    return 1


def mutate_json(doc: Any, draw, nodes: list[tuple]) -> str:
    """Apply one drawn operation at one drawn node of doc (in place); describe it."""
    path = draw(st.sampled_from(nodes))
    op = draw(st.sampled_from(OPS))
    if not path:
        op = "wrong-type"
    where = ".".join(map(str, path)) or "<root>"
    parent = _get(doc, path[:-1]) if path else None
    key = path[-1] if path else None
    value = _get(doc, path)
    if op == "replace":
        new: Any = draw(st.one_of(st.integers(-3, 3), st.text(max_size=4), st.booleans(), st.just([]), st.just({})))
    elif op == "tweak":
        new = _tweak(value, draw)
    elif op == "null":
        new = None
    elif op == "wrong-type":
        new = [value] if not isinstance(value, list) else {"0": value}
    elif op == "duplicate":
        new = value + value if isinstance(value, (list, str)) else _tweak(value, draw)
    elif op == "reverse":
        new = value[::-1] if isinstance(value, (list, str)) else dict(reversed(list(value.items()))) if isinstance(value, dict) else _tweak(value, draw)
    else:  # delete
        if isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, list):
            parent.pop(key)
        return f"delete {where}"
    if parent is None:
        return f"{op} <root> -> {json.dumps(new)[:40]}"
    parent[key] = new
    return f"{op} {where} -> {json.dumps(new)[:40]}"


def _listed(folder: Path) -> list[str]:
    return sorted(json.loads((folder / MANIFEST).read_text())["files"])


def _proofs(folder: Path) -> list[str]:
    return [n for n in _listed(folder) if n.endswith(".json")]


def _spec_path(path: tuple) -> bool:
    return path[:2] in {("statement", "spec"), ("statement", "aggregation")}


def _manifest_leaf(spec: bool):
    def mutate(data):
        def apply(folder: Path) -> str:
            doc = json.loads((folder / MANIFEST).read_text())
            nodes = [p for p in _nodes(doc) if p and _spec_path(p) == spec]
            # A field first, then a node in it: the many timing leaves under `reported` would crowd out the rest.
            field = data.draw(st.sampled_from(sorted({p[:3] if spec else p[:2] for p in nodes})))
            what = mutate_json(doc, data.draw, [p for p in nodes if p[: len(field)] == field])
            (folder / MANIFEST).write_text(json.dumps(doc))
            return "manifest: " + what
        return apply
    return mutate


def _proof_leaf(rehashed: bool):
    def mutate(data):
        def apply(folder: Path) -> str:
            name = data.draw(st.sampled_from(_proofs(folder)))
            doc = json.loads((folder / name).read_text())
            top = data.draw(st.sampled_from(sorted(doc)))
            what = mutate_json(doc, data.draw, [p for p in _nodes(doc) if p[:1] == (top,)])
            (folder / name).write_text(json.dumps(doc))
            if rehashed:
                rehash(folder)
            return f"{name}: {what}{' (rehashed)' if rehashed else ''}"
        return apply
    return mutate


def _instances(data):
    def apply(folder: Path) -> str:
        name = data.draw(st.sampled_from(_proofs(folder)))
        doc = json.loads((folder / name).read_text())
        column = doc["instances"][0]
        op = data.draw(st.sampled_from(["reorder", "duplicate", "drop", "extra", "second-column", "swap-with-other"]))
        i = data.draw(st.integers(0, len(column) - 1))
        if op == "reorder":
            j = (i + 1 + data.draw(st.integers(0, len(column) - 2))) % len(column)
            column[i], column[j] = column[j], column[i]
            if column[i] == column[j]:
                column[i] = "00" * 32
        elif op == "duplicate":
            column.insert(i, column[i])
        elif op == "drop":
            column.pop(i)
        elif op == "extra":
            column.append("01" + "00" * 31)
        elif op == "second-column":
            doc["instances"].append(list(column))
        else:
            column[i] = "02" + "00" * 31 if column[i] != "02" + "00" * 31 else "03" + "00" * 31
        (folder / name).write_text(json.dumps(doc))
        rehash(folder)
        return f"{name}: instances {op} at {i} (rehashed)"
    return apply


def _bytes(data):
    def apply(folder: Path) -> str:
        name = data.draw(st.sampled_from(_listed(folder)))
        raw = bytearray((folder / name).read_bytes())
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[at] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            raw[at:at] = bytes([data.draw(st.integers(0, 255))])
        else:
            del raw[at]
        (folder / name).write_bytes(bytes(raw))
        rehashed = data.draw(st.booleans())
        if rehashed:
            rehash(folder)
        return f"{name}: {op} byte {at}{' (rehashed)' if rehashed else ''}"
    return apply


def _truncate(data):
    def apply(folder: Path) -> str:
        name = data.draw(st.sampled_from([MANIFEST, *_listed(folder)]))
        raw = (folder / name).read_bytes()
        keep = data.draw(st.integers(0, len(raw) - 1))
        (folder / name).write_bytes(raw[:keep])
        rehashed = name != MANIFEST and data.draw(st.booleans())
        if rehashed:
            rehash(folder)
        return f"{name}: truncated to {keep} of {len(raw)} bytes{' (rehashed)' if rehashed else ''}"
    return apply


def _huge(data):
    def apply(folder: Path) -> str:
        name = data.draw(st.sampled_from([MANIFEST, *_listed(folder)]))
        limit = MAX_MANIFEST_BYTES if name == MANIFEST else MAX_PROOF_BYTES
        with open(folder / name, "r+b") as fh:  # sparse: cheap to write, but the verifier must not parse it
            fh.truncate(limit + 1 + data.draw(st.integers(0, 1 << 20)))
        if name != MANIFEST:
            rehash(folder)
        return f"{name}: padded with zeros past {limit} bytes"
    return apply


def _files(data):
    def apply(folder: Path) -> str:
        listed = _listed(folder)
        doc = json.loads((folder / MANIFEST).read_text())
        op = data.draw(st.sampled_from(["drop", "drop-listed", "extra-unlisted", "extra-listed", "reorder", "duplicate", "srs-listed"]))
        name = data.draw(st.sampled_from(listed))
        if op == "drop":
            (folder / name).unlink()
        elif op == "drop-listed":
            (folder / name).unlink()
            del doc["files"][name]
            (folder / MANIFEST).write_text(json.dumps(doc))
        elif op == "extra-unlisted":
            (folder / "notes.txt").write_text("not part of the certificate")
        elif op == "extra-listed":
            extra = data.draw(st.sampled_from(["notes.txt", "shard-0099.proof.json", "aggregate.vk.key", "proof.json"]))
            if extra in doc["files"]:
                extra = "notes.txt"
            shutil.copyfile(folder / name, folder / extra)
            doc["files"][extra] = ""
            (folder / MANIFEST).write_text(json.dumps(doc))
            rehash(folder)
            name = extra
        elif op == "srs-listed":
            (folder / SRS_FILE).write_bytes(b"not an srs")
            doc["files"][SRS_FILE] = ""
            (folder / MANIFEST).write_text(json.dumps(doc))
            rehash(folder)
        elif op == "reorder":
            other = data.draw(st.sampled_from([n for n in listed if n != name] or [name]))
            tmp = folder / ".swap"
            (folder / name).rename(tmp), (folder / other).rename(folder / name), tmp.rename(folder / other)
            rehash(folder)
            name = f"{name}<->{other}"
        else:  # duplicate one listed file over another
            other = data.draw(st.sampled_from([n for n in listed if n != name] or [name]))
            shutil.copyfile(folder / name, folder / other)
            rehash(folder)
            name = f"{name}->{other}"
        return f"files: {op} {name}"
    return apply


def _symlink(data):
    def apply(folder: Path) -> str:
        name = data.draw(st.sampled_from([MANIFEST, *_listed(folder)]))
        target = folder.parent / f"outside-{name}"
        identical = data.draw(st.booleans())
        if identical:
            shutil.copyfile(folder / name, target)
        else:
            others = [n for n in _listed(folder) if n != name] or [name]
            shutil.copyfile(folder / data.draw(st.sampled_from(others)), target)
        (folder / name).unlink()
        (folder / name).symlink_to(target)
        return f"{name}: symbolic link to {'an identical' if identical else 'another'} file outside the folder"
    return apply


SCHEMAS = [("schema",), ("statement", "schema"), ("statement", "spec", "schema"), ("statement", "aggregation", "schema")]


def _schema(data):
    def apply(folder: Path) -> str:
        doc = json.loads((folder / MANIFEST).read_text())
        path = data.draw(st.sampled_from([p for p in SCHEMAS if _has(doc, p)]))
        old = _get(doc, path)
        new = data.draw(st.sampled_from([old.replace("/v1", "/v2"), old.replace("/v1", "/v0"), old.split("/")[0], "", "zkcert-certificate/v1"]))
        if new == old:
            new = old + "x"
        _get(doc, path[:-1])[path[-1]] = new
        (folder / MANIFEST).write_text(json.dumps(doc))
        return f"{'.'.join(path)}: {old!r} -> {new!r}"
    return apply


def _has(doc: Any, path: tuple) -> bool:
    try:
        _get(doc, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


# (mutation class, strategy, examples per kind). ezkl verification (~1 s a proof, three for a sharded
# certificate) is reached only by mutations that keep the files' hashes right, so the rehashed classes
# get fewer examples. Spec mutations that still parse make the verifier compile a new circuit and key
# (about 10 s each), so they get the fewest.
CLASSES: dict[str, tuple[Callable, dict[str, int]]] = {
    "manifest-leaf": (_manifest_leaf(spec=False), {"single": 30, "sharded": 20, "spot": 20}),
    # Each spec leaf that still parses costs a key rebuilt from the changed spec (about 10-25 s): few examples here,
    # more with ZKCERT_FUZZ_SCALE (the spot check's spec goes through the single proof's steps).
    "manifest-spec-leaf": (_manifest_leaf(spec=True), {"single": 3, "sharded": 4, "spot": 2}),
    "proof-leaf": (_proof_leaf(rehashed=False), {"single": 8, "sharded": 6, "spot": 6}),
    "proof-leaf-rehashed": (_proof_leaf(rehashed=True), {"single": 20, "sharded": 12, "spot": 12}),
    "instances": (_instances, {"single": 10, "sharded": 8, "spot": 8}),
    "file-bytes": (_bytes, {"single": 16, "sharded": 12, "spot": 12}),
    "truncated": (_truncate, {"single": 8, "sharded": 6, "spot": 6}),
    "huge": (_huge, {"single": 4, "sharded": 4, "spot": 4}),
    "files": (_files, {"single": 14, "sharded": 14, "spot": 12}),
    "symlink": (_symlink, {"single": 6, "sharded": 4, "spot": 4}),
    "schema": (_schema, {"single": 5, "sharded": 5, "spot": 5}),
}


def _case(kind: str, cls: str):
    strategy, counts = CLASSES[cls]

    @_fuzz(counts[kind])
    @given(data=st.data())
    def run(certs, data):
        honest, kwargs = certs[kind]
        check_mutation(kind, cls, honest, kwargs, strategy(data))

    return run


@pytest.mark.parametrize("cls", sorted(CLASSES))
@pytest.mark.parametrize("kind", KINDS)
def test_mutated_certificate_is_rejected_by_a_named_check(kind, cls, certs):
    _case(kind, cls)(certs)


def test_oracle_sees_bound_and_unbound_changes(honest_cert, tmp_path):
    """The oracle itself: a reported timing is unbound, a commitment is bound, an unlisted file is ignored."""
    honest = honest_cert[0]
    shutil.copytree(honest, tmp_path / "c")
    folder = tmp_path / "c"
    doc = json.loads((folder / MANIFEST).read_text())
    doc["reported"]["steps"][0]["seconds"] = 99.0
    (folder / MANIFEST).write_text(json.dumps(doc))
    (folder / "notes.txt").write_text("x")
    assert bound_changes(honest, folder) == []
    doc["statement"]["nonce"] = "other"
    (folder / MANIFEST).write_text(json.dumps(doc))
    assert bound_changes(honest, folder) == ["manifest statement.nonce"]


# ---- the golden set: tampered certificates and the verifier's exact answer ---------------------------------

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.json").is_file())


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_rejected_certificate(case, tmp_path, capsys):
    """`zkcert verify --json` on each golden case gives exactly expected.json (tests/golden/make_golden.py made them).

    ZKCERT_UPDATE_GOLDEN=1 rewrites expected.json; review the diff.
    """
    from zkcert.cli import main

    folder = tmp_path / "cert"
    shutil.copytree(GOLDEN / case, folder)
    argv = json.loads((folder / "case.json").read_text())["argv"]
    argv = [str(folder / a) if a.endswith(".srs") else a for a in argv]
    code = main(["verify", str(folder), *argv, "--json"])
    out = json.loads(capsys.readouterr().out)
    got = {**out, "error": out["error"].replace(str(folder), "<cert>")}
    assert got["exit_code"] == code and code != 0
    expected = GOLDEN / case / "expected.json"
    if os.environ.get("ZKCERT_UPDATE_GOLDEN"):
        expected.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(expected.read_text())
