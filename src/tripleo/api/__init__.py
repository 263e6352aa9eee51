"""The undercloud's OpenStack APIs (DESIGN.md section 10): Identity v3 tokens, Heat's Orchestration API v1
and Ironic's Bare Metal API v1, a thin edge over the public API the CLI uses.

Public API::

    serve(ServeOptions(heat_port=8006, noauth=False, backend="real"), provisioner=...)
    app, jobs = build_app(options)        # the ASGI app (one per process), e.g. for an in-process server
"""

from __future__ import annotations

from tripleo.api.keystone import admin_password, password_file
from tripleo.api.server import ServeOptions, build_app, listen, serve

__all__ = ["ServeOptions", "admin_password", "build_app", "listen", "password_file", "serve"]
