"""The one registry mechanism: every stage a recipe names (source, generator, verifier, backend) is looked up here.

A `Registry` maps names to stages of one kind. A stage is registered either directly (an object,
or a decorator on one) or lazily as a `"package.module:attr"` string, imported the first time
that name is used: a recipe can name the `hf` backend without `import tracegen` importing torch.
Modules that register their stages by decorator when imported are listed in `modules=` and
imported (by name) before the first lookup or registration, so `names()` is always complete and a
user's stage registered under a built-in name replaces it.

An unknown name is bad input: `get` raises `InputError` naming the recipe key and the known names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from pydantic import AfterValidator

from tracegen.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Stages of one kind by name. `kind` is what an error calls one ("source"); `key` the recipe key that names it."""

    def __init__(self, kind: str, key: str, *, builtins: dict[str, str] | None = None, modules: tuple[str, ...] = ()):
        """`builtins`: lazy stages by name ("package.module:attr"); `modules`: modules that register stages when
        imported, imported before the first lookup or registration."""
        self.kind, self.key = kind, key
        self._modules = list(modules)
        self._entries: dict[str, T | str] = dict(builtins or {})

    def register(self, name: str, stage: T | str | None = None) -> Callable[[T], T] | None:
        """`register(name, stage)`, `register(name, "pkg.module:attr")` (imported when first used),
        or `@register(name)` on a class or function. A later registration of a name replaces the earlier
        (the built-in `modules` are imported first, so a user's stage can replace a built-in one)."""
        if stage is None:

            def decorate(target: T) -> T:
                self.register(name, target)
                return target

            return decorate
        if isinstance(stage, str) and ":" not in stage:
            raise ValueError(f"a lazy {self.kind} is 'package.module:attr', not {stage!r}")
        self._load_modules()
        self._entries[name] = stage
        return None

    def unregister(self, name: str) -> None:
        self._load_modules()
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The stage registered as `name`; `InputError` naming the recipe key and the known names when none is."""
        self.check(name)
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attr)
        return entry

    def check(self, name: str) -> str:
        """`name` when it is registered (nothing is imported but the `modules`); else `InputError`."""
        if name not in self:
            raise InputError(self.unknown(name), field=self.key)
        return name

    def unknown(self, name: str) -> str:
        return f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})"

    def validator(self) -> AfterValidator:
        """For a pydantic field holding one name: an unregistered one fails validation, naming the known ones
        (the field's location and the value itself are the validation error's to say)."""

        def registered(name: str) -> str:
            if name not in self:
                raise ValueError(f"unknown {self.kind} (known: {', '.join(self.names())})")
            return name

        return AfterValidator(registered)

    def entries(self, names: Iterable[str]) -> dict[str, T | str]:
        """The registrations of `names` as they stand (lazy ones not imported), for another process's `update`."""
        self._load_modules()
        return {name: self._entries[name] for name in names if name in self._entries}

    def update(self, entries: dict[str, T | str]) -> None:
        """Registers every entry (after the built-in modules, so that an entry replacing a built-in stays)."""
        self._load_modules()
        self._entries.update(entries)

    def names(self) -> list[str]:
        self._load_modules()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_modules()
        return name in self._entries

    def _load_modules(self) -> None:
        while self._modules:
            importlib.import_module(self._modules.pop(0))
