"""The held-out claim "heldout/v1": the committed model classifies at least A of a verifier-issued challenge correctly.

The order (shared/PROTOCOL.md, "Claims"): the owner publishes C_theta (`zkcert commit`); only then does the
verifier issue a challenge (Challenge.issue, `zkcert challenge new`: M labeled samples of its own, or drawn from a
public pool by a fresh nonce); the owner proves (HeldoutJob, run by zkcert.prove(..., claims=[job]) beside the
sharpness proofs); the verifier checks the claim against the copy it kept (zkcert.verify(..., claims={HELDOUT:
challenge}), checks in verifier.CHECKS). A challenge issued before C_theta was published proves nothing: a model
trained on it would pass.

Each proof covers a block of the challenge (one proof when it fits) and reveals its correct count and summed loss;
they are about public samples, so a block's count says how the model does on that block, no more. The verifier
sums them and checks correct >= A. The circuit: zkcert.circuit.heldout.
"""

from .challenge import CHALLENGE_SCHEMA, Challenge, FloatReference, float_reference
from .prover import HeldoutJob
from .statement import HELDOUT, HELDOUT_SCHEMA, HeldoutStatement
from .verifier import CHECKS, CLAIM

__all__ = ["HELDOUT", "HELDOUT_SCHEMA", "CHALLENGE_SCHEMA", "CHECKS", "CLAIM", "Challenge", "FloatReference", "HeldoutJob",
           "HeldoutStatement", "float_reference"]
