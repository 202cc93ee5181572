"""Commands loaded when they are used, so one command imports only what it needs.

A command module imports SQLModel, and the ones that run flows import Prefect when they do. With
every module loaded up front, `ihub --help` paid for all of them. Here the group knows each lazy
command by its name and the line `ihub --help` shows, and imports the module only when the
command is invoked (or its own help asked for).
"""

from __future__ import annotations

from importlib import import_module

import typer
from typer.core import TyperCommand, TyperGroup


class _Unloaded(TyperCommand):
    """What the group's help lists for a command not loaded yet: its name and summary."""

    def __init__(self, name: str, target: str, summary: str) -> None:
        super().__init__(name, help=summary)
        self.target = target

    def load(self) -> TyperCommand | TyperGroup:
        module, attribute = self.target.split(":")
        found = getattr(import_module(module), attribute)
        if isinstance(found, typer.Typer):
            command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)
            single.command(self.name)(found)
            command = typer.main.get_command(single)
        command.name = self.name
        return command


def _unloaded(table: dict[str, tuple[str, str]]) -> dict[str, _Unloaded]:
    return {name: _Unloaded(name, target, summary) for name, (target, summary) in table.items()}


def lazy_group(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> type[TyperGroup]:
    """A group class (for `typer.Typer(cls=...)`) listing the commands `before` and `after` its own.

    Each maps a command's name to `"module:attribute"` (a function or a `typer.Typer`) and the
    summary shown in the group's help.
    """

    class LazyGroup(TyperGroup):
        def __init__(self, *, commands: dict | None = None, **attrs) -> None:
            super().__init__(commands={**_unloaded(before), **(commands or {}), **_unloaded(after)}, **attrs)

        def resolve_command(self, ctx: typer.Context, args: list[str]):
            name, command, rest = super().resolve_command(ctx, args)
            if isinstance(command, _Unloaded):
                command = self.commands[name] = command.load()
            return name, command, rest

    return LazyGroup
