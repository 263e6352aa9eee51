"""Intrinsic functions: one module per family, each class with check / result / dependencies."""

from tripleo.engine.functions.base import (
    ArgError,
    Context,
    FnDict,
    FnList,
    Function,
    dependencies_of,
    resolve,
)

__all__ = ["ArgError", "Context", "FnDict", "FnList", "Function", "dependencies_of", "resolve"]
