"""Standard statement specs and pinned verifying-key fingerprints, shipped inside the wheel as zkcert.circuits."""
