"""Debian as the undercloud builds from it: its apt sources, what a built root leaves out, package names.

Both of the undercloud's mmdebstrap builds use these: the container images (:mod:`tripleo.config.images`) and
the lab's machine image (:mod:`tripleo.lab.machine`). ``mirror()`` is the undercloud's own deb822 sources
file when it has one (so the builds see the packages and versions the undercloud does), else Debian's
mirror; ``mirror_text()`` is what a build's digest covers of it.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["DOC_EXCLUDES", "PACKAGE_NAME", "mirror", "mirror_text"]

_HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
_DEFAULT_MIRROR = "http://deb.debian.org/debian"
# documentation a built root does without (dpkg's path-exclude patterns)
DOC_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")
# Debian policy's package names: lower case letters, digits, + - . ; two characters at least
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def mirror() -> str:
    """The apt sources a build uses: the undercloud's own sources file, else Debian's mirror."""
    return str(_HOST_SOURCES) if _HOST_SOURCES.is_file() else _DEFAULT_MIRROR


def mirror_text() -> str:
    """What :func:`mirror` names, as a digest sees it: the sources file's text, or the mirror's URL."""
    name = mirror()
    return Path(name).read_text() if name.startswith("/") else name
