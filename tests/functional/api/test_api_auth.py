"""Acceptance 2: Keystone tokens for the admin (password in a 0600 file), 401 and nothing else for a wrong
password or token, and ``OS_AUTH_TYPE=none`` with ``OS_ENDPOINT`` against a ``--noauth`` server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests
from apikit import Undercloud, serve_process


def _password_body(password: str) -> dict[str, object]:
    user = {"name": "admin", "domain": {"name": "Default"}, "password": password}
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}}


def test_token_issue_catalog_and_password_file(undercloud: Undercloud) -> None:
    path = undercloud.home / "undercloud-admin-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    issued = undercloud.openstack_json("token", "issue")
    assert issued["project_id"] == "admin" and issued["id"]

    reply = requests.post(
        f"{undercloud.auth_url}/auth/tokens", json=_password_body(undercloud.password), timeout=10
    )
    assert reply.status_code == 201
    catalog = {s["type"]: s["endpoints"][0]["url"] for s in reply.json()["token"]["catalog"]}
    assert catalog["orchestration"] == undercloud.heat_url
    assert catalog["baremetal"] == undercloud.ironic_url
    token = reply.headers["X-Subject-Token"]
    check = requests.get(
        f"{undercloud.auth_url}/auth/tokens",
        timeout=10,
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
    )
    assert check.status_code == 200 and check.json()["token"]["user"]["name"] == "admin"
    assert requests.get(f"{undercloud.heat_url}/stacks", headers={"X-Auth-Token": token}, timeout=10).ok


def test_wrong_password_or_token_is_401_and_nothing_else(undercloud: Undercloud, heat_shaped: Path) -> None:
    refused = undercloud.openstack("stack", "list", password="not-the-password", code=1)
    assert "HTTP 401" in refused.stderr

    reply = requests.post(f"{undercloud.auth_url}/auth/tokens", json=_password_body("wrong"), timeout=10)
    assert reply.status_code == 401 and "X-Subject-Token" not in reply.headers
    assert reply.json()["error"]["code"] == 401

    bogus = {"X-Auth-Token": "gAAAAA-not-a-token"}
    template = {"heat_template_version": "wallaby", "resources": {}}
    create = requests.post(
        f"{undercloud.heat_url}/stacks",
        headers=bogus,
        timeout=10,
        json={"stack_name": "intruder", "template": template},
    )
    assert create.status_code == 401
    body = create.json()
    assert (body["code"], body["title"], body["error"]["type"]) == (401, "Unauthorized", "Unauthorized")
    for url in (f"{undercloud.heat_url}/stacks", f"{undercloud.ironic_url}/v1/nodes"):
        assert requests.get(url, timeout=10).status_code == 401  # no token at all
        assert requests.get(url, headers=bogus, timeout=10).status_code == 401
    ironic = requests.put(
        f"{undercloud.ironic_url}/v1/nodes/x/states/power",
        headers=bogus,
        timeout=10,
        json={"target": "power on"},
    )
    assert ironic.status_code == 401 and "faultstring" in json.loads(ironic.json()["error_message"])
    assert "intruder" not in undercloud.tripleo("stack", "list", "-f", "value", "-c", "name").stdout


def test_noauth_as_ephemeral_heat(tmp_path: Path, heat_shaped: Path) -> None:
    with serve_process(tmp_path / "home", "--noauth", "--backend", "noop") as cloud:
        cloud.openstack(
            "stack",
            "create",
            "--wait",
            "--poll",
            "1",
            "-t",
            str(heat_shaped / "overcloud.yaml"),
            "-e",
            str(heat_shaped / "env.yaml"),
            "--parameter",
            "ComputeCount=1",
            "eph",
            endpoint=cloud.heat_url,
        )
        listed = cloud.openstack_json("stack", "list", endpoint=cloud.heat_url)
        assert [(s["Stack Name"], s["Stack Status"]) for s in listed] == [("eph", "CREATE_COMPLETE")]
        cli = cloud.tripleo("stack", "list", "-f", "json").stdout
        assert json.loads(cli)[0]["name"] == "eph"
        assert cloud.openstack_json("baremetal", "node", "list", endpoint=cloud.ironic_url) == []
        password = cloud.password
    logged = "".join(cloud.log)
    assert "Serving identity" in logged and password not in logged


@pytest.mark.parametrize("ident", ["wrong-user", "admin"])
def test_keystone_refuses_other_users_and_bad_bodies(undercloud: Undercloud, ident: str) -> None:
    body = _password_body(undercloud.password if ident == "wrong-user" else "x")
    body["auth"]["identity"]["password"]["user"]["name"] = ident  # type: ignore[index]
    reply = requests.post(f"{undercloud.auth_url}/auth/tokens", json=body, timeout=10)
    assert reply.status_code == 401
    malformed = requests.post(f"{undercloud.auth_url}/auth/tokens", data=b"{nope", timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == 400
