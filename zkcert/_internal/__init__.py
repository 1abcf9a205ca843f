"""zkcert's private plumbing: the ezkl adapter, file IO, step profiling and the artefact cache."""
