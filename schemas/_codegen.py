"""Python source of one generated enum or record class, from its Avro definition (used by schemas.generate)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas._schemawalk import Schema, full_name, resolve, type_name

# records whose class is written by hand elsewhere: full Avro name -> (module, class)
EXTERNAL = {"drive.deadletter.FieldError": ("schemas.errors", "FieldError")}
# hand-written behaviour mixed into a generated record: full Avro name -> (module, mixin class)
MIXINS = {"drive.common.PersonId": ("schemas.record", "PersonIdKey")}
_PRIMITIVES = {"string": "str", "boolean": "bool", "int": "int", "long": "int", "float": "float", "double": "float",
               "bytes": "bytes"}
Expr = Callable[[str], str]


def _same(source: str) -> str:
    return source


@dataclass
class Imports:
    """Names a generated module needs, by module."""

    names: dict[str, set[str]] = field(default_factory=dict)

    def add(self, module: str, name: str) -> str:
        """Note that `name` comes from `module`; returns the name."""
        self.names.setdefault(module, set()).add(name)
        return name


@dataclass(frozen=True)
class FieldCode:
    """How one field is typed and converted: annotation, default, datum -> value (required/optional), value -> datum."""

    annotation: str
    default: str | None
    read: Expr
    write: Expr
    read_optional: Expr


class Namer:
    """Where each named type's class lives: full Avro name -> (module, class name)."""

    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = modules  # full name -> module path, e.g. schemas.generated.common

    def ref(self, name: str, here: str, imports: Imports) -> str:
        """The class name of a named type, imported into module `here` when it lives elsewhere."""
        module, cls = EXTERNAL.get(name) or (self.modules[name], name.rsplit(".", 1)[1])
        if module != here:
            imports.add(module, cls)
        return cls


def field_code(node: Any, namespace: str | None, names: dict, namer: Namer, here: str, imports: Imports) -> FieldCode:
    """The FieldCode of an Avro field type (a nullable union, array, record, enum, logical or primitive type)."""
    node, namespace = resolve(node, namespace, names)
    kind = type_name(node)

    def call(helper: str, *args: str) -> Expr:
        return lambda s: f"{imports.add('schemas.record', helper)}({', '.join((*args, s))})"

    if kind == "union":
        (branch,) = [b for b in node if b != "null"]
        inner = field_code(branch, namespace, names, namer, here, imports)
        write = inner.write if inner.write("x") == "x" else (lambda a: f"None if {a} is None else {inner.write(a)}")
        return FieldCode(f"{inner.annotation} | None", "None", inner.read_optional, write, inner.read_optional)
    if isinstance(node, dict) and node.get("logicalType") in ("timestamp-millis", "date"):
        python, helper = ("datetime", "utc") if node["logicalType"] == "timestamp-millis" else ("date", "day")
        imports.add("datetime", python)
        return FieldCode(python, None, call(helper), _same, call(f"{helper}_or_none"))
    if kind == "array":
        item = field_code(node["items"], namespace, names, namer, here, imports)
        read = ((lambda s: f"tuple({s} or ())") if item.read("x") == "x"
                else (lambda s: f"tuple([{item.read('x')} for x in {s} or ()])"))
        write = (lambda a: f"list({a})") if item.write("x") == "x" else (lambda a: f"[{item.write('x')} for x in {a}]")
        return FieldCode(f"tuple[{item.annotation}, ...]", "()", read, write, read)
    if kind == "enum":
        cls = namer.ref(full_name(node["name"], namespace), here, imports)
        return FieldCode(cls, None, call("member", cls), lambda a: f"str({a})", call("member_or_none", cls))
    if kind == "record":
        name = full_name(node["name"], namespace)
        cls = namer.ref(name, here, imports)
        if name in EXTERNAL:
            body = ", ".join(f'"{f["name"]}": {{a}}.{f["name"]}' for f in node["fields"])
            read_external: Expr = lambda s: f"_{cls.lower()}({s})"  # noqa: E731
            return FieldCode(cls, None, read_external, lambda a: "{" + body.replace("{a}", a) + "}",
                             lambda s: f"None if ({s}) is None else _{cls.lower()}({s})")
        return FieldCode(cls, None, call("nested", cls), lambda a: f"{a}.to_datum()", call("nested_or_none", cls))
    return FieldCode(_PRIMITIVES[kind], None, _same, _same, _same)


def enum_source(definition: Schema) -> list[str]:
    """The StrEnum class of an Avro enum."""
    name = definition["name"]
    lines = ["", "", f"class {name}(StrEnum):", f'    """{definition["doc"]}"""', ""]
    lines += [f'    {symbol} = "{symbol}"' for symbol in definition["symbols"]]
    return lines


def record_source(definition: Schema, name: str, codes: list[tuple[str, FieldCode]], imports: Imports) -> list[str]:
    """The frozen dataclass of an Avro record, with straight-line from_datum and to_datum."""
    cls = definition["name"]
    bases = "Record"
    if name in MIXINS:
        module, mixin = MIXINS[name]
        bases = f"{imports.add(module, mixin)}, Record"
    imports.add("schemas.record", "Record")
    lines = ["", "", "@dataclass(frozen=True, slots=True, kw_only=True)", f"class {cls}({bases}):",
             f'    """{definition["doc"]}"""', ""]
    lines += [f"    {f}: {c.annotation}" + (f" = {c.default}" if c.default else "") for f, c in codes]
    lines += ["", "    @classmethod", f"    def from_datum(cls, datum: dict[str, Any]) -> {cls}:",
              f"        get, record = datum.get, {imports.add('schemas.record', 'blank')}(cls)"]
    lines += [f"        _{cls}_{f}(record, {c.read(f'get({chr(34)}{f}{chr(34)})')})" for f, c in codes]
    lines += ["        return record", "", "    def to_datum(self) -> dict[str, Any]:"]
    lines += pack("        return {", [f'"{f}": {c.write(f"self.{f}")}' for f, c in codes], "}")
    setters, call = [f"_{cls}_{f}" for f, _ in codes], f"{imports.add('schemas.record', 'slot_setters')}({cls})"
    single = f"{', '.join(setters)}{',' if len(setters) == 1 else ''} = {call}"
    lines += ["", "", *([single] if len(single) <= 120 else pack("(", setters, f") = {call}"))]
    return lines


def pack(opening: str, items: list[str], closing: str, width: int = 120) -> list[str]:
    """`opening` items, comma-separated, `closing`: on one line if it fits, else items packed on indented lines."""
    single = f"{opening}{', '.join(items)}{closing}"
    if len(single) <= width:
        return [single]
    indent = " " * (len(opening) - len(opening.lstrip()) + 4)
    lines, line = [opening], indent
    for item in items:
        piece = f"{item},"
        if line.strip() and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = indent
        line = f"{line} {piece}" if line.strip() else f"{line}{piece}"
    lines.append(line)
    lines.append(" " * (len(indent) - 4) + closing)
    return lines


def external_reader(name: str, definition: Schema, namer: Namer, here: str, imports: Imports) -> list[str]:
    """A converter function for a hand-written record class used by generated records (e.g. FieldError)."""
    cls = namer.ref(name, here, imports)
    args = ", ".join(f'{f["name"]}=value.get("{f["name"]}")' for f in definition["fields"])
    return ["", "", f"def _{cls.lower()}(value: Any) -> {cls}:",
            f"    return value if isinstance(value, {cls}) else {cls}({args})"]
