"""Reading a settings file safely: bounded, plain YAML, and every way it can be wrong as one line with its fix.

A settings file comes from a person (or a pull request), so the loader treats it as hostile input:

- at most :data:`MAX_FILE_BYTES` (1 MiB) of UTF-8 text (a BOM is fine; UTF-16, other encodings and NUL bytes are
  not), from a regular file (not a directory, device or symbolic link loop);
- at most :data:`MAX_DEPTH` levels of nesting and :data:`MAX_VALUES` values once every alias is expanded
  ("billion laughs": nine aliases of nine aliases of ... would otherwise become a billion values in the schema's
  validation), counted while the document is composed, before anything is built from it;
- plain YAML data only: no tags (``!!python/object`` and the like), no lists or mappings used as keys, keys that are
  strings (``1:``, ``null:``, ``true:`` or ``on:`` would be a number, null or a boolean), no duplicate keys (PyYAML
  keeps the last one silently). Merge keys (``<<: *defaults``) work as YAML specifies: a key written next to the
  merge overrides the merged one.

Problems of the document's shape are all reported at once (up to :data:`~emr_platform.spec.validation.MAX_PROBLEMS`
lines), each ``<file>:<line>: <field>: <problem>. Fix: <fix>``.

Example::

    settings, document = load_model(EnvironmentSettings, Path("config/dev.yaml"), start_hint="'environment: dev'")
    document.line(("clusters", "analytics"))  # ':36'
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from emr_platform.spec.errors import SettingsError, clip
from emr_platform.spec.validation import capped, line_of, settings_error

MAX_FILE_BYTES = 1024 * 1024
"""Largest settings file read (1 MiB); the shipped ones are a few kilobytes."""
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings; the schema's own deepest field is about 8 levels down."""
MAX_VALUES = 100_000
"""Most values (scalars, lists and mappings) a document may hold once its aliases are expanded."""

_M = TypeVar("_M", bound=BaseModel)

_TAG = "tag:yaml.org,2002:"
_MERGE, _STR = f"{_TAG}merge", f"{_TAG}str"
_PLAIN_TAGS = frozenset(f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map"))
_KEY_KINDS = {f"{_TAG}int": "a number", f"{_TAG}float": "a number", f"{_TAG}bool": "a boolean", f"{_TAG}null": "null"}
_QUOTE_FIX = "quote it ('{value}': ...), or correct the name"


@dataclass(frozen=True)
class YamlDocument:
    """A settings file as read: where it is shown, its text, its composed nodes (for line numbers) and its data.

    :param shown: the file as messages name it (relative to the working directory when below it).
    :param text: the file's text.
    :param root: the composed YAML document; None for an empty file.
    :param data: what the document holds (a mapping for a settings file).
    """

    shown: str
    text: str
    root: yaml.Node | None
    data: Any

    def line(self, loc: tuple[Any, ...]) -> str:
        """``:N``, the line of the field at ``loc`` (the deepest part of it that exists), or ``""``."""
        return line_of(self.root, loc)


def display(path: Path) -> str:
    """``path`` as messages show it: relative to the working directory when below it (symbolic links kept)."""
    absolute = Path(os.path.abspath(path))  # not resolve(): a symbolic link loop would raise RuntimeError
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_model(model: type[_M], path: Path, *, start_hint: str) -> tuple[_M, YamlDocument]:
    """Read ``path`` (see :func:`load_yaml`) and validate it as ``model``; returns the model and the document.

    :param start_hint: how the file should start, for the message when it is empty or not a mapping.
    :raises SettingsError: the file cannot be read, is not safe plain YAML, or breaks the schema; one line per
        problem, each naming the file, line, field, value and fix.
    """
    document = load_yaml(path)
    if document.data is None:
        raise SettingsError(
            where=document.shown,
            problem="the file is empty (no settings, only blank lines or comments)",
            show_value=False,
            fix=f"start with {start_hint} and the other top-level fields",
        )
    if not isinstance(document.data, dict):
        raise SettingsError(
            where=f"{document.shown}{document.line(())}",
            problem="the file must be a mapping of settings",
            value=document.data,
            fix=f"start with {start_hint} and the other top-level fields",
        )
    try:
        return model.model_validate(document.data), document
    except ValidationError as error:
        raise settings_error(error, file=document.shown, node=document.root) from None


def load_yaml(path: Path) -> YamlDocument:
    """Read ``path`` as one plain YAML document, within the module's limits.

    :raises SettingsError: the file cannot be read, is too large, is not UTF-8, is not YAML, or breaks a rule of
        the module docstring; problems of the document's shape are all listed, one line each.
    """
    shown = display(path)
    text = read_text(path, shown=shown)
    root, data = parse(text, shown=shown)
    return YamlDocument(shown=shown, text=text, root=root, data=data)


def read_text(path: Path, *, shown: str) -> str:
    """The text of the regular file ``path``: at most :data:`MAX_FILE_BYTES`, UTF-8 (with or without a BOM).

    :raises SettingsError: the file is missing, a directory, a device or pipe, a symbolic link loop, unreadable,
        too large, not UTF-8, or holds NUL bytes.
    """
    try:
        info = os.stat(path)  # follows symbolic links: a loop is ELOOP, a dangling link ENOENT
        if stat.S_ISDIR(info.st_mode):
            raise _refused(shown, "is a directory, not a settings file", "remove the directory or rename it")
        if not stat.S_ISREG(info.st_mode):
            raise _refused(shown, "is not a regular file (a device, pipe or socket)", "make it a plain YAML file")
        if info.st_size > MAX_FILE_BYTES:
            raise _too_large(shown, info.st_size)
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
    except OSError as error:
        raise _unreadable(path, shown, error) from None
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large(shown, len(raw))
    return _decoded(raw, shown)


def _too_large(shown: str, size: int) -> SettingsError:
    return _refused(
        shown,
        f"the file has {size} bytes, more than the {MAX_FILE_BYTES // 1024 // 1024} MiB a settings file may have",
        "check that this is the settings file (a settings file is a few kilobytes); split a very large "
        "environment into several",
    )


def _unreadable(path: Path, shown: str, error: OSError) -> SettingsError:
    if error.errno == errno.ELOOP:
        return _refused(
            shown,
            "is a symbolic link that leads back to itself (a loop)",
            f"point the link at a real settings file, or replace it with the file (rm {shown})",
        )
    if error.errno == errno.ENOENT and path.is_symlink():
        target = clip(os.readlink(path), 80)
        return _refused(shown, f"is a symbolic link to {target}, which does not exist", "fix or remove the link")
    if error.errno == errno.ENOENT:
        return _refused(shown, "does not exist", f"create {shown}")
    if error.errno in (errno.EACCES, errno.EPERM):
        return _refused(shown, "cannot be read (permission denied)", f"make it readable, e.g. chmod u+r {shown}")
    if error.errno == errno.EISDIR:
        return _refused(shown, "is a directory, not a settings file", "remove the directory or rename it")
    return _refused(shown, f"cannot be read ({error.strerror or error})", "make it a readable plain YAML file")


_UTF16_32 = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_SAVE_AS_UTF8 = "save it as UTF-8 (most editors: 'Save with encoding' or 'Reopen with encoding', then UTF-8)"


def _decoded(raw: bytes, shown: str) -> str:
    for bom, encoding in _UTF16_32:
        if raw.startswith(bom):
            _fail(shown, 1, f"the file is {encoding} text, not UTF-8", _SAVE_AS_UTF8)
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        _fail(shown, line, "the file holds a NUL byte (binary data, or UTF-16 text)", _SAVE_AS_UTF8)
    try:
        return raw.decode("utf-8-sig")  # a UTF-8 byte order mark is harmless: drop it
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        byte = raw[error.start]
        problem = f"the file is not UTF-8 text (byte 0x{byte:02x}; Latin-1 or Windows-1252 perhaps)"
        _fail(shown, line, problem, _SAVE_AS_UTF8)


def parse(text: str, *, shown: str) -> tuple[yaml.Node | None, Any]:
    """Compose ``text`` as one YAML document within the limits, check its shape, then build its data.

    :returns: the composed document (None when empty) and its data.
    :raises SettingsError: not YAML, over a limit, or (all listed) tags, complex, non-string or duplicate keys.
    """
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        root = loader.get_single_node()
        if loader.problems:
            lines = [f"{shown}:{line}: {problem}" for line, problem in sorted(loader.problems, key=lambda p: p[0])]
            error = SettingsError(where=shown, problem=lines[0], show_value=False, fix="see the lines")
            error.args = ("\n".join(capped(lines, where=shown)),)
            raise error
        data = loader.construct_document(root) if root is not None else None
    except _RefusedError as refused:
        _fail(shown, refused.line, refused.problem, refused.fix)
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "\0")
        what = f"the control character U+{code:04X}"
        _fail(
            shown, line, f"{what} is not allowed in YAML", "remove it (write a tab or newline as \\t or \\n in quotes)"
        )
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # PyYAML's context ("while parsing a block mapping") is half of the sentence its problem ends.
        problem = clip(", ".join(part for part in (error.context, error.problem) if part) or "unreadable", 160)
        fix = "indent with spaces: YAML does not allow tabs there" if "'\\t'" in problem else "correct the YAML syntax"
        _fail(shown, mark.line + 1 if mark else None, f"not valid YAML: {problem}", fix)
    except yaml.YAMLError as error:  # no other kinds exist today; still one line if one appears
        _fail(shown, None, f"not valid YAML: {clip(str(error).splitlines()[0], 160)}", "correct the YAML syntax")
    finally:
        if loader is not None:
            loader.dispose()
    return root, data


def _fail(shown: str, line: int | None, problem: str, fix: str) -> NoReturn:
    raise _refused(f"{shown}:{line}" if line else shown, problem, fix)


def _refused(where: str, problem: str, fix: str) -> SettingsError:
    return SettingsError(where=where, problem=problem, show_value=False, fix=fix)


class _RefusedError(Exception):
    """A limit was crossed while composing: stop at once (going on is what the limit prevents)."""

    def __init__(self, mark: Any, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.line: int | None = mark.line + 1 if mark is not None else None
        self.problem = problem
        self.fix = fix


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting depth and expanded values while composing and collecting shape problems.

    Timestamps are not resolved (``2024-01-01`` stays a string, as in YAML 1.2): no setting is a date, and an
    impossible date such as ``2024-13-45`` would otherwise end in a Python error.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.path: list[Any] = []
        self.sizes: dict[int, int] = {}  # id(node) -> values below it, aliases expanded; only finished nodes
        self.problems: list[tuple[int, str]] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node (an alias is the node it names), within the depth and size limits."""
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if node is not None and id(node) not in self.sizes:
                raise _RefusedError(
                    mark, "an alias is used inside the value it names (a recursive structure)", _NO_LOOP
                )
            return node
        part = _part(parent, index)
        self.depth += 1
        if part is not None:
            self.path.append(part)
        try:
            if self.depth > MAX_DEPTH:
                raise _RefusedError(mark, f"nested more than {MAX_DEPTH} levels deep", _FLATTER)
            node = super().compose_node(parent, index)
            if node is not None:
                self._check(node)
        finally:
            self.depth -= 1
            if part is not None:
                self.path.pop()
        return node

    def _check(self, node: yaml.Node) -> None:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
            self._check_keys(node)
        size = 1 + sum(self.sizes[id(child)] for child in children)
        if size > MAX_VALUES:
            raise _RefusedError(
                node.start_mark,
                f"the document expands to more than {MAX_VALUES} values (each use of an alias counts its values again)",
                "use fewer aliases (a settings file needs a few thousand values at most)",
            )
        self.sizes[id(node)] = size
        if node.tag == f"{_TAG}value":  # PyYAML reads a bare '=' as YAML 1.1's value key, then cannot build it
            self._problem(node, "a bare = is YAML's 'value' indicator, not a value", "quote it: '='")
        elif node.tag not in _PLAIN_TAGS and node.tag != _MERGE:
            tag = node.tag.replace(_TAG, "!!")
            self._problem(
                node,
                f"the YAML tag {clip(tag, 60)} is not allowed in a settings file",
                "remove the tag: plain values only",
            )

    def _check_keys(self, node: yaml.MappingNode) -> None:
        seen: dict[str, int] = {}  # key -> the line it is first written on
        for key, _ in node.value:
            if key.tag == _MERGE:
                continue  # the merged keys may be overridden by the explicit ones
            if not isinstance(key, yaml.ScalarNode):
                self._problem(
                    key, "a list or mapping is used as a key", "use a plain name as the key (no '? [a, b]' or '[a]:')"
                )
            elif key.tag != _STR:
                if key.tag in _KEY_KINDS:
                    shown = key.value or "null"
                    problem = f"the key {clip(shown, 40)} is {_KEY_KINDS[key.tag]} in YAML, not a name"
                    self._problem(key, problem, _QUOTE_FIX.format(value=clip(shown, 40)))
            elif key.value in seen:
                self._problem(
                    key,
                    f"duplicate key {clip(repr(key.value), 60)}: the second one would silently win",
                    f"keep one of them (the first is on line {seen[key.value]})",
                )
            else:
                seen[key.value] = key.start_mark.line + 1

    def _problem(self, node: yaml.Node, problem: str, fix: str) -> None:
        field = _field(self.path)
        self.problems.append((node.start_mark.line + 1, f"{field}{problem}. Fix: {fix}"))

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one value; a scalar Python cannot hold (an integer of 5,000 digits) is a YAML error at its line."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as error:
            raise _RefusedError(
                node.start_mark,
                f"the value cannot be read ({clip(str(error).split(':')[0], 80)})",
                "write a value in the setting's range, or quote it if it is text",
            ) from None


# Timestamps are not resolved (see _Loader); assigned here, as PyYAML's resolvers do, to keep the base's type.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != f"{_TAG}timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_NO_LOOP = "anchor a value that does not contain the alias"
_FLATTER = "flatten the structure (a settings file needs a handful of levels)"


def _part(parent: yaml.Node | None, index: Any) -> Any:
    """The field name or list index a node is composed at; None for the document itself and for mapping keys."""
    if isinstance(parent, yaml.SequenceNode):
        return index
    if isinstance(parent, yaml.MappingNode) and isinstance(index, yaml.ScalarNode):
        return clip(str(index.value), 40)
    return None


def _field(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return f"{clip(out, 120)}: " if out else ""
