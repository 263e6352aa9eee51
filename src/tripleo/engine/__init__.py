"""Heat-compatible orchestration engine (pure: no I/O but reading template files)."""
