"""Griffe extension: render the Sphinx roles of the package's docstrings as cross-references.

The docstrings are numpy style with Sphinx roles (``:func:`default_store```,
``:class:`~defectnet_atomate.schemas.DefectPhononDoc```), which mkdocstrings would show
verbatim. This extension rewrites each role into an *optional* mkdocs-autorefs reference:
a link where the target is rendered somewhere in the site, plain code otherwise (so a role
to an object outside the API reference never fails the strict build). Relative names are
resolved the way Sphinx does: in the enclosing class, then in the module.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

import griffe

if TYPE_CHECKING:
    from collections.abc import Iterator

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|attr|data|const|mod|obj|exc|type):`(?P<target>[^`]+)`"
)


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


def _exists(collection: Any, path: str) -> str | None:
    """Return the canonical path of ``path`` if the loaded modules hold it."""
    try:
        found = collection[path]
        return found.canonical_path
    except Exception:  # unknown, or an alias that does not resolve: no link
        return None


def _resolve(obj: griffe.Object, name: str, collection: Any) -> str:
    if name.startswith("."):  # relative module, e.g. :mod:`.dos` in a package
        package = obj if obj.is_module else obj.module
        name = name.lstrip(".")
        return _exists(collection, f"{package.path}.{name}") or f"{package.path}.{name}"
    scope: griffe.Object | None = obj
    while scope is not None:
        if (scope.is_class or scope.is_module) and (
            path := _exists(collection, f"{scope.path}.{name}")
        ):
            return path
        scope = scope.parent
    return _exists(collection, name) or name


def _rewrite(obj: griffe.Object, text: str, collection: Any) -> str:
    def replace(match: re.Match) -> str:
        target = match["target"].strip()
        if target.startswith("!"):
            return f"`{target[1:]}`"
        short = target.startswith("~")
        target = target.lstrip("~")
        title = target.rsplit(".", 1)[-1] if short else target
        identifier = _resolve(obj, target, collection)
        return (
            f'<autoref identifier="{escape(identifier)}" optional>'
            f"<code>{escape(title)}</code></autoref>"
        )

    return _ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Turn ``:func:`x``` and friends into optional cross-references."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite every docstring of the package once it is fully loaded."""
        for obj in _objects(pkg):
            docstring = obj.docstring
            if docstring is None or ":`" not in docstring.value:
                continue
            docstring.value = _rewrite(obj, docstring.value, loader.modules_collection)
            docstring.__dict__.pop("parsed", None)  # drop a parse made before the rewrite
