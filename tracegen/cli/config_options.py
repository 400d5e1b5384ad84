"""A command whose options are a config dataclass's fields: names, types, defaults and help (field metadata).

So a setting is declared once, in its config (tracegen.train.config), and the command line cannot drift from it.
typer reads a command's parameters from `inspect.signature`, which honours `__signature__`: the command is one
function taking keyword arguments, with a signature built from the fields.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, get_args, get_origin

import typer


def _parameter(field: dataclasses.Field, kind, panel: str | None) -> inspect.Parameter:
    metadata = {"rich_help_panel": panel, **field.metadata}
    help_text = metadata.pop("help", None)
    make = typer.Argument if metadata.pop("argument", False) else typer.Option
    default = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
    if get_origin(kind) is tuple:  # tuple[str, ...]: a repeatable option (typer reads a tuple as fixed-length)
        kind, default = list[get_args(kind)[0]] | None, None
    option = Annotated[kind, make(help=help_text, **metadata)]
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option)


def config_command(config: type, run: Callable[[typing.Any], None], *, name: str, help: str) -> Callable[..., None]:
    """A function for `typer.command()` whose parameters are `config`'s fields; it calls `run(config(**options))`.

    The fields a config adds to its base (the base's come first, being declared first) are shown in a panel of
    their own in `--help`, so the method's options stand together."""
    kinds = typing.get_type_hints(config)
    fields = dataclasses.fields(config)
    base = config.__mro__[1]
    shared = {f.name for f in dataclasses.fields(base)} if dataclasses.is_dataclass(base) else set(kinds)
    panel = f"{name} options"
    repeatable = [f.name for f in fields if get_origin(kinds[f.name]) is tuple]

    def command(**options) -> None:
        for key in repeatable:
            options[key] = tuple(options[key] or ())
        run(config(**options))

    parameters = [_parameter(f, kinds[f.name], None if f.name in shared else panel) for f in fields]
    command.__signature__ = inspect.Signature(parameters)
    command.__name__ = command.__qualname__ = name
    command.__doc__ = help
    return command
