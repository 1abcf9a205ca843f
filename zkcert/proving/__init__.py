"""Proving: one pipeline (pipeline.py) for every certificate form, the shard executor, the work folder and the aggregation."""

from .executor import ShardJob, ShardOutcome, default_workers, prove_shard, run_jobs
from .execution import ALL, AUTO, Execution
from .pipeline import ProveResult, check_output_folder, commit_kzg, prove, relative_gap

__all__ = ["prove", "commit_kzg", "Execution", "AUTO", "ALL", "ProveResult", "check_output_folder", "relative_gap", "ShardJob", "ShardOutcome", "prove_shard", "run_jobs", "default_workers"]
