"""Cloud-free OS::Heat types: None, Value, RandomString, TestResource."""

from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

from tripleo.engine.state import ActionContext, Outcome
from tripleo.resources.base import PluginBase

__all__ = ["NoneResource", "RandomString", "TestResource", "Value"]


class NoneResource(PluginBase):
    """OS::Heat::None: accepts any properties, does nothing, always updates in place."""

    pure = True

    type_name = "OS::Heat::None"


class Value(PluginBase):
    """OS::Heat::Value: ``value`` (coerced by ``type``) as its ``value`` attribute."""

    pure = True

    type_name = "OS::Heat::Value"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        value = props.get("value")
        kind = props.get("type")
        if kind == "number" and isinstance(value, str):
            value = float(value) if "." in value else int(value)
        elif kind == "json" and isinstance(value, str):
            value = json.loads(value)
        elif kind == "string" and value is not None and not isinstance(value, str):
            value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        elif kind == "boolean" and isinstance(value, str):
            value = value.lower() in ("true", "t", "yes", "y", "on", "1")
        return Outcome({"value": value})


_CLASSES = {
    "lettersdigits": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "lowercase": string.ascii_lowercase,
    "uppercase": string.ascii_uppercase,
    "digits": string.digits,
    "hexdigits": string.digits + "abcdef",
    "octdigits": string.octdigits,
}


class RandomString(PluginBase):
    """OS::Heat::RandomString: a secret of ``length`` from character classes (any change replaces it)."""

    type_name = "OS::Heat::RandomString"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        length = int(props.get("length") or 32)
        pools: list[tuple[str, int]] = []
        for item in props.get("character_classes") or []:
            pools.append((_CLASSES.get(item.get("class", "lettersdigits"), _CLASSES["lettersdigits"]), 0))
            pools[-1] = (pools[-1][0], int(item.get("min", 1)))
        for item in props.get("character_sequences") or []:
            pools.append((str(item.get("sequence", "")), int(item.get("min", 1))))
        if props.get("sequence"):
            pools.append((_CLASSES.get(props["sequence"], _CLASSES["lettersdigits"]), 0))
        if not pools:
            pools = [(_CLASSES["lettersdigits"], 0)]
        chars = [secrets.choice(pool) for pool, minimum in pools for _ in range(minimum)]
        alphabet = "".join(pool for pool, _ in pools)
        chars += [secrets.choice(alphabet) for _ in range(max(0, length - len(chars)))]
        secrets.SystemRandom().shuffle(chars)
        return Outcome({"value": "".join(chars)})


class TestResource(PluginBase):
    """OS::Heat::TestResource: echoes ``value`` as ``output``; can wait, fail or force a replace."""

    type_name = "OS::Heat::TestResource"

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        wait = float(props.get("wait_secs") or 0)
        if wait:
            time.sleep(wait)
        if props.get("fail"):
            raise RuntimeError(f"TestResource {ctx.name} was asked to fail")
        return Outcome({"output": props.get("value")})
