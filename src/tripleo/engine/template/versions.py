"""heat_template_version -> the function table of that version, and the parser that uses it.

Each version is a table name -> Function class, as Heat's ``HOTemplate*`` classes are. A single-key mapping
whose key is in the table is a call; a key that names a function of *another* version (or one the version
removed) is an error naming this version; any other mapping is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tripleo.engine.functions import ArgError, FnDict, FnList, Function, params, resources, strings, yaqlfn
from tripleo.engine.functions import collections as coll
from tripleo.engine.functions import conditions as cond
from tripleo.errors import TemplateError

__all__ = ["VERSIONS", "Version", "get_version"]

FnTable = dict[str, type[Function]]

_CFN_2013: FnTable = {
    "Fn::GetAZs": coll.GetAZs,
    "Ref": params.Ref,
    "Fn::Select": coll.Select,
    "Fn::Join": strings.CfnJoin,
    "Fn::Split": strings.CfnSplit,
    "Fn::Replace": strings.CfnReplace,
    "Fn::Base64": strings.Base64,
    "Fn::MemberListToMap": coll.MemberListToMap,
    "Fn::ResourceFacade": params.CfnResourceFacade,
}
_V20130523: FnTable = {
    "get_param": params.GetParam,
    "get_resource": resources.GetResource,
    "get_attr": resources.GetAttThenSelect,
    "list_join": strings.Join,
    "str_replace": strings.Replace,
    "resource_facade": params.ResourceFacade,
    "get_file": params.GetFile,
    **_CFN_2013,
}
_V20141016: FnTable = {
    "get_param": params.GetParam,
    "get_resource": resources.GetResource,
    "get_attr": resources.GetAtt,
    "list_join": strings.Join,
    "str_replace": strings.Replace,
    "resource_facade": params.ResourceFacade,
    "get_file": params.GetFile,
    "Fn::Select": coll.Select,
}
_V20150430: FnTable = {**_V20141016, "digest": strings.Digest, "repeat": coll.Repeat}
_V20151015: FnTable = {
    **{k: v for k, v in _V20150430.items() if k != "Fn::Select"},
    "get_attr": resources.GetAttAllAttributes,
    "list_join": strings.JoinMultiple,
    "str_replace": strings.ReplaceJson,
    "str_split": strings.StrSplit,
}
_V20160408: FnTable = {**_V20151015, "map_merge": coll.MapMerge}
_CONDITIONS_NEWTON: FnTable = {
    "get_param": params.GetParam,
    "equals": cond.Equals,
    "not": cond.Not,
    "and": cond.And,
    "or": cond.Or,
}
_V20161014: FnTable = {
    **_V20160408,
    "repeat": coll.RepeatWithMap,
    "yaql": yaqlfn.Yaql,
    "map_replace": coll.MapReplace,
    "if": cond.If,
}
_V20170224: FnTable = {**_V20161014, "filter": coll.Filter, "str_replace_strict": strings.ReplaceStrict}
_CONDITIONS_PIKE: FnTable = {**_CONDITIONS_NEWTON, "yaql": yaqlfn.Yaql, "contains": coll.Contains}
_V20170901: FnTable = {
    **_V20170224,
    "repeat": coll.RepeatWithNestedLoop,
    "make_url": strings.MakeURL,
    "list_concat": coll.ListConcat,
    "list_concat_unique": coll.ListConcatUnique,
    "contains": coll.Contains,
    "str_replace_vstrict": strings.ReplaceVStrict,
}
_V20210416: FnTable = {**_V20170901, "if": cond.IfNullable}


@dataclass(frozen=True)
class Version:
    """One heat_template_version: its canonical date, function tables and template sections."""

    name: str
    functions: FnTable
    condition_functions: FnTable = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # a pickled template (the parse cache) refers to the one Version of its name
        return _by_name, (self.name,)

    @property
    def has_conditions(self) -> bool:
        return bool(self.condition_functions)

    @property
    def sections(self) -> frozenset[str]:
        base = {"heat_template_version", "description", "parameter_groups", "parameters", "resources"}
        base.add("outputs")
        if self.has_conditions:
            base.add("conditions")
        return frozenset(base)

    def parse(self, node: Any, path: str, file: str, *, conditions: bool = False) -> Any:
        """Parse raw YAML data into data + functions; errors name ``file`` and the dotted path."""
        table = self.condition_functions if conditions else self.functions
        return _parse(node, path, file, self, table, conditions)


def _parse(node: Any, path: str, file: str, version: Version, table: FnTable, in_cond: bool) -> Any:
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, value),) = node.items()
            if isinstance(key, str):
                here = f"{path}.{key}" if path else key
                cls = table.get(key)
                if cls is None and key in ALL_FUNCTIONS:
                    _unsupported(key, here, file, version, in_cond)
                if cls is not None:
                    if cls.macro and isinstance(value, list) and value and isinstance(value[0], dict):
                        # if: the condition is parsed with the condition functions
                        first = _parse(
                            value[0], f"{here}.0", file, version, version.condition_functions, True
                        )
                        rest = [
                            _parse(v, f"{here}.{i}", file, version, table, in_cond)
                            for i, v in enumerate(value[1:], 1)
                        ]
                        args: Any = FnList([first, *rest])
                    else:
                        args = _parse(value, here, file, version, table, in_cond)
                    try:
                        return cls(key, args, here)
                    except ArgError as exc:
                        raise TemplateError(str(exc), file=file, path=here) from None
        out: dict[Any, Any] = {}
        dynamic = False
        for key, value in node.items():
            parsed = _parse(value, f"{path}.{key}" if path else str(key), file, version, table, in_cond)
            out[key] = parsed
            dynamic = dynamic or parsed is not value
        return FnDict(out) if dynamic else node
    if isinstance(node, list):
        items = [_parse(v, f"{path}.{i}", file, version, table, in_cond) for i, v in enumerate(node)]
        if any(new is not old for new, old in zip(items, node, strict=True)):
            return FnList(items)
        return node
    return node


def _unsupported(key: str, path: str, file: str, version: Version, in_cond: bool) -> None:
    if in_cond and key in version.functions:
        message = f'function "{key}" is not allowed in conditions (heat_template_version {version.name})'
    elif not in_cond and key in version.condition_functions:
        message = f'function "{key}" is only allowed in conditions (heat_template_version {version.name})'
    else:
        message = f'function "{key}" is not supported in heat_template_version {version.name}'
    raise TemplateError(message, file=file, path=path)


_TABLE: list[tuple[tuple[str, ...], FnTable, FnTable]] = [
    (("2013-05-23",), _V20130523, {}),
    (("2014-10-16",), _V20141016, {}),
    (("2015-04-30",), _V20150430, {}),
    (("2015-10-15",), _V20151015, {}),
    (("2016-04-08",), _V20160408, {}),
    (("2016-10-14", "newton"), _V20161014, _CONDITIONS_NEWTON),
    (("2017-02-24", "ocata"), _V20170224, _CONDITIONS_NEWTON),
    (("2017-09-01", "pike"), _V20170901, _CONDITIONS_PIKE),
    (("2018-03-02", "queens"), _V20170901, _CONDITIONS_PIKE),
    (("2018-08-31", "rocky"), _V20170901, _CONDITIONS_PIKE),
    (("2021-04-16", "wallaby"), _V20210416, _CONDITIONS_PIKE),
]

VERSIONS: dict[str, Version] = {}
for _names, _fns, _conds in _TABLE:
    _version = Version(_names[0], _fns, _conds)
    for _name in _names:
        VERSIONS[_name] = _version

ALL_FUNCTIONS: frozenset[str] = frozenset(name for _, fns, conds in _TABLE for name in [*fns, *conds])


def get_version(value: Any, file: str) -> Version:
    """The Version for a heat_template_version value, or a TemplateError listing the known ones."""
    key = str(value) if value is not None else None
    if key is None:
        raise TemplateError("heat_template_version is missing", file=file)
    version = VERSIONS.get(key)
    if version is None:
        known = ", ".join(sorted(VERSIONS))
        raise TemplateError(
            f'unknown heat_template_version "{key}" (known: {known})', file=file, path="heat_template_version"
        )
    return version


def _by_name(name: str) -> Version:
    return VERSIONS[name]
