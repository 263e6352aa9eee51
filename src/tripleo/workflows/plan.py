"""The deployment plan: the template tree rendered from roles_data and network_data, and its passwords.

As tripleoclient's plan creation does, a deploy starts by rendering every ``*.j2.yaml`` of the template
tree with Jinja2 (``roles``: roles_data.yaml, ``networks``: network_data.yaml) into the deployment's working
directory, ``$TRIPLEO_HOME/plans/<stack>/templates``:

- ``name.role.j2.yaml`` gives one ``<role>-name.yaml`` per role (``role`` is set), e.g.
  ``common/role.role.j2.yaml`` -> ``common/controller-role.yaml``;
- any other ``name.j2.yaml`` gives ``name.yaml``;
- the NIC templates under ``network/`` and the Puppet modules under ``puppet/`` are copied as they are
  (NIC templates are rendered per node later, by :mod:`tripleo.network`).

The tree is rendered into a scratch directory and renamed into place, so a crash never leaves half a plan.

Passwords: every ``hidden`` string parameter without a default, in any template of the tree, is a secret
the plan generates once per stack (``plans/<stack>/passwords.yaml``, 0600, an environment of
``parameter_defaults``), as tripleoclient generates ``tripleo-<stack>-passwords.yaml``. Values are 32 random
bytes in URL-safe base64 (valid as Fernet keys too) and are never printed.
"""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from tripleo import boundedyaml
from tripleo.config.download import swap_into_place
from tripleo.errors import InputError
from tripleo.storage import stack_paths, write_private_text

__all__ = ["RenderedPlan", "generate_passwords", "load_roles", "render_plan", "source_of"]

_KEEP_AS_IS = ("network", "puppet")  # top directories whose *.j2.yaml are not plan templates
_ROLE_SUFFIX = ".role.j2.yaml"
_J2_SUFFIX = ".j2.yaml"


@dataclass(frozen=True)
class RenderedPlan:
    """A rendered template tree and the files a deploy passes to the engine."""

    directory: Path  # the rendered tree
    source: Path  # the tree it was rendered from
    template: Path  # overcloud.yaml
    registry: Path | None  # overcloud-resource-registry.yaml, when the tree has one
    passwords: Path  # the generated passwords environment
    roles_file: Path
    networks_file: Path


def _read_list(path: Path, what: str) -> list[dict[str, Any]]:
    data = boundedyaml.load_file(path, what)
    if not isinstance(data, list):
        raise InputError(f"{what} must be a list, got {type(data).__name__}", file=str(path))
    for i, entry in enumerate(data):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InputError("expected a mapping with a name", file=str(path), path=str(i))
    return [dict(entry) for entry in data]


def load_roles(path: Path) -> list[dict[str, Any]]:
    """roles_data.yaml as Jinja2 sees it (a list of role mappings, each with a name).

    :raises InputError: unreadable, not a list, or an entry without a name; a service list that is not a
        list of ``OS::TripleO::Services::*`` names.
    """
    roles = _read_list(path, "roles data")
    if not roles:
        raise InputError("roles data must list at least one role", file=str(path))
    for i, role in enumerate(roles):
        services = role.get("ServicesDefault", [])
        if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
            raise InputError(
                f"role {role['name']}: ServicesDefault must be a list of service names",
                file=str(path), path=f"{i}.ServicesDefault",
            )  # fmt: skip
    return roles


def _plan_templates(source: Path) -> Iterator[Path]:
    for path in sorted(source.rglob(f"*{_J2_SUFFIX}")):
        rel = path.relative_to(source)
        if rel.parts[0] not in _KEEP_AS_IS:
            yield rel


def _render_one(env: jinja2.Environment, source: Path, rel: Path, out: Path, context: dict[str, Any]) -> None:
    try:
        template = env.from_string((source / rel).read_text())
        if rel.name.endswith(_ROLE_SUFFIX):
            base = rel.name[: -len(_ROLE_SUFFIX)]
            for role in context["roles"]:
                target = out / rel.parent / f"{str(role['name']).lower()}-{base}.yaml"
                target.write_text(template.render(**context, role=role))
        else:
            (out / rel.parent / f"{rel.name[: -len(_J2_SUFFIX)]}.yaml").write_text(template.render(**context))
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}" if line else None
        raise InputError(f"cannot render: {exc}", file=str(source / rel), path=where) from exc
    (out / rel).unlink()


def render_plan(
    templates: Path,
    stack: str,
    roles_file: Path | None = None,
    networks_file: Path | None = None,
    *,
    plan_dir: Path | None = None,
) -> RenderedPlan:
    """Render ``templates`` for ``stack`` into ``plan_dir`` (default ``$TRIPLEO_HOME/plans/<stack>``; see the
    module docstring) and make sure its passwords exist.

    :raises InputError: unreadable roles or network data, or a template Jinja2 cannot render.
    """
    roles_file = (roles_file or templates / "roles_data.yaml").resolve()
    networks_file = (networks_file or templates / "network_data.yaml").resolve()
    context = {"roles": load_roles(roles_file), "networks": _read_list(networks_file, "network data")}
    plan_dir = plan_dir or stack_paths(stack).plan
    plan_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    out, scratch = plan_dir / "templates", plan_dir / ".templates.new"  # .templates.old: swap_into_place
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        shutil.copytree(templates, scratch, symlinks=False)
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        for rel in _plan_templates(templates):
            _render_one(env, templates, rel, scratch, context)
        swap_into_place(scratch, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    registry = out / "overcloud-resource-registry.yaml"
    passwords = generate_passwords(out, plan_dir / "passwords.yaml")
    return RenderedPlan(
        out, templates.resolve(), out / "overcloud.yaml", registry if registry.exists() else None,
        passwords, roles_file, networks_file,
    )  # fmt: skip


def source_of(plan: RenderedPlan, file: str) -> str:
    """The file of the source tree that ``file`` (of the rendered tree) came from, for error messages."""
    path = Path(file).resolve()
    if not path.is_relative_to(plan.directory.resolve()):
        return file
    rel = path.relative_to(plan.directory.resolve())
    for candidate in (rel, rel.with_name(rel.name.replace(".yaml", ".j2.yaml"))):
        if (plan.source / candidate).exists():
            return str(plan.source / candidate)
    return str(plan.source / rel)


def _secret_names(tree: Path) -> set[str]:
    """Hidden string parameters without a default, in every template of the rendered tree."""
    names: set[str] = set()
    for path in tree.rglob("*.yaml"):
        if path.relative_to(tree).parts[0] in _KEEP_AS_IS:
            continue
        try:
            data = boundedyaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue  # the engine reports bad YAML with its line when it loads the file
        params = data.get("parameters") if isinstance(data, Mapping) else None
        if not isinstance(params, Mapping) or "heat_template_version" not in data:
            continue
        for name, spec in params.items():
            secret = isinstance(spec, Mapping) and spec.get("hidden") is True and "default" not in spec
            if secret and spec.get("type", "string") == "string":
                names.add(str(name))
    return names


def _new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def generate_passwords(tree: Path, path: Path) -> Path:
    """Make sure ``path`` holds a value for every secret of ``tree``; existing values are never changed."""
    existing: dict[str, Any] = {}
    if path.exists():
        data = boundedyaml.safe_load(path.read_text()) or {}
        existing = dict(data.get("parameter_defaults") or {})
    wanted = _secret_names(tree)
    missing = sorted(wanted - set(existing))
    if missing or not path.exists():
        existing.update({name: _new_secret() for name in missing})
        body = yaml.safe_dump({"parameter_defaults": dict(sorted(existing.items()))})
        write_private_text(path, "# generated once per stack by tripleo; never printed\n" + body)
    path.chmod(0o600)
    return path
