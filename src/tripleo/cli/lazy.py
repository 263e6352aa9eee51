"""A click group whose sub-commands are imported only when used (start-up stays fast: the bare-metal
drivers and the database layer are not loaded for ``stack validate``)."""

from __future__ import annotations

import importlib
import importlib.util

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """``lazy`` maps a command name to ``(module, attribute)``; an attribute of ``register`` means the
    module's ``register(group)`` adds its commands (several families share one group)."""

    def __init__(
        self, *args: object, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [name for name, (module, _) in self.lazy.items() if importlib.util.find_spec(module)]
        return sorted(set(super().list_commands(ctx)) | set(available))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name]
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                return None
            if attr == "register":
                module.register(self)
            else:
                self.add_command(getattr(module, attr), cmd_name)
        return super().get_command(ctx, cmd_name)
