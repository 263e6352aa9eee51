"""Command-line interface: parse arguments, call the public API, format the result."""
