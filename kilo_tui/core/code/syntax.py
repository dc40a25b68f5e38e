"""Source files through tree-sitter: their language, what they define, and chunks.

Three questions, for the tools and the codebase index:

- :func:`language_for` — which grammar reads a file, from its name (``None``: none).
- :func:`definitions` — the classes, functions, methods, types, interfaces, enums,
  structs, traits, impls, modules and namespaces a file defines, each with its kind,
  name, enclosing scope and 1-based line range. One tree-sitter query per language
  (:data:`_QUERIES`) captures ``@definition.<kind>`` on the node and ``@name`` on its
  name; a ``function`` directly inside a class-like definition is reported as a
  ``method``, so the queries stay short.
- :func:`chunks` — the text cut along the syntax tree (whole functions and classes
  where they fit, an oversized node split along its children, tiny neighbours merged,
  nothing over ``max_chars``), or in line windows for a language without a grammar.

The grammars are the tree-sitter project's own compiled wheels; each is loaded on
first use, and parsers are kept per thread (a parser is not safe to share between
threads; the tools parse in worker threads). Nothing here opens a file: callers pass
text they read through the trust boundary.
"""

from __future__ import annotations

import importlib
import posixpath
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser, Query


@dataclass(frozen=True)
class Definition:
    """One definition: ``kind`` (``class``, ``function``, ``method``…), its ``name``,
    the qualified name of what encloses it (``scope``, ``""`` at top level), and its
    lines, 1-based and inclusive."""

    kind: str
    name: str
    start_line: int
    end_line: int
    scope: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(frozen=True)
class Chunk:
    """A piece of a file for the index: lines ``start_line``–``end_line`` (1-based,
    inclusive; one line may be cut into several chunks when it alone is too long), its
    ``text``, and the qualified name of the definition it holds or sits in, if any."""

    start_line: int
    end_line: int
    text: str
    symbol: str | None


# ------------------------------------------------------------------ languages

_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
}
"""Language → (module, function returning the compiled grammar)."""

LANGUAGES = frozenset(_GRAMMARS)

_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys((".py", ".pyi", ".pyw"), "python"),
    **dict.fromkeys((".js", ".jsx", ".mjs", ".cjs"), "javascript"),
    **dict.fromkeys((".ts", ".mts", ".cts"), "typescript"),
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    # Headers are read as C, as Kilo Code does; C++ headers with C++ suffixes as C++.
    **dict.fromkeys((".c", ".h"), "c"),
    **dict.fromkeys((".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++"), "cpp"),
    ".cs": "csharp",
    **dict.fromkeys((".rb", ".rake", ".gemspec"), "ruby"),
    **dict.fromkeys((".php", ".phtml"), "php"),
}

_FILE_NAMES: dict[str, str] = {"Rakefile": "ruby", "Gemfile": "ruby"}


def language_for(path: str) -> str | None:
    """The language of a file, from its name (``None`` when no grammar reads it)."""
    name = posixpath.basename(path.replace("\\", "/"))
    if name in _FILE_NAMES:
        return _FILE_NAMES[name]
    return _EXTENSIONS.get(posixpath.splitext(name)[1].lower())


# -------------------------------------------------------------------- queries

_JS_COMMON = """
(class_declaration name: (_) @name) @definition.class
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(method_definition name: (_) @name) @definition.method
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function
"""

_TS_EXTRA = """
(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(type_alias_declaration name: (_) @name) @definition.type
(enum_declaration name: (_) @name) @definition.enum
(internal_module name: (_) @name) @definition.namespace
(module name: (_) @name) @definition.module
(function_signature name: (_) @name) @definition.function
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
"""

_C_COMMON = """
(function_definition) @definition.function
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.union
(enum_specifier name: (_) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro
"""

_QUERIES: dict[str, str] = {
    "python": """
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
""",
    "javascript": _JS_COMMON,
    "typescript": _JS_COMMON + _TS_EXTRA,
    "tsx": _JS_COMMON + _TS_EXTRA,
    "go": """
(function_declaration name: (identifier) @name) @definition.function
(method_declaration name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
""",
    "rust": """
(struct_item name: (_) @name) @definition.struct
(union_item name: (_) @name) @definition.union
(enum_item name: (_) @name) @definition.enum
(trait_item name: (_) @name) @definition.trait
(impl_item) @definition.impl
(function_item name: (_) @name) @definition.function
(function_signature_item name: (_) @name) @definition.function
(mod_item name: (_) @name) @definition.module
(type_item name: (_) @name) @definition.type
(macro_definition name: (_) @name) @definition.macro
""",
    "java": """
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.record
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.constructor
""",
    "c": _C_COMMON,
    "cpp": _C_COMMON
    + """
(class_specifier name: (_) @name body: (_)) @definition.class
(namespace_definition name: (_) @name) @definition.namespace
(alias_declaration name: (_) @name) @definition.type
(field_declaration declarator: (function_declarator)) @definition.method
(declaration declarator: (function_declarator)) @definition.function
""",
    "csharp": """
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.record
(struct_declaration name: (identifier) @name) @definition.struct
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(delegate_declaration name: (identifier) @name) @definition.type
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.constructor
(property_declaration name: (identifier) @name) @definition.property
(namespace_declaration name: (_) @name) @definition.namespace
(file_scoped_namespace_declaration name: (_) @name) @definition.namespace
""",
    "ruby": """
(class name: (_) @name) @definition.class
(module name: (_) @name) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
""",
    "php": """
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.trait
(enum_declaration name: (name) @name) @definition.enum
(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
(namespace_definition name: (namespace_name) @name) @definition.namespace
""",
}
"""Per language, one pattern per kind of definition. When several patterns match the
same node (Go's ``type_spec``), the one written first wins."""

_CLASS_LIKE = frozenset(
    {"class", "struct", "union", "interface", "trait", "impl", "enum", "record"}
)
"""A ``function`` directly inside one of these is a ``method``."""

_DECLARATOR_NAMES = frozenset(
    {
        "identifier",
        "field_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "type_identifier",
    }
)


@cache
def _language(lang: str) -> Language:
    from tree_sitter import Language

    try:
        module_name, function = _GRAMMARS[lang]
    except KeyError:
        raise ValueError(f"no grammar for language {lang!r}") from None
    module = importlib.import_module(module_name)
    return Language(getattr(module, function)())


@cache
def _query(lang: str) -> Query:
    from tree_sitter import Query

    return Query(_language(lang), _QUERIES[lang])


_local = threading.local()


def _parser(lang: str) -> Parser:
    """This thread's parser for ``lang`` (made once per thread and language)."""
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(lang)
    if parser is None:
        from tree_sitter import Parser

        parser = parsers[lang] = Parser(_language(lang))
    return parser


def _encode(source: str | bytes) -> bytes:
    return source.encode("utf-8", errors="surrogatepass") if isinstance(source, str) else source


# ---------------------------------------------------------------- definitions


def definitions(source: str | bytes, lang: str) -> list[Definition]:
    """What ``source`` (the text of a file in ``lang``) defines, in file order.

    Raises ValueError for a language not in :data:`LANGUAGES`. A file that does not
    parse cleanly still yields the definitions tree-sitter recovered.
    """
    return _definitions(_parser(lang).parse(_encode(source)).root_node, lang)


def _definitions(root: Node, lang: str) -> list[Definition]:
    found = _captured(lang, root)
    result: list[Definition] = []
    for node, kind, name in found.values():
        scope: list[str] = []
        parent_kind: str | None = None
        ancestor = node.parent
        while ancestor is not None:
            outer = found.get(ancestor.id)
            if outer is not None:
                parent_kind = parent_kind or outer[1]
                scope.append(outer[2])
            ancestor = ancestor.parent
        if kind == "function" and parent_kind in _CLASS_LIKE:
            kind = "method"
        if not scope and node.type == "method_declaration" and lang == "go":
            scope.append(_go_receiver(node))
        start, end = _rows(node)
        result.append(Definition(kind, name, start + 1, end + 1, ".".join(reversed(scope))))
    result.sort(key=lambda d: (d.start_line, -d.end_line))
    return result


def _captured(lang: str, root: Node) -> dict[int, tuple[Node, str, str]]:
    """Definition node id → (node, kind, name), the first matching pattern winning."""
    from tree_sitter import QueryCursor

    best: dict[int, tuple[int, Node, str, Node | None]] = {}
    for pattern, captures in QueryCursor(_query(lang)).matches(root):
        for capture, nodes in captures.items():
            if not capture.startswith("definition."):
                continue
            node = nodes[0]
            previous = best.get(node.id)
            if previous is None or pattern < previous[0]:
                names = captures.get("name")
                kind = capture.removeprefix("definition.")
                best[node.id] = (pattern, node, kind, names[0] if names else None)
    return {key: (node, kind, _name(node, name)) for key, (_, node, kind, name) in best.items()}


def _name(node: Node, name_node: Node | None) -> str:
    """A definition's name: its ``@name`` capture, else read from its structure (a C
    function's declarator chain, a Rust ``impl Trait for Type``)."""
    if name_node is not None:
        return _text(name_node)
    if node.type == "impl_item":
        target = _text(node.child_by_field_name("type"))
        trait = node.child_by_field_name("trait")
        return f"{_text(trait)} for {target}" if trait is not None else target
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type not in _DECLARATOR_NAMES:
        inner = declarator.child_by_field_name("declarator")
        if inner is None and declarator.named_child_count:  # C++ reference declarator
            inner = declarator.named_children[-1]
        declarator = inner
    return _text(declarator) or "(anonymous)"


def _go_receiver(method: Node) -> str:
    """The type a Go method belongs to: ``Circle`` for ``func (c *Circle[T]) Area()``."""
    receiver = method.child_by_field_name("receiver")
    parameter = receiver.named_children[0] if receiver and receiver.named_children else None
    kind = parameter.child_by_field_name("type") if parameter is not None else None
    return _text(kind).lstrip("*").split("[")[0]


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return " ".join(node.text.decode("utf-8", errors="replace").split())


def _rows(node: Node) -> tuple[int, int]:
    """A node's first and last row (0-based); a node ending at the start of a line
    (after its newline) ends on the line before."""
    start, end = node.start_point.row, node.end_point.row
    if end > start and node.end_point.column == 0:
        end -= 1
    return start, end


# --------------------------------------------------------------------- chunks


def chunks(
    text: str, lang: str | None, max_chars: int = 2000, *, min_chars: int | None = None
) -> list[Chunk]:
    """``text`` cut into chunks of at most ``max_chars`` characters for the index.

    With a grammar (``lang`` in :data:`LANGUAGES`): a node that fits is one chunk (a
    whole function, a whole class); one that does not is split along its children
    (a class into its methods, a function into its statements), and a node without
    children into line windows. Neighbours smaller than ``min_chars`` (default
    ``max_chars // 8``) are merged while the result fits. Without one: line windows.
    Blank lines at a chunk's edges are dropped; every other line is in exactly one
    chunk, in order.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    return _Chunker(text, lang, max_chars, min_chars).run()


_MAX_DEPTH = 64
"""How deep :meth:`_Chunker._split` follows the tree (crafted nesting ends in windows)."""


class _Chunker:
    """One run of :func:`chunks` (rows are 0-based here, lines 1-based outside)."""

    def __init__(self, text: str, lang: str | None, max_chars: int, min_chars: int | None):
        self.text = text
        self.lang = lang if lang in _GRAMMARS else None
        self.max = max_chars
        self.min = max_chars // 8 if min_chars is None else min_chars
        self.lines = text.split("\n")
        if text.endswith("\n"):
            self.lines.pop()
        self.offsets = [0]
        for line in self.lines:
            self.offsets.append(self.offsets[-1] + len(line) + 1)

    def run(self) -> list[Chunk]:
        if not self.lines:
            return []
        last = len(self.lines) - 1
        defs: list[Definition] = []
        if self.lang is None:
            spans = self._windows(0, last)
        else:
            root = _parser(self.lang).parse(_encode(self.text)).root_node
            spans = self._split(root, 0, last)
            defs = _definitions(root, self.lang)
        result: list[Chunk] = []
        for start, end in self._merge(spans):
            trimmed = self._trim(start, end)
            if trimmed is not None:
                result.extend(self._make(*trimmed, defs))
        return result

    def _size(self, start: int, end: int) -> int:
        return self.offsets[end + 1] - self.offsets[start]

    def _split(self, node: Node, start: int, end: int, depth: int = 0) -> list[tuple[int, int]]:
        """Rows ``start``–``end`` (the part of ``node`` to cover) as spans that fit,
        cut where ``node``'s children start; a span still too big is split along the
        biggest child in it (down to line windows, or past ``_MAX_DEPTH``)."""
        if self._size(start, end) <= self.max:
            return [(start, end)]
        kids = [
            (c.start_point.row, c)
            for c in node.named_children
            if c.end_point.row >= start and c.start_point.row <= end
        ]
        if not kids or depth >= _MAX_DEPTH:
            return self._windows(start, end)
        # Children are in order: each span holds the ones starting in it (the first span
        # also those starting before it).
        spans: list[tuple[int, int]] = []
        first = 0
        while first < len(kids):
            last = first
            while last + 1 < len(kids) and kids[last + 1][0] <= max(start, kids[first][0]):
                last += 1
            lo = start if first == 0 else kids[first][0]
            hi = end if last + 1 == len(kids) else kids[last + 1][0] - 1
            if self._size(lo, hi) <= self.max:
                spans.append((lo, hi))
            else:
                group = [c for _, c in kids[first : last + 1]]
                biggest = max(group, key=lambda c: c.end_byte - c.start_byte)
                spans.extend(self._split(biggest, lo, hi, depth + 1))
            first = last + 1
        return spans

    def _windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """Rows ``start``–``end`` as consecutive windows of whole lines that fit (a
        line longer than the limit alone)."""
        spans: list[tuple[int, int]] = []
        first = start
        for row in range(start + 1, end + 1):
            if self._size(first, row) > self.max:
                spans.append((first, row - 1))
                first = row
        spans.append((first, end))
        return spans

    def _merge(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Join spans under ``min_chars`` to a neighbour while the result fits: first to
        what follows (a class header, a comment or a decorator belongs to the code after
        it; a run of tiny methods becomes one chunk), then what is still tiny to what
        precedes it."""
        forward: list[tuple[int, int]] = []
        for start, end in spans:
            if forward:
                prev_start, prev_end = forward[-1]
                if self._size(prev_start, prev_end) < self.min and self._fits(prev_start, end):
                    forward[-1] = (prev_start, end)
                    continue
            forward.append((start, end))
        merged: list[tuple[int, int]] = []
        for start, end in forward:
            if merged and self._size(start, end) < self.min and self._fits(merged[-1][0], end):
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    def _fits(self, start: int, end: int) -> bool:
        return self._size(start, end) <= self.max

    def _trim(self, start: int, end: int) -> tuple[int, int] | None:
        while start <= end and not self.lines[start].strip():
            start += 1
        while end >= start and not self.lines[end].strip():
            end -= 1
        return (start, end) if start <= end else None

    def _make(self, start: int, end: int, defs: list[Definition]) -> list[Chunk]:
        symbol = _symbol(defs, start + 1, end + 1)
        body = "\n".join(self.lines[start : end + 1])
        if len(body) <= self.max:
            return [Chunk(start + 1, end + 1, body, symbol)]
        # Only a single line can be longer than the limit: cut it into pieces.
        return [
            Chunk(start + 1, end + 1, body[i : i + self.max], symbol)
            for i in range(0, len(body), self.max)
        ]


def _symbol(defs: list[Definition], first: int, last: int) -> str | None:
    """The first definition that starts in lines ``first``–``last``, else the innermost
    one around them."""
    around: Definition | None = None
    for d in defs:
        if first <= d.start_line <= last:
            return d.qualified_name
        if d.start_line < first and d.end_line >= last:
            around = d  # defs are in order: a later one is nested deeper
    return around.qualified_name if around is not None else None
