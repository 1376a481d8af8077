"""How the worker reaches an engine: the local child process (local) or a remote engine-serve (remote)."""
