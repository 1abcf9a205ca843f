"""What the owner publishes before the nonce exists, and the private half kept beside it: the commit folder.

`zkcert commit` writes a folder: commitments.json (public: C_D, C_theta and, for shards, the shard
commitments), salts.json (private) and, under kzg/v1, spec.json (the calibrated circuit the commitments
were made with: a KZG point depends on the circuit's key). prove reuses the salts and the spec, and refuses
a model, data or salts that commit to anything else, so the certificate is about what was published before
the verifier issued its nonce (shared/PROTOCOL.md, "The committed direction").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._internal.io import atomic_write_json, read_json
from .commitments import Commitments, Salts, ShardSalts, shard_root
from .errors import InputError
from .spec import CircuitSpec, load_spec

__all__ = ["PUBLISHED_SCHEMA", "COMMITMENTS_FILE", "SALTS_FILE", "SPEC_FILE", "Published", "published_json", "read_published"]

# The file `zkcert commit` writes for the owner to publish before proving: everything a verifier needs
# besides the nonce it issues (and the SRS it trusts).
PUBLISHED_SCHEMA = "zkcert-commitments/v1"
COMMITMENTS_FILE, SALTS_FILE, SPEC_FILE = "commitments.json", "salts.json", "spec.json"


def published_json(data_commitment: str, model_commitment: str, shard_commitments: tuple[str, ...] | list[str] | None = None) -> dict[str, Any]:
    """The published-commitments document: C_D (for shards, the root over shard_commitments) and C_theta."""
    doc: dict[str, Any] = {"schema": PUBLISHED_SCHEMA, "data_commitment": data_commitment, "model_commitment": model_commitment}
    if shard_commitments is not None:
        doc["shard_commitments"] = list(shard_commitments)
    return doc


def _read_document(path: str | Path) -> dict[str, Any]:
    """A published commitments.json, checked: schema, fields, 0x hex, and a listed shard set hashing to the root."""
    doc = read_json(path, what="published commitments file")
    if not isinstance(doc, dict):
        raise InputError(f"{path} is not a published commitments file (expected a JSON object)")
    if doc.get("schema", PUBLISHED_SCHEMA) != PUBLISHED_SCHEMA:
        raise InputError(f"{path} has schema {doc.get('schema')!r}, not {PUBLISHED_SCHEMA!r}; upgrade zkcert")
    unknown = set(doc) - {"schema", "data_commitment", "model_commitment", "shard_commitments"}
    if unknown:
        raise InputError(f"{path} has unknown fields {sorted(unknown)}")
    bad = [k for k in ("data_commitment", "model_commitment") if not isinstance(doc.get(k), str) or not doc[k].startswith("0x")]
    if bad:
        raise InputError(f"{path} lacks a 0x-hex {' and '.join(bad)}")
    shards = doc.get("shard_commitments")
    if shards is not None:
        if not isinstance(shards, list) or not all(isinstance(c, str) and c.startswith("0x") for c in shards):
            raise InputError(f"{path}'s shard_commitments is not a list of 0x-hex commitments")
        try:
            root = shard_root(shards)
        except ValueError:
            raise InputError(f"{path}'s shard_commitments are not hex") from None
        if root != doc["data_commitment"].lower():
            raise InputError(f"{path}'s data_commitment is not the root of its shard_commitments")
    return doc


def read_published(path: str | Path) -> dict[str, str]:
    """The anchors in a published commitments.json, as keyword arguments of `verify`.

    Use: ``zkcert.verify(cert, **read_published("pub/commitments.json"), nonce=issued, srs_path="verifier.srs")``.
    Raises InputError if the file is not one `zkcert commit` writes (a listed shard set must hash to
    the published root). Files written before the schema field existed are read too.
    """
    doc = _read_document(path)
    return {k: doc[k] for k in ("data_commitment", "model_commitment")}


@dataclass(frozen=True)
class Published:
    """A commit folder: the published commitments, the private salts, and (kzg/v1) the circuit they were made with."""

    data_commitment: str
    model_commitment: str
    shard_commitments: tuple[str, ...] | None
    salts: Salts | ShardSalts
    spec: CircuitSpec | None = None

    @property
    def sharded(self) -> bool:
        """Whether the data was committed in shards."""
        return self.shard_commitments is not None

    @property
    def commitments(self) -> Commitments:
        """(C_D, C_theta), as published."""
        return Commitments(self.data_commitment, self.model_commitment)

    def check(self, committed: Any) -> None:
        """The owner's fresh commitments (zkcert.owner.Committed) are the published ones, or an InputError says which differ."""
        shards = committed.shard_commitments if committed.sharded else None
        mine = {"model": committed.model_commitment, "data": committed.data_commitment,
                "shard": tuple(shards) if shards is not None else None}
        theirs = {"model": self.model_commitment.lower(), "data": self.data_commitment.lower(),
                  "shard": tuple(c.lower() for c in self.shard_commitments) if self.shard_commitments is not None else None}
        differ = [k for k in mine if mine[k] != theirs[k]]
        if differ:
            many = len(differ) > 1
            raise InputError(f"the {' and '.join(differ)} commitment{'s' if many else ''} of this model, data and salts "
                             f"{'differ' if many else 'differs'} from the published one{'s' if many else ''}: "
                             "prove the model and data you committed to")

    def save(self, folder: str | Path) -> Path:
        """Write the folder: commitments.json (publish), salts.json (keep private), spec.json (kzg/v1)."""
        folder = Path(folder)
        atomic_write_json(folder / COMMITMENTS_FILE, published_json(self.data_commitment, self.model_commitment, self.shard_commitments))
        atomic_write_json(folder / SALTS_FILE, self.salts.to_json(), private=True)
        if self.spec is not None:
            self.spec.save(folder / SPEC_FILE)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "Published":
        """Read a commit folder; a one-line InputError names what is missing or malformed."""
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"commit folder not found: {folder} (zkcert commit writes it)")
        doc = _read_document(folder / COMMITMENTS_FILE)
        raw = read_json(folder / SALTS_FILE, what="salts file")
        shards = doc.get("shard_commitments")
        salts = ShardSalts.from_json(raw) if shards is not None else Salts.from_json(raw)
        spec = load_spec(folder / SPEC_FILE) if (folder / SPEC_FILE).is_file() else None
        return cls(doc["data_commitment"], doc["model_commitment"], tuple(shards) if shards is not None else None, salts, spec)
