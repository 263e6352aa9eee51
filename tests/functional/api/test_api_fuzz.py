"""Property test of the undercloud API (issue 22): random JSON bodies, query strings and headers (values
with bytes that are not UTF-8 among them), with a valid token, none or a wrong one, at every route of the
three services as their apps' route tables list them. Every answer is below 500, and a 4xx is in the
service's own error body; after all of them the server's log holds no traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote, urlencode

import pytest
from badkit import Corpus, corpus_server, error_message, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from tripleo.api.heat import CREATE_FIELDS, UPDATE_FIELDS, VALIDATE_FIELDS, HeatContext, heat_app
from tripleo.api.ironic import MAINTENANCE_FIELDS, POWER_FIELDS, PROVISION_FIELDS, IronicContext, ironic_app
from tripleo.api.keystone import TokenStore, keystone_app

EXAMPLES = 25  # per route and method: ~50 of them, the whole module in well under a minute
WRITES = {"POST", "PUT", "PATCH"}
FIELDS = sorted(
    {*CREATE_FIELDS, *UPDATE_FIELDS, *VALIDATE_FIELDS, *POWER_FIELDS, *PROVISION_FIELDS, *MAINTENANCE_FIELDS}
    | {"auth", "identity", "scope"}
)
QUERY_KEYS = ["limit", "marker", "sort_dir", "nested_depth", "fields", "resolve_outputs", "stack_name",
              "type", "resource_status", "maintenance", "provision_state", "address", "node"]  # fmt: skip
HEADERS = ["X-Auth-Token", "X-Subject-Token", "X-OpenStack-Ironic-API-Version", "OpenStack-API-Version",
           "Content-Type", "Accept", "User-Agent", "X-OpenStack-Request-Id"]  # fmt: skip


def _routes() -> list[tuple[str, str, str]]:
    """(service, method, path template) of every route, from the apps' own route tables."""
    apps = {
        "heat": heat_app(cast(HeatContext, None)),  # the routes are made without touching the context
        "ironic": ironic_app(cast(IronicContext, None)),
        "keystone": keystone_app(TokenStore("unused", [])),
    }
    out = []
    for service, app in apps.items():
        for route in app.routes:
            assert isinstance(route, Route)
            for method in sorted((route.methods or set()) - {"HEAD"}):
                out.append((service, method, route.path))
    return out


ROUTES = _routes()

# -- strategies ----------------------------------------------------------------------------------------

URL_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# now and then an unpaired surrogate or a control character (JSON can carry both)
ANY_TEXT = URL_TEXT | URL_TEXT | URL_TEXT | st.text(st.characters(exclude_categories=[]), max_size=12)
LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | ANY_TEXT
    | st.sampled_from(["wallaby", "2018-08-31", "OS::Heat::RandomString", "power on", "manage", "password"])
)
JSON = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
FILE_KEYS = ANY_TEXT | st.builds(lambda t: "file:///" + t, ANY_TEXT)
TEMPLATES = st.fixed_dictionaries(
    {"heat_template_version": st.sampled_from(["wallaby", "2018-08-31", "2015-04-30"])},
    optional={"resources": JSON, "parameters": JSON, "outputs": JSON, "description": JSON},
) | st.sampled_from(
    [
        "heat_template_version: 2018-08-31\nresources:\n  r: {type: OS::Heat::RandomString}\n",
        "heat_template_version: wallaby\nparameters: {When: {type: string, default: 2018-08-31}}\n",
        "parameter_defaults: {When: 2018-08-31}\n",
    ]
)
ENVIRONMENTS = st.fixed_dictionaries(
    {}, optional={"parameters": JSON, "parameter_defaults": JSON, "resource_registry": JSON}
)
FIELD_VALUE = JSON | TEMPLATES | ENVIRONMENTS | st.dictionaries(FILE_KEYS, ANY_TEXT, max_size=3)
BODY_OBJECT = st.dictionaries(st.sampled_from(FIELDS) | ANY_TEXT, FIELD_VALUE, max_size=5)
HEADER_VALUE = st.binary(max_size=24).map(lambda b: bytes(c for c in b if c == 9 or (c >= 32 and c != 127)))
HEADER_NAME = st.sampled_from(HEADERS[1:]) | st.from_regex(r"X-Fuzz-[A-Za-z0-9]{1,8}", fullmatch=True)


def _typed(types: tuple[type, ...]) -> st.SearchStrategy[Any]:
    """Values of the types a field takes (mostly), so that bodies get past the field checks."""
    options: list[st.SearchStrategy[Any]] = []
    if dict in types:
        options += [TEMPLATES, ENVIRONMENTS, st.dictionaries(FILE_KEYS, ANY_TEXT, max_size=3)]
    if str in types:
        options += [ANY_TEXT, st.sampled_from(["power on", "manage", "provide", "inspect", "deploy"])]
    if list in types:
        options += [st.lists(ANY_TEXT, max_size=3), st.lists(JSON, max_size=3)]
    if bool in types:
        options.append(st.booleans())
    if int in types:
        options.append(st.integers(min_value=-(2**70), max_value=2**70))
    return st.one_of(*options) if options else JSON


TEMPLATE_OK = {"heat_template_version": "wallaby", "resources": {"r": {"type": "OS::Heat::RandomString"}}}


def _fields_of(
    service: str, method: str, path: str
) -> tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]:
    """A valid body of the route (empty: none is read) and what each of its fields may be drawn from."""
    specs = {
        ("heat", "POST", "/v1/{project}/validate"): ({"template": TEMPLATE_OK}, VALIDATE_FIELDS),
        ("heat", "POST", "/v1/{project}/stacks"): (
            {"stack_name": "fz", "template": TEMPLATE_OK},
            CREATE_FIELDS,
        ),
        ("heat", "PUT", "/v1/{project}/stacks/{name}/{sid}"): ({"template": TEMPLATE_OK}, UPDATE_FIELDS),
        ("heat", "PATCH", "/v1/{project}/stacks/{name}/{sid}"): ({}, UPDATE_FIELDS),
        ("ironic", "PUT", "/v1/nodes/{node}/states/power"): ({"target": "power off"}, POWER_FIELDS),
        ("ironic", "PUT", "/v1/nodes/{node}/states/provision"): ({"target": "manage"}, PROVISION_FIELDS),
        ("ironic", "PUT", "/v1/nodes/{node}/maintenance"): ({"reason": "fuzz"}, MAINTENANCE_FIELDS),
    }
    base, spec = specs.get((service, method, path), ({}, {}))
    fields = {name: _typed(types) for name, (types, _) in spec.items()}
    if "stack_name" in fields:
        fields["stack_name"] = st.from_regex(r"fz[a-z0-9-]{0,6}", fullmatch=True) | ANY_TEXT
    if service == "keystone":
        fields["auth"] = AUTH
    return dict(base), fields


USER = st.fixed_dictionaries(
    {}, optional={"name": st.just("admin") | JSON, "id": JSON, "password": ANY_TEXT | JSON, "domain": JSON}
)
AUTH = st.fixed_dictionaries(
    {
        "identity": st.fixed_dictionaries(
            {"methods": st.lists(st.sampled_from(["password", "token", "totp"]), max_size=2) | JSON},
            optional={
                "password": st.fixed_dictionaries({"user": USER | JSON}) | JSON,
                "token": st.fixed_dictionaries({"id": ANY_TEXT | JSON}) | JSON,
            },
        )
        | JSON
    },
    optional={"scope": st.fixed_dictionaries({}, optional={"project": JSON, "domain": JSON}) | JSON},
)


@st.composite
def bodies(draw: st.DrawFn, route: tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]) -> bytes | None:
    """Mostly the route's valid body with a few of its fields drawn (typed values), else any object, any
    JSON or raw bytes."""
    base, fields = route
    kind = draw(st.sampled_from(["fields"] * 8 + ["object", "any", "raw", "none"]))
    if kind == "none":
        return None
    if kind == "raw":
        return draw(st.binary(max_size=64))
    if kind == "fields" and fields:
        value: Any = {**base, **draw(st.fixed_dictionaries({}, optional=fields))}
    else:
        value = draw(BODY_OBJECT if kind == "object" else JSON)
    return json.dumps(value).encode()


def _fill(path: str, method: str, corpus: Corpus, draw: st.DrawFn) -> str:
    """The path with each parameter mostly a known target (the project, the corpus stack and node), now and
    then another or a random name; a DELETE never names the corpus stack, which the other routes need."""
    known = corpus.stack_id if method != "DELETE" else "00000000-0000-4000-8000-000000000000"
    choices: dict[str, list[str]] = {
        "project": ["admin"] * 8 + ["demo"],
        "name": ["corpus"] * 4 + ["nope"],
        "sid": [known] * 4 + ["00000000-0000-4000-8000-000000000000"],
        "resource": ["r"] * 2 + ["nope"],
        "node": [corpus.node] * 3 + ["corpus-node", "nope"],
        "port": ["52:54:00:c0:55:01", "nope"],
        "key": ["nope"],
        "tail": ["", "/x"],
    }
    out = path
    for param, options in choices.items():
        for spelled in (f"{{{param}}}", f"{{{param}:path}}"):
            if spelled in out:
                value = draw(st.sampled_from([*options, None]))  # None: a name of its own
                if value is None:
                    value = draw(URL_TEXT.filter(bool))
                out = out.replace(spelled, quote(value, safe="/" if param == "tail" else ""))
    return out


# -- the test --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    with corpus_server(tmp_path_factory.mktemp("fuzz") / "home", "--max-body", "65536") as running:
        yield running


def _one(corpus: Corpus, service: str, method: str, path: str, draw: st.DrawFn) -> None:
    url = _fill(path, method, corpus, draw)
    if "{" in url:
        raise AssertionError(f"a route parameter of {path} has no value here")
    query = draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS) | URL_TEXT, URL_TEXT), max_size=4))
    if query:
        url += "?" + urlencode(query)
    headers = [
        (name, value) for name, value in draw(st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=4))
    ]
    auth = draw(st.sampled_from(["token"] * 10 + ["none", "bogus"]))
    if auth == "token":
        headers.append(("X-Auth-Token", corpus.token.encode()))
    elif auth == "bogus":
        headers.append(("X-Auth-Token", draw(HEADER_VALUE | st.just(b"gAAAAA-not-a-token"))))
    if any(name == "X-Subject-Token" and value == corpus.token.encode() for name, value in headers):
        return  # a DELETE would revoke the token the rest of the run uses
    base, fields = _fields_of(service, method, path)
    if service == "keystone":  # a valid renewal of the run's token
        base = {"auth": {"identity": {"methods": ["token"], "token": {"id": corpus.token}}}}
    body = draw(bodies((base, fields))) if method in WRITES else None
    reply = send(corpus.port(service), method, url, headers, body)
    shown = (
        f"{method} {url} {headers!r} {body[:300] if body else body!r} -> {reply.status} {reply.body[:400]!r}"
    )
    assert reply.status < 500, shown
    if reply.status >= 400:
        error_message(service, reply)  # the service's own shape, no traceback


@pytest.mark.parametrize(("service", "method", "path"), ROUTES, ids=[f"{s}-{m}-{p}" for s, m, p in ROUTES])
def test_random_requests_are_never_a_500(fuzzed: Corpus, service: str, method: str, path: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        _one(fuzzed, service, method, path, data.draw)

    run()
    assert fuzzed.tracebacks() == 0, fuzzed.log.read_text()[-3000:]


def test_every_service_is_fuzzed() -> None:
    assert {s for s, _, _ in ROUTES} == {"heat", "ironic", "keystone"}
    assert len(ROUTES) >= 40


def test_after_the_run_the_log_has_no_traceback(fuzzed: Corpus) -> None:
    log: Any = fuzzed.log.read_text()
    assert "Traceback" not in log, log[-3000:]
