"""griffe extensions for the API reference: attrs signatures and Sphinx-style roles.

``AttrsInit`` builds the ``__init__`` that ``@attrs.frozen`` / ``@attrs.define`` generate.

griffe reads the source without running it, so an attrs class has no ``__init__`` to show
and its ``Args:`` section names parameters of no signature. This builds the signature attrs
would: every annotated attribute that is not a ``ClassVar`` nor ``init=False``, keyword-only
when the decorator or the field says so, a private ``_name`` taken as ``name`` (or its
``alias=``), with the field's default or ``factory``.

``SphinxRoles`` turns the docstrings' ``:class:`Name``` (``:meth:``, ``:func:``, ``:attr:``,
``:exc:``, ``:mod:``, ``:data:``) into a link to the public name's reference entry, and into
plain code where the name is private (it has no entry to link to). mkdocs.yml loads both.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ATTRS_DECORATORS = {
    f"{module}.{name}"
    for module in ("attrs", "attr")
    for name in ("frozen", "define", "mutable", "s", "attrs")
}
FIELD_CALLS = {"attrs.field", "attr.field", "attr.ib", "attr.attrib"}


def _decorator(cls: griffe.Class) -> griffe.Expr | None:
    for decorator in cls.decorators:
        value = decorator.value
        function = value.function if isinstance(value, griffe.ExprCall) else value
        if isinstance(function, griffe.Expr) and function.canonical_path in ATTRS_DECORATORS:
            return value if isinstance(value, griffe.Expr) else None
    return None


def _arguments(expr: object) -> dict[str, Any]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {
        argument.name: argument.value
        for argument in expr.arguments
        if isinstance(argument, griffe.ExprKeyword)
    }


def _converter_input(member: griffe.Object, converter: object) -> str | griffe.Expr | None:
    """What ``__init__`` takes for a field with a converter: its first parameter's type."""
    if not isinstance(converter, griffe.ExprName):
        return None
    try:
        target = member.modules_collection[converter.canonical_path]
    except (KeyError, ValueError, griffe.AliasResolutionError):
        return None
    if isinstance(target, griffe.Alias):
        target = target.final_target
    if not isinstance(target, griffe.Function):
        return None
    params = [p for p in target.parameters if p.name not in ("self", "cls")]
    return params[0].annotation if params else None


def _parameters(cls: griffe.Class, *, kw_only: bool) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if member.is_alias or not member.is_attribute or member.annotation is None:
            continue
        if "property" in member.labels or (
            "class-attribute" in member.labels and "instance-attribute" not in member.labels
        ):
            continue  # a property or a ClassVar
        field = member.value if isinstance(member.value, griffe.ExprCall) else None
        is_field = field is not None and field.function.canonical_path in FIELD_CALLS
        args = _arguments(field) if is_field else {}
        if str(args.get("init")) == "False":
            continue
        default: str | griffe.Expr | None = member.value
        if is_field:
            if "factory" in args:
                default = griffe.ExprCall(function=args["factory"], arguments=[])
            else:
                default = args.get("default")
        name = str(args["alias"]).strip("'\"") if "alias" in args else member.name.lstrip("_")
        annotation = _converter_input(member, args.get("converter")) or member.annotation
        keyword_only = kw_only or str(args.get("kw_only")) == "True"
        parameters.append(
            griffe.Parameter(
                name,
                annotation=annotation,
                kind=griffe.ParameterKind.keyword_only
                if keyword_only
                else griffe.ParameterKind.positional_or_keyword,
                default=default,
                docstring=member.docstring,
            )
        )
    return parameters


def _set_init(cls: griffe.Class) -> None:
    decorator = _decorator(cls)
    if decorator is None or "__init__" in cls.members:
        return
    parameters: dict[str, griffe.Parameter] = {}
    try:
        mro = list(reversed(cls.mro()))
    except ValueError:
        mro = []
    for parent in [*mro, cls]:
        parent_decorator = _decorator(parent)
        if parent_decorator is not None:
            kw_only = str(_arguments(parent_decorator).get("kw_only")) == "True"
            for parameter in _parameters(parent, kw_only=kw_only):
                parameters[parameter.name] = parameter
    ordered = sorted(parameters.values(), key=lambda p: p.kind is griffe.ParameterKind.keyword_only)
    cls.set_member(
        "__init__",
        griffe.Function(
            "__init__",
            lineno=0,
            endlineno=0,
            parent=cls,
            parameters=griffe.Parameters(
                griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                *ordered,
            ),
            returns="None",
        ),
    )


def _walk(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, griffe.Class):
        _set_init(obj)
    for member in obj.members.values():
        if not member.is_alias and isinstance(member, (griffe.Module, griffe.Class)):
            _walk(member, seen)


class AttrsInit(griffe.Extension):
    """Give every attrs class the ``__init__`` attrs generates for it."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the loaded package once it is complete."""
        del kwargs
        _walk(pkg, set())


ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|exc|mod|data|obj|const):`(~?)([^`]+)`")
ROOT = "ac_segment_export"


def _public_names(pkg: griffe.Module) -> dict[str, str]:
    """Each public name's path in the reference: ``Client`` -> ``ac_segment_export.Client``."""
    names: dict[str, str] = {}
    for module in (pkg, pkg.members.get("testing")):
        if isinstance(module, griffe.Module) and module.exports is not None:
            for name in module.exports:
                names.setdefault(str(name), f"{module.path}.{name}")
    return names


def _owner(obj: griffe.Object) -> griffe.Object | None:
    node: griffe.Object | None = obj
    while node is not None and not isinstance(node, griffe.Class):
        node = node.parent
    return node


def _exists(pkg: griffe.Module, path: str) -> bool:
    """Whether the reference has an entry at ``path``."""
    parts = path.split(".")[1:]
    node: Any = pkg
    for part in parts:
        if part.startswith("_") or part not in node.members:
            return False
        node = node.members[part]
    # the reference shows no member without a docstring (show_if_no_docstring is off)
    return bool(node.is_module or node.is_class or node.docstring)


def _link(
    pkg: griffe.Module, public: dict[str, str], obj: griffe.Object, match: re.Match[str]
) -> str:
    role, short, target = match.groups()
    target = target.removesuffix("()")
    shown = target.rsplit(".", 1)[-1] if short else target
    path = None
    if role == "mod":
        path = target if target in (ROOT, f"{ROOT}.testing") else None
    else:
        bare = target.removeprefix(f"{ROOT}.testing.").removeprefix(f"{ROOT}.")
        head, _, rest = bare.partition(".")
        owner = _owner(obj)
        if head in public:
            path = public[head] + (f".{rest}" if rest else "")
        elif owner is not None and owner.name in public and head in owner.members:
            path = f"{public[owner.name]}.{bare}"
    if path is None or not _exists(pkg, path):
        return f"`{shown}`"
    return f"[`{shown}`][{path}]"


def _rewrite(
    pkg: griffe.Module, public: dict[str, str], obj: griffe.Object, seen: set[int]
) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if obj.docstring is not None and ":" in obj.docstring.value:
        obj.docstring.value = ROLE.sub(lambda m: _link(pkg, public, obj, m), obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _rewrite(pkg, public, member, seen)


class SphinxRoles(griffe.Extension):
    """Turn ``:class:`Name``` roles into reference links (or code, for private names)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite every docstring of the package once it is loaded."""
        del kwargs
        if pkg.name == ROOT:
            _rewrite(pkg, _public_names(pkg), pkg, set())
