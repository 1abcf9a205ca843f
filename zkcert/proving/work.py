"""The private work folder of a run: salts and finished shard proofs, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .._internal.io import atomic_write_json, read_json
from ..certificate import shard_proof_name
from ..commitments import ShardSalts
from ..errors import InputError
from ..owner import Plan
from .executor import ShardOutcome

__all__ = ["WorkFolder"]


class WorkFolder:
    """Salts, the plan's commitments and each finished shard, written atomically as they happen."""

    def __init__(self, path: Path):
        # Created only when the plan is saved: a run that fails its input checks leaves no folder behind.
        self.path = path

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.path.chmod(0o700)  # it holds the salts, which must stay private

    def salts(self) -> ShardSalts | None:
        """The salts of an earlier run in this folder, if any."""
        f = self.path / "salts.json"
        return ShardSalts.from_json(read_json(f, what="salts")) if f.is_file() else None

    def save_plan(self, plan: Plan) -> None:
        """Record salts and commitments; refuse a folder that belongs to another run."""
        self._create()
        c = plan.committed
        atomic_write_json(self.path / "salts.json", c.salts.to_json(), private=True)
        record = {"data_commitment": c.data_commitment, "model_commitment": c.model_commitment, "nonce": plan.nonce}
        f = self.path / "plan.json"
        if f.is_file() and read_json(f, what="plan") != record:
            raise InputError(f"{self.path} holds the work of another statement (different data, model or nonce); use a fresh --work folder")
        atomic_write_json(f, record)

    def finished(self, index: int, spec_digest: str) -> ShardOutcome | None:
        """A shard proved by an earlier run for the same circuit, if any."""
        f = self.path / f"shard-{index:04d}.json"
        if not f.is_file():
            return None
        obj = read_json(f, what="shard record")
        if obj.get("spec") != spec_digest:
            return None
        return ShardOutcome(index, obj["proof"], obj["outputs"], obj["seconds"], obj["peak_rss_mb"], obj["node"])

    def record(self, outcome: ShardOutcome, spec_digest: str) -> Path:
        """Write a finished shard atomically; returns its proof file."""
        atomic_write_json(self.path / f"shard-{outcome.index:04d}.json", {"spec": spec_digest, **dataclasses.asdict(outcome)})
        atomic_write_json(self.proof(outcome.index), outcome.proof)
        return self.proof(outcome.index)

    def proof(self, index: int) -> Path:
        """Where shard `index`'s proof is kept."""
        return self.path / shard_proof_name(index)
