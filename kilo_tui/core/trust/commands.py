"""Command lines: parse, unwrap, classify, and decide allow / ask / deny.

The auto-approve policy hands a command line to :func:`decide` with the user's
``allowed_commands`` and ``denied_commands``; the answer names the rule that decided.
The steps, in order:

1. **Parse** with a real bash grammar (tree-sitter-bash). Every simple command is found,
   including those hidden inside ``$(…)``, ``<(…)``, ``sh -c '…'``, ``eval …``,
   ``env -S '…'`` and ``find -exec …``.
2. **Words**: each word is evaluated the way bash would (quotes removed, ``\\x``
   unescaped, ``$IFS`` splits). A word whose value cannot be known (``$x``, a glob,
   ``{a,b}``) keeps a pattern of what it could be.
3. **Unwrap** wrappers (``env``, ``nohup``, ``timeout``, ``nice``, ``stdbuf``, ``time``,
   ``sudo``, ``doas``, ``xargs``, ``command``, ``exec``, ``builtin``…) and git's global
   options, so ``env /usr/bin/RM -rf x`` is ``rm -rf x`` and ``git -C . push`` is
   ``git push``.
4. **Hazards**: constructs that run code the user does not see (substitutions,
   arithmetic, subscripts, redirection into files, code-running flags such as
   ``find -exec`` or ``git -c``…) are never auto-approved.
5. **Decide**: a command that *could* be a denied one (case-insensitive, any path, any
   wrapper, anywhere in the line) denies the whole line; otherwise every part of the
   chain must match an allowed prefix exactly, nothing hazardous may appear, and the
   command must run in the workspace root. Anything else asks.

Whatever the parser does not understand asks; nothing here ever turns doubt into allow.
:func:`blocked_read` answers the separate question of whether a command reads a file
that ``.kilocodeignore`` blocks (Kilo Code refuses those before asking).
"""

from __future__ import annotations

import codecs
import functools
import glob
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

Verdict = Literal["allow", "deny", "ask"]

_MAX_DEPTH = 4
"""How deep ``sh -c "eval '…'"`` nesting is followed before giving up (and asking)."""


# ------------------------------------------------------------------- words


@dataclass(frozen=True)
class Word:
    """One shell word after bash's expansions, as far as they can be known statically.

    ``value`` is exact when ``exact``; otherwise ``pattern`` (fnmatch syntax, ``*`` for
    every unknown part) says what it could be. ``spreads``: an unquoted unknown part
    could split into several words. ``unknown``: part of it comes from an expansion or
    a substitution (not only a glob). ``text`` is the source, for messages.
    """

    value: str
    pattern: str
    exact: bool = True
    spreads: bool = False
    text: str = ""
    unknown: bool = False

    @classmethod
    def plain(cls, value: str, *, exact: bool = True) -> Word:
        """A word made of literal text (an option's value, a rule's word)."""
        return cls(value, _escape(value), exact, False, value)


def _escape(text: str) -> str:
    """``text`` as an fnmatch pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", text)


class _WordBuilder:
    """Accumulates the pieces of one source word; ``$IFS`` may split it into several."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words: list[Word] = []
        self._value: list[str] = []
        self._pattern: list[str] = []
        self._exact = True
        self._spreads = False
        self._unknown = False
        self._started = False

    def literal(self, text: str) -> None:
        self._value.append(text)
        self._pattern.append(_escape(text))
        self._started = True

    def glob(self, value: str, pattern: str) -> None:
        """Unquoted text that the shell expands (a glob, a brace expression)."""
        self._value.append(value)
        self._pattern.append(pattern)
        self._exact = False
        self._spreads = True
        self._started = True

    def unknown(self, *, spreads: bool) -> None:
        self._value.append("*")
        self._pattern.append("*")
        self._exact = False
        self._spreads = self._spreads or spreads
        self._unknown = True
        self._started = True

    def split(self) -> None:
        """An unquoted ``$IFS``: what follows is another word."""
        self._flush()

    def finish(self) -> list[Word]:
        self._flush()
        return self.words

    def _flush(self) -> None:
        if self._started:
            self.words.append(
                Word(
                    "".join(self._value),
                    "".join(self._pattern),
                    self._exact,
                    self._spreads,
                    self.text,
                    self._unknown,
                )
            )
        self._value, self._pattern = [], []
        self._exact = True
        self._spreads = self._unknown = self._started = False


_UNQUOTED_GLOB = re.compile(r"[*?\[]")
_BRACE = re.compile(r"\{[^{}]*(,|\.\.)[^{}]*\}")
_IFS = frozenset({"IFS"})
_ZSH_EQUALS = re.compile(r"=[\w/.]")


# ------------------------------------------------------------------ parsing


@dataclass
class SimpleCommand:
    """One simple command of a line, with what matters to the policy."""

    words: list[Word]
    text: str
    top: bool
    """A part of the line's own chain; False inside ``$(…)``, ``sh -c``, ``-exec``…"""
    hazards: list[str] = field(default_factory=list)
    inputs: list[Word] = field(default_factory=list)
    """Files it reads through ``<``."""
    depth: int = 0
    """How many command strings (``sh -c``, ``eval``) it is nested in."""


@dataclass
class ParsedLine:
    """Every simple command of a line (nested ones too) and what makes it unsafe."""

    commands: list[SimpleCommand]
    hazards: list[str]
    """Constructs outside any one command (subshells, loops, substitutions…)."""
    error: str | None
    """Set when the parser could not understand part of the line."""


@functools.cache
def _parser() -> Parser:
    """The bash parser, built once (imported lazily: only commands need it)."""
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


_STATEMENT_HAZARDS = {
    "subshell": "a subshell (…)",
    "function_definition": "a function definition",
    "if_statement": "an 'if' statement",
    "while_statement": "a 'while' loop",
    "for_statement": "a 'for' loop",
    "c_style_for_statement": "a 'for' loop",
    "case_statement": "a 'case' statement",
    "test_command": "a [ … ] / [[ … ]] test (it can evaluate array subscripts)",
    "declaration_command": "a declaration (declare/local/export… evaluate array subscripts)",
    "unset_command": "'unset' (it evaluates array subscripts)",
    "variable_assignment": "an environment assignment",
    "variable_assignments": "an environment assignment",
}
_STATEMENT_TYPES = frozenset(
    {"program", "list", "pipeline", "negated_command", "command", "redirected_statement",
     "comment", "ERROR", "compound_statement", *_STATEMENT_HAZARDS}
)  # fmt: skip
_WORD_TYPES = frozenset(
    {"word", "number", "raw_string", "string", "translated_string", "ansi_c_string",
     "concatenation", "simple_expansion", "expansion", "command_substitution",
     "process_substitution", "arithmetic_expansion", "brace_expression"}
)  # fmt: skip
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_SAFE_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", ">&", "<>", "&>|"})


class _Walker:
    """Walks one tree-sitter tree, filling a :class:`ParsedLine`."""

    def __init__(self, parsed: ParsedLine, depth: int) -> None:
        self.parsed = parsed
        self.depth = depth
        self.src = b""

    # -- statements

    def line(self, line: str, *, top: bool) -> None:
        if self.depth > _MAX_DEPTH:
            self.parsed.hazards.append("commands nested too deeply to check")
            return
        # A lone surrogate could never reach the shell (the spawn fails to encode it).
        self.src = line.encode("utf-8", "replace")
        root = _parser().parse(self.src).root_node
        if root.has_error and self.parsed.error is None:
            self.parsed.error = _parse_error(root, self._text)
        self.statement(root, top)

    def _text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def statement(self, node: Node, top: bool) -> None:
        kind = node.type
        if kind in ("program", "list", "pipeline", "negated_command"):
            for child in node.named_children:
                self.statement(child, top)
        elif kind == "comment":
            return
        elif kind == "command":
            self.command(node, top, [])
        elif kind == "redirected_statement":
            body = node.child_by_field_name("body")
            redirects = [c for c in node.named_children if c.type in _REDIRECTS]
            if body is not None and body.type == "command":
                self.command(body, top, redirects)
                return
            if body is not None:
                self.statement(body, top)
            # Redirections of a loop or a group: a command with no words of its own.
            holder = SimpleCommand([], self._text(node), top=False)
            self.parsed.commands.append(holder)
            for redirect in redirects:
                self.redirect(redirect, holder)
        elif kind == "ERROR":
            self.descend(node)  # the error is recorded; what it hides is still checked
        elif kind in _WORD_TYPES:
            self.words(node, quoted=False)  # e.g. a loop's word list: may hide $(…)
        else:
            self.parsed.hazards.append(_statement_hazard(node, self._text(node)))
            self.descend(node)

    def descend(self, node: Node) -> None:
        """Find the commands and words below ``node``, whatever lies between."""
        for child in node.named_children:
            if child.type in _STATEMENT_TYPES or child.type in _WORD_TYPES:
                self.statement(child, top=False)
            else:
                self.descend(child)

    def command(self, node: Node, top: bool, redirects: list[Node]) -> None:
        command = SimpleCommand([], self._text(node), top)
        self.parsed.commands.append(command)
        for child in node.named_children:
            kind = child.type
            if kind == "variable_assignment":
                name = child.child_by_field_name("name")
                shown = self._text(name) if name is not None else "?"
                command.hazards.append(f"an environment assignment ({shown}=…)")
                for value in child.named_children[1:]:
                    self.words(value, quoted=False)
            elif kind == "command_name":
                for part in child.named_children:
                    command.words += self.words(part, quoted=False)
            elif kind in _REDIRECTS:
                self.redirect(child, command)
            elif kind != "comment":
                command.words += self.words(child, quoted=False)
        for redirect in redirects:
            self.redirect(redirect, command)

    def redirect(self, node: Node, command: SimpleCommand) -> None:
        """Judge one redirection: fd duplication and /dev/null are fine, files are not."""
        if node.type != "file_redirect":
            for child in node.named_children:  # here-strings and here-documents
                if child.type in ("heredoc_start", "heredoc_end", "heredoc_content"):
                    continue
                if child.type == "heredoc_body":
                    for part in child.named_children:
                        if part.type != "heredoc_content":
                            self.words(part, quoted=True)
                elif child.type in _STATEMENT_TYPES or child.type in _WORD_TYPES:
                    self.statement(child, top=False)
            return
        op = next((c.type for c in node.children if not c.is_named), "")
        targets = [c for c in node.named_children if c.type != "file_descriptor"]
        target_words = [w for t in targets for w in self.words(t, quoted=False)]
        shown = " ".join(self._text(t) for t in targets)
        if op in ("<&-", ">&-") or (
            op in (">&", "<&") and all(t.type == "number" or self._text(t) == "-" for t in targets)
        ):
            return
        if op == "<":
            command.inputs += target_words
        elif op in _WRITE_OPS and not (
            len(target_words) == 1
            and target_words[0].exact
            and target_words[0].value in _SAFE_TARGETS
        ):
            command.hazards.append(f"output redirection into a file ({shown or '?'})")

    # -- words

    def words(self, node: Node, *, quoted: bool) -> list[Word]:
        """The words ``node`` becomes; nested commands are recorded as a side effect."""
        builder = _WordBuilder(self._text(node))
        self._word_parts(node, builder, quoted)
        return builder.finish()

    def _word_parts(self, node: Node, out: _WordBuilder, quoted: bool) -> None:
        kind = node.type
        text = self._text(node)
        if kind == "word":
            self._unquoted(text, out)
        elif kind == "number":
            out.literal(text)
        elif kind == "raw_string":
            out.literal(text[1:-1])
        elif kind in ("string", "translated_string"):
            self._double_quoted(node, out)
        elif kind == "ansi_c_string":
            self.parsed.hazards.append("ANSI-C $'…' quoting")
            out.literal(_ansi_c(text[2:-1]))
        elif kind == "concatenation":
            self._concatenation(node, out, quoted)
        elif kind == "simple_expansion" or kind == "expansion":
            self._expansion(node, out, quoted)
        elif kind == "command_substitution":
            self.parsed.hazards.append(
                "command substitution with backticks"
                if text.startswith("`")
                else "command substitution $(…)"
            )
            self.descend(node)
            out.unknown(spreads=not quoted)
        elif kind == "process_substitution":
            self.parsed.hazards.append(
                "a subshell or process substitution <(…)"
                if text.startswith("<")
                else "output redirection into a process substitution >(…)"
            )
            self.descend(node)
            out.unknown(spreads=True)
        elif kind == "arithmetic_expansion":
            self.parsed.hazards.append("arithmetic expansion $((…)) / $[…] (it evaluates code)")
            self.descend(node)
            out.unknown(spreads=not quoted)
        elif kind == "brace_expression":
            out.glob(text, "*")
        else:
            self.parsed.hazards.append(f"a construct the policy does not know ({text})")
            self.descend(node)
            out.unknown(spreads=True)

    def _unquoted(self, text: str, out: _WordBuilder) -> None:
        """A bare word: backslashes escape, globs and brace lists expand."""
        if _BRACE.search(text):
            out.glob(text, "*")
            return
        i = 1 if _ZSH_EQUALS.match(text) else 0  # zsh: =rm is the path of rm
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                if text[i + 1 : i + 2] not in ("", "\n"):
                    out.literal(text[i + 1])
                i += 2
            elif _UNQUOTED_GLOB.match(ch):
                out.glob(ch, ch)
                i += 1
            else:
                j = i
                while j < len(text) and text[j] != "\\" and not _UNQUOTED_GLOB.match(text[j]):
                    j += 1
                out.literal(text[i:j])
                i = j

    def _double_quoted(self, node: Node, out: _WordBuilder) -> None:
        """``"…"``: literal text between the expansions, with bash's few escapes."""
        inner = [c for c in node.named_children if c.type != "string_content"]
        body = node
        if node.type == "translated_string" and node.named_children:
            body = node.named_children[0]
            inner = [c for c in body.named_children if c.type != "string_content"]
        cursor = body.start_byte + 1
        for child in inner:
            out.literal(
                _dq_unescape(self.src[cursor : child.start_byte].decode("utf-8", "replace"))
            )
            self._word_parts(child, out, quoted=True)
            cursor = child.end_byte
        out.literal(_dq_unescape(self.src[cursor : body.end_byte - 1].decode("utf-8", "replace")))

    def _concatenation(self, node: Node, out: _WordBuilder, quoted: bool) -> None:
        children = node.named_children
        if any(c.type == "word" and self._text(c) == "{" for c in children) and _BRACE.search(
            self._text(node)
        ):
            out.glob(self._text(node), "*")  # a brace expansion: a{b,c}
            for child in children:
                if child.type not in ("word", "number", "raw_string"):
                    self._word_parts(child, _WordBuilder(""), quoted)
            return
        for child in children:
            self._word_parts(child, out, quoted)

    def _expansion(self, node: Node, out: _WordBuilder, quoted: bool) -> None:
        names = [self._text(c) for c in node.named_children if c.type == "variable_name"]
        plain = node.type == "simple_expansion" or self._text(node) == "${IFS}"
        if node.type == "expansion" and not plain:
            self.parsed.hazards.append("a ${…} parameter expansion")
            self.descend(node)
        if plain and not quoted and names and names[0] in _IFS:
            out.split()
            return
        out.unknown(spreads=not quoted)

    def code(self, text: str) -> None:
        """A string that a shell will run (``sh -c``, ``eval``): its commands are nested."""
        nested = _Walker(self.parsed, self.depth + 1)
        before = len(self.parsed.commands)
        nested.line(text, top=False)
        for command in self.parsed.commands[before:]:
            command.top = False
            command.depth = nested.depth


def _statement_hazard(node: Node, text: str) -> str:
    if node.type == "compound_statement":
        return "arithmetic evaluation ((…))" if text.startswith("((") else "a command group { … }"
    return _STATEMENT_HAZARDS.get(node.type, f"a shell construct the policy does not know ({text})")


def _parse_error(root: Node, text_of: Callable[[Node], str]) -> str:
    """Describe the first place the parser could not understand."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            text = text_of(node).strip()
            if text.count("'") % 2 or text.count('"') % 2:
                return "an unterminated quote"
            return f"a construct the shell parser does not understand ({text or 'missing token'})"
        stack.extend(reversed(node.children))
    return "a construct the shell parser does not understand"


def _dq_unescape(text: str) -> str:
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def _ansi_c(body: str) -> str:
    try:
        return codecs.decode(body.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return body


# ----------------------------------------------------------------- unwrapping


@dataclass
class Run:
    """What one simple command really runs once its wrappers are taken off."""

    command: SimpleCommand
    stages: list[list[Word]]
    """The words as written, then after each wrapper is removed (all checked against
    ``denied_commands``)."""
    words: list[Word]
    """The command that runs: transparent wrappers and git's global options removed."""
    hazards: list[str]


@dataclass(frozen=True)
class _Wrapper:
    takes_value: frozenset[str] = frozenset()
    """Options followed by a value (``-n 5``, ``--signal=KILL`` also accepted)."""
    operands: int = 0
    """Positional arguments before the command (``timeout DURATION cmd``)."""
    transparent: bool = False
    """Adds nothing the user must see: the wrapped command is judged on its own."""


def _opts(names: str) -> frozenset[str]:
    return frozenset(names.split())


_WRAPPERS: dict[str, _Wrapper] = {
    "nohup": _Wrapper(transparent=True),
    "nice": _Wrapper(_opts("-n --adjustment"), transparent=True),
    "ionice": _Wrapper(_opts("-c -n --class --classdata"), transparent=True),
    "timeout": _Wrapper(_opts("-s -k --signal --kill-after"), 1, transparent=True),
    "stdbuf": _Wrapper(_opts("-i -o -e --input --output --error"), transparent=True),
    "time": _Wrapper(_opts("-f --format"), transparent=True),
    "env": _Wrapper(_opts("-u --unset -C --chdir -S --split-string -P"), transparent=True),
    "command": _Wrapper(),
    "builtin": _Wrapper(),
    "exec": _Wrapper(_opts("-a")),
    "sudo": _Wrapper(
        _opts(
            "-u -g -C -D -h -p -r -t -U -T -R --user --group --chdir --host --prompt --role"
            " --type --other-user --close-from --command-timeout --chroot"
        )
    ),
    "doas": _Wrapper(_opts("-u -C")),
    "xargs": _Wrapper(
        _opts(
            "-a -d -E -I -L -n -P -s --arg-file --delimiter --eof --replace --max-lines"
            " --max-args --max-procs --max-chars --process-slot-var"
        )
    ),
    # The user's shell may be zsh or fish: their precommand modifiers and keywords.
    "noglob": _Wrapper(transparent=True),
    "nocorrect": _Wrapper(transparent=True),
    "-": _Wrapper(transparent=True),
    "and": _Wrapper(transparent=True),
    "or": _Wrapper(transparent=True),
    "not": _Wrapper(transparent=True),
    "chroot": _Wrapper(_opts("--userspec --groups"), 1),
    "flock": _Wrapper(_opts("-w -E --timeout --conflict-exit-code"), 1),
}
_OTHER_WRAPPERS = frozenset(
    {"coproc", "watch", "setsid", "unbuffer", "strace", "ltrace", "valgrind", "chrt",
     "taskset", "numactl", "prlimit", "cpulimit", "runuser", "setpriv", "capsh", "firejail",
     "unshare", "nsenter", "bwrap", "systemd-run", "torsocks", "proxychains",
     "proxychains4", "fakeroot", "faketime", "sg", "script", "parallel", "busybox",
     "catchsegv", "dbus-run-session", "concurrently", "npm-run-all", "run-p", "run-s",
     "cross-env", "dotenv", "env-cmd", "direnv"}
)  # fmt: skip
"""Programs that run another command, with options this module does not model: any word
after them could be the command, and any argument with a space a command string."""
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "csh", "tcsh", "ash"})
_CHDIR = frozenset({"cd", "pushd", "popd"})


def _name(word: Word) -> str:
    """How a command word is compared with rules: its file name, lowercased."""
    return word.value.rsplit("/", 1)[-1].lower() if word.exact else ""


def unwrap(command: SimpleCommand, walker: _Walker) -> Run:
    """Take wrappers off ``command``; record hazards and commands hidden in arguments."""
    words = list(command.words)
    run = Run(command, [words], words, list(command.hazards))
    while words:
        name = _name(words[0])
        if name in _WRAPPERS and not (name == "command" and _has_flag(words[1:], "vV")):
            wrapper = _WRAPPERS[name]
            rest, options = _skip_options(words[1:], wrapper)
            if name == "env":
                rest = _env(options, rest, run, walker)
            if not wrapper.transparent:
                run.hazards.append(_wrapper_hazard(name))
            words = rest
            run.stages.append(words)
            continue
        if name in _SHELLS and _has_flag(words[1:], "c"):
            run.hazards.append(f"'{name} -c' runs a command string")
            script = next((w for w in words[1:] if not w.value.startswith("-")), None)
            if script is not None and script.exact:
                walker.code(script.value)
        elif name == "eval":
            run.hazards.append("'eval' runs its arguments as a command")
            if all(w.exact for w in words[1:]):
                walker.code(" ".join(w.value for w in words[1:]))
        elif name in ("su", "runuser"):
            run.hazards.append(f"'{name}' runs a command as another user")
            script = _option_value(words[1:], ("-c", "--command"))
            if script is not None and script.exact:
                walker.code(script.value)
        elif name in ("source", "."):
            run.hazards.append(f"'{name}' runs a script file in the shell")
        elif name in _OTHER_WRAPPERS:
            run.hazards.append(_wrapper_hazard(name))
            run.stages += [words[i:] for i in range(1, len(words))]
            for word in words[1:]:
                if word.exact and " " in word.value.strip():
                    walker.code(word.value)
        break
    if words and not words[0].exact:
        # Unknown until it runs (a glob, a variable): it could be any program, a wrapper
        # too, so any of the words after it could be the command.
        run.hazards.append(f"the command name is not known before it runs ({words[0].text})")
        run.stages += [words[i:] for i in range(1, len(words))]
    if words and _name(words[0]) == "git":
        words = _git(words, run)
        run.stages.append(words)
    run.words = words
    if words:
        run.hazards += _program_hazards(words, walker)
    return run


def _wrapper_hazard(name: str) -> str:
    if name == "xargs":
        return "'xargs' runs a command with arguments read from its input"
    return f"'{name}' runs another command"


def _has_flag(words: Sequence[Word], letters: str) -> bool:
    """True if a short-option cluster before the first operand contains one of ``letters``."""
    for word in words:
        value = word.value
        if not value.startswith("-") or value == "--":
            return False
        if not value.startswith("--") and any(ch in letters for ch in value[1:]):
            return True
    return False


def _option_value(words: Sequence[Word], names: tuple[str, ...]) -> Word | None:
    for i, word in enumerate(words):
        if word.value in names and i + 1 < len(words):
            return words[i + 1]
        for name in names:
            if name.startswith("--") and word.value.startswith(name + "="):
                value = word.value[len(name) + 1 :]
                return Word.plain(value, exact=word.exact)
    return None


def _skip_options(
    words: list[Word], wrapper: _Wrapper
) -> tuple[list[Word], list[tuple[str, Word | None]]]:
    """Split ``words`` into (the wrapped command, the wrapper's options with values)."""
    options: list[tuple[str, Word | None]] = []
    i = 0
    while i < len(words):
        value = words[i].value
        if value == "--":
            i += 1
            break
        if not value.startswith("-") or value == "-":
            break
        if value.startswith("--"):
            name, eq, _ = value.partition("=")
            if name in wrapper.takes_value and not eq and i + 1 < len(words):
                options.append((name, words[i + 1]))
                i += 2
                continue
            options.append((name, _after_eq(words[i]) if eq else None))
        else:
            taken = next(
                (k for k, ch in enumerate(value[1:], 1) if f"-{ch}" in wrapper.takes_value), None
            )
            if taken is None:
                options += [(f"-{ch}", None) for ch in value[1:]]
            elif taken == len(value) - 1 and i + 1 < len(words):
                options.append((f"-{value[taken]}", words[i + 1]))
                i += 1
            else:
                options.append((f"-{value[taken]}", Word.plain(value[taken + 1 :])))
        i += 1
    words = words[i:]
    # Positional operands (timeout's DURATION); for env, VAR=value assignments stay.
    return words[wrapper.operands :], options


def _after_eq(word: Word) -> Word:
    return Word.plain(word.value.partition("=")[2], exact=word.exact)


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _env(
    options: list[tuple[str, Word | None]], rest: list[Word], run: Run, walker: _Walker
) -> list[Word]:
    """``env``: assignments and ``-S``/``-C`` make it opaque; skip the assignments."""
    for name, value in options:
        if name in ("-S", "--split-string") and value is not None:
            run.hazards.append("'env -S' splits a string into a command")
            if value.exact:
                walker.code(value.value)
        elif name in ("-C", "--chdir"):
            run.hazards.append("'env -C' changes the working directory")
    while rest and rest[0].exact and _ASSIGNMENT.match(rest[0].value):
        run.hazards.append(f"an environment assignment ({rest[0].value.split('=', 1)[0]}=…)")
        rest = rest[1:]
    return rest


# git's global options: the subcommand comes after them.
_GIT_VALUE_OPTIONS = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env",
     "--super-prefix", "--attr-source", "--list-cmds"}
)  # fmt: skip
_GIT_HARMLESS = frozenset(
    {"--no-pager", "-P", "-p", "--paginate", "--no-replace-objects", "--literal-pathspecs",
     "--glob-pathspecs", "--noglob-pathspecs", "--icase-pathspecs", "--no-optional-locks",
     "--bare", "--no-advice"}
)  # fmt: skip
_GIT_REASONS = {
    "-C": "'git -C' runs in another directory",
    "-c": "'git -c' sets configuration that can run programs",
    "--config-env": "'git --config-env' sets configuration that can run programs",
    "--exec-path": "'git --exec-path' chooses which programs git runs",
    "--git-dir": "'git --git-dir' uses another repository (its hooks and configuration)",
    "--work-tree": "'git --work-tree' works on another directory",
}


def _git(words: list[Word], run: Run) -> list[Word]:
    """``git [global options] sub …`` → ``git sub …``; risky global options are hazards."""
    i = 1
    while i < len(words) and words[i].value.startswith("-"):
        name, eq, _ = words[i].value.partition("=")
        if name not in _GIT_HARMLESS:
            run.hazards.append(_GIT_REASONS.get(name, f"git's global option {name}"))
        i += 2 if name in _GIT_VALUE_OPTIONS and not eq else 1
    return [words[0], *words[i:]]


# ------------------------------------------------------------ program flags

_NPM = frozenset({"npm", "npx", "pnpm", "yarn", "bun"})
_NPM_FLAGS = frozenset(
    {"--prefix", "--script-shell", "--userconfig", "--globalconfig", "--node-options",
     "--call", "-c", "-C", "--dir", "--cwd"}
)  # fmt: skip
_GIT_CODE_FLAGS = frozenset({"--upload-pack", "--receive-pack", "--exec", "--extcmd"})
_GIT_U_IS_UPLOAD_PACK = frozenset({"clone", "fetch", "pull", "ls-remote", "archive"})
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_WRITES = frozenset({"-delete", "-fprint", "-fprint0", "-fprintf", "-fls"})
_TAR_FLAGS = frozenset(
    {"--to-command", "--checkpoint-action", "--use-compress-program", "--rsh-command",
     "--info-script", "--new-volume-script"}
)  # fmt: skip
_AWK = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})
_SUBSCRIPT_BUILTINS = frozenset(
    {"test", "[", "printf", "read", "mapfile", "readarray", "wait", "getopts"}
)


def _program_hazards(words: list[Word], walker: _Walker) -> list[str]:
    """Flags and arguments that make an otherwise allowed program run other code."""
    name = _name(words[0])
    args = words[1:]
    values = [w.value for w in args]
    flags = _flags(values)
    out: list[str] = []
    if "--output" in flags:
        out.append("an option that writes a file (--output)")
    if name in _CHDIR:
        out.append(
            f"'{name}' changes the working directory (auto-approved commands run in the workspace)"
        )
    elif name == "let":
        out.append("'let' evaluates arithmetic (and array subscripts)")
    elif name in _SUBSCRIPT_BUILTINS and any("[" in v and ("$" in v or "`" in v) for v in values):
        out.append(f"'{name}' would evaluate an array subscript")
    elif name == "git":
        sub = values[0] if values else ""
        code = flags & _GIT_CODE_FLAGS
        if code:
            out.append(f"'git {sorted(code)[0]}' runs a program")
        elif sub in _GIT_U_IS_UPLOAD_PACK and "-u" in flags:
            out.append("'git -u' (--upload-pack) runs a program")
        elif sub == "rebase" and "-x" in flags:
            out.append("'git rebase -x' runs commands")
        elif sub == "grep" and flags & {"-O", "--open-files-in-pager"}:
            out.append("'git grep -O' runs a program")
        elif (sub, values[1] if len(values) > 1 else "") in (
            ("submodule", "foreach"),
            ("bisect", "run"),
        ) or sub in ("filter-branch", "difftool", "mergetool"):
            out.append(f"'git {sub}' runs commands")
    elif name in _NPM and flags & _NPM_FLAGS:
        out.append(f"'{name} {sorted(flags & _NPM_FLAGS)[0]}' can make it run other code")
    elif name == "find":
        found = [v for v in values if v in _FIND_EXEC | _FIND_WRITES]
        if found:
            out.append(f"'find {found[0]}' runs commands or writes files")
        for i, value in enumerate(values):
            if value in _FIND_EXEC:
                _find_exec(args[i + 1 :], walker)
    elif name == "sed":
        reason = _sed_hazard(args)
        if reason:
            out.append(reason)
    elif name in _AWK:
        out += _awk_hazard(args)
    elif name == "rg" and "--pre" in flags:
        out.append("'rg --pre' runs a program on every file")
    elif name in ("tar", "bsdtar"):
        if (
            flags & _TAR_FLAGS
            or any(
                (v.startswith("-") and not v.startswith("--") and ("I" in v or "F" in v))
                for v in values
            )
            or (values and not values[0].startswith("-") and ("I" in values[0] or "F" in values[0]))
        ):
            out.append("a tar option that runs a program")
    elif name in ("rsync",) and flags & {"-e", "--rsh", "--rsync-path"}:
        out.append("'rsync -e' runs a program")
    elif name in ("ssh", "scp", "sftp") and (
        any(re.search(r"(proxy|local)command", v, re.I) for v in values)
        or (name != "ssh" and "-S" in flags)
        or "-F" in flags
    ):
        out.append(f"an '{name}' option that runs a program")
    elif name == "sort" and "--compress-program" in flags:
        out.append("'sort --compress-program' runs a program")
    elif name == "zip" and flags & {"-T", "-TT", "--unzip-command"}:
        out.append("'zip -TT' runs a program")
    return out


def _flags(values: list[str]) -> set[str]:
    """Option names in ``values``; short clusters count letter by letter (``-vu`` → ``-u``)."""
    flags: set[str] = set()
    for value in values:
        if value.startswith("--"):
            flags.add(value.partition("=")[0])
        elif value.startswith("-") and len(value) > 1:
            flags.add(value)
            flags.update(f"-{ch}" for ch in value[1:])
    return flags


def _find_exec(words: list[Word], walker: _Walker) -> None:
    """The command after ``find -exec`` (up to ``;`` or ``+``) is checked like any other."""
    end = next((i for i, w in enumerate(words) if w.value in (";", "+")), len(words))
    if end:
        nested = SimpleCommand(words[:end], " ".join(w.text for w in words[:end]), top=False)
        walker.parsed.commands.append(nested)


def _sed_hazard(args: list[Word]) -> str | None:
    """``sed`` scripts may run commands (``e``) or write files (``w``): look for them."""
    scripts: list[str] = []
    sandbox = False
    i = 0
    operands: list[Word] = []
    while i < len(args):
        value = args[i].value
        if value in ("-l", "--line-length"):
            i += 2
            continue
        if value in ("-e", "--expression") and i + 1 < len(args):
            scripts.append(args[i + 1].value if args[i + 1].exact else "e")
            i += 2
            continue
        if value.startswith("--expression="):
            scripts.append(value.partition("=")[2])
        elif value in ("-f", "--file") or value.startswith("--file="):
            return "'sed -f' runs a script file (it may run commands or write files)"
        elif value == "--sandbox":
            sandbox = True
        elif value.startswith("-") and not value.startswith("--") and "e" in value[1:]:
            if value.startswith("-i"):
                pass  # -i takes a suffix: -ie is "-i" with suffix "e"
            elif value.endswith("e") and i + 1 < len(args):
                scripts.append(args[i + 1].value if args[i + 1].exact else "e")
                i += 2
                continue
            else:
                return "a sed option the policy cannot read"
        elif (
            value.startswith("-")
            and not value.startswith("--")
            and "f" in value[1:]
            and not value.startswith("-i")
        ):
            return "'sed -f' runs a script file (it may run commands or write files)"
        elif not value.startswith("-"):
            operands.append(args[i])
        i += 1
    if not scripts and operands:
        scripts.append(operands[0].value if operands[0].exact else "e")
    if sandbox:
        return None
    for script in scripts:
        if _sed_script_runs(script):
            return "a sed script that runs commands or writes files (e / w)"
    return None


_SED_SIMPLE = frozenset("=dDgGhHnNpPxzlLqQF")


def _sed_script_runs(script: str) -> bool:
    """True unless ``script`` is plainly free of ``e``, ``w``/``W`` and ``s///e``/``w``.

    A small reader of GNU sed syntax: anything it does not recognise counts as unsafe.
    """
    s, i, n = script, 0, len(script)

    def skip_delimited(i: int, delim: str) -> int:
        while i < n and s[i] != delim:
            i += 2 if s[i] == "\\" else 1
        return i + 1

    def to_eol(i: int) -> int:
        while i < n and s[i] != "\n":
            i += 2 if s[i] == "\\" else 1
        return i

    while i < n:
        ch = s[i]
        if ch in " \t\n;{}!":
            i += 1
            continue
        if ch.isdigit() or ch in "$,~+":
            i += 1
            continue
        if ch == "/":
            i = skip_delimited(i + 1, "/")
            while i < n and s[i] in "IM":
                i += 1
            continue
        if ch == "\\" and i + 1 < n:
            i = skip_delimited(i + 2, s[i + 1])
            continue
        if ch == "#":
            i = to_eol(i)
            continue
        if ch in "ewW":
            return True
        if ch in "aic:btTrR":
            i = to_eol(i + 1) if ch in "aicrR" else _to_label_end(s, i + 1)
            continue
        if ch in "sy" and i + 1 < n:
            delim = s[i + 1]
            if delim in "\\\n":
                return True
            i = skip_delimited(i + 2, delim)
            i = skip_delimited(i, delim)
            if ch == "s":
                start = i
                while i < n and s[i] not in ";\n}":
                    if s[i] in "ew":
                        return True
                    i += 1
                if not re.fullmatch(r"[gpIiMm0-9]*\s*", s[start:i]):
                    return True
            continue
        if ch in _SED_SIMPLE:
            i += 1
            continue
        return True
    return False


def _to_label_end(s: str, i: int) -> int:
    while i < len(s) and s[i] not in ";\n":
        i += 1
    return i


def _awk_hazard(args: list[Word]) -> list[str]:
    for word in args:
        name = word.value.partition("=")[0]
        if name in ("-f", "--file", "-i", "--include", "-l", "--load", "-E", "--exec"):
            return [f"'awk {name}' loads a program file"]
    program = next(
        (w for i, w in enumerate(args) if not w.value.startswith("-") and
         (i == 0 or args[i - 1].value not in ("-F", "-v", "--assign", "--field-separator"))),
        None,
    )  # fmt: skip
    if program is None:
        return []
    if not program.exact or re.search(r"system|getline|[|>]", program.value):
        return ["an awk program that may run commands or write files (system, |, >, getline)"]
    return []


# ---------------------------------------------------------------- deciding


@dataclass(frozen=True)
class CommandDecision:
    """The policy's verdict on one command line and the rule that made it, in words."""

    verdict: Verdict
    rule: str
    used: tuple[str, ...] = ()
    """The allowed prefixes that matched, in order (for an ``allow``)."""


@dataclass(frozen=True)
class _Rule:
    text: str
    words: tuple[str, ...]
    rank: int


@functools.lru_cache(maxsize=256)
def _rules(prefixes: tuple[str, ...], *, fold: bool) -> tuple[_Rule, ...]:
    """Parse rule strings once. Deny rules are folded: lowercase, path dropped."""
    out = []
    for prefix in prefixes:
        if prefix.strip() == "*":
            out.append(_Rule(prefix, (), 0))
            continue
        try:
            words = shlex.split(prefix)
        except ValueError:
            continue
        if not words:
            continue
        if fold:
            words = [words[0].rsplit("/", 1)[-1], *words[1:]]
            words = [w.lower() for w in words]
        out.append(_Rule(prefix, tuple(words), len(" ".join(words))))
    return tuple(out)


def _allowed_by(words: list[Word], rules: tuple[_Rule, ...]) -> _Rule | None:
    """The longest allowed prefix of ``words``: exact, case-sensitive, whole words."""
    best: _Rule | None = None
    for rule in rules:
        if best is not None and rule.rank <= best.rank:
            continue
        prefix = words[: len(rule.words)]
        if len(prefix) == len(rule.words) and all(
            w.exact and w.value == r for w, r in zip(prefix, rule.words, strict=True)
        ):
            best = rule
    return best


def _could_be(words: list[Word], rule: _Rule) -> bool:
    """Could ``words`` be the denied prefix ``rule``? Case-insensitive, any path."""
    if not rule.words:
        return bool(words)
    for i, expected in enumerate(rule.words):
        if i >= len(words):
            return False
        word = words[i]
        if word.exact:
            actual = _name(word) if i == 0 else word.value.lower()
            if actual != expected:
                return False
            continue
        pattern = word.pattern.lower()
        if i == 0:
            pattern = pattern.rsplit("/", 1)[-1]
        if fnmatchcase(expected, pattern):
            continue
        return word.spreads and fnmatchcase(" ".join(rule.words[i:]), pattern)
    return True


def _denied_by(run: Run, rules: tuple[_Rule, ...]) -> _Rule | None:
    best: _Rule | None = None
    for stage in run.stages:
        for rule in rules:
            if (best is None or rule.rank > best.rank) and _could_be(stage, rule):
                best = rule
    return best


MAX_LINE = 64 * 1024
"""Longer command lines are not analysed (they ask): no model needs one."""


def analyze(line: str) -> tuple[ParsedLine, list[Run]]:
    """Parse ``line`` and unwrap every simple command in it (nested ones too).

    A line too long or too deeply nested to walk comes back with that hazard alone.
    """
    if len(line) > MAX_LINE:
        return ParsedLine([], [f"a command line longer than {MAX_LINE // 1024} KiB"], None), []
    parsed = ParsedLine([], [], None)
    runs: list[Run] = []
    try:
        _Walker(parsed, depth=0).line(line, top=True)
        i = 0
        while i < len(parsed.commands):  # unwrapping may find more commands (sh -c …)
            command = parsed.commands[i]
            runs.append(unwrap(command, _Walker(parsed, depth=command.depth)))
            i += 1
    except RecursionError:
        return ParsedLine([], ["commands nested too deeply to check"], None), []
    return parsed, runs


def decide(
    line: str,
    allowed: Sequence[str],
    denied: Sequence[str],
    *,
    cwd: str | None = None,
    cwd_outside: bool = False,
) -> CommandDecision:
    """Allow, deny or ask for ``line`` (see the module docstring for the rules).

    ``cwd``: where it would run, relative to the workspace (absolute and
    ``cwd_outside`` when outside); None or ``"."`` for the workspace root.
    """
    if not line.strip():
        return CommandDecision("ask", "empty command")
    parsed, runs = analyze(line)
    allow_rules = _rules(tuple(allowed), fold=False)
    deny_rules = _rules(tuple(denied), fold=True)
    matches: list[tuple[Run, _Rule | None]] = []
    for run in runs:
        allow = _allowed_by(run.words, allow_rules)
        deny = _denied_by(run, deny_rules)
        if deny is not None and (allow is None or deny.rank >= allow.rank):
            return CommandDecision("deny", f"denied_commands: {deny.text}")
        if run.command.top:
            matches.append((run, allow))
    hazard = parsed.hazards[0] if parsed.hazards else None
    hazard = hazard or next((h for run in runs for h in run.hazards), None) or parsed.error
    if hazard is not None:
        return CommandDecision("ask", f"never auto-approved: {hazard}")
    missing = [_shown(run) for run, rule in matches if rule is None]
    if missing:
        return CommandDecision(
            "ask", "not in allowed_commands: " + ", ".join(f"'{m}'" for m in missing)
        )
    if cwd not in (None, "", "."):
        where = "outside the workspace" if cwd_outside else "not the workspace root"
        return CommandDecision("ask", f"cwd is {where}: {cwd}")
    used = tuple(dict.fromkeys(rule.text for _, rule in matches if rule is not None))
    return CommandDecision("allow", "; ".join(f"allowed_commands: {u}" for u in used), used)


def _shown(run: Run) -> str:
    words = run.command.words
    if words and all(w.exact for w in words):
        return shlex.join(w.value for w in words)
    return run.command.text


def evaluate_command(line: str, allowed: Sequence[str], denied: Sequence[str]) -> tuple[str, str]:
    """``(verdict, reason)`` for ``line`` run in the workspace root (see :func:`decide`)."""
    decision = decide(line, allowed, denied)
    return decision.verdict, decision.rule


MAX_CHOICES = 5
"""How many rules "always allow" offers for one command: the exact one and the
shortest prefixes (a long command line would otherwise list a prefix per word)."""


def always_allow_choices(
    line: str,
    allowed: Sequence[str],
    denied: Sequence[str],
    *,
    cwd: str | None = None,
    cwd_outside: bool = False,
) -> list[list[str]]:
    """The rules an "always allow" answer may add so that ``line`` is allowed, each a
    list of prefixes: first the exact commands of the line, then (for a line with one
    command that needs a rule) shorter word prefixes of it, longest first.

    Empty when no rule could ever allow it (denied, hazardous, unknown words, another
    working directory) or when even the exact command would allow a whole interpreter
    or tool (``python3``, ``npm run``: see :func:`_least_words`). Prefixes come from the
    parsed words, after transparent wrappers: they never cut inside a quoted word, and
    a prefix never ends on an option (whose value it would leave open).
    """
    if not line.strip():
        return []
    _parsed, runs = analyze(line)
    deny_rules = _rules(tuple(denied), fold=True)
    allow_rules = _rules(tuple(allowed), fold=False)
    needed: list[list[str]] = []
    for run in runs:
        if not run.command.top or _allowed_by(run.words, allow_rules) is not None:
            continue
        if _denied_by(run, deny_rules) is not None or not run.words:
            return []
        if not all(w.exact for w in run.words):
            return []
        words = [w.value for w in run.words]
        if _least_words(words) > len(words):
            return []
        if words not in needed:
            needed.append(words)
    if not needed:
        return []
    offered = [[shlex.join(words) for words in needed]]
    if len(needed) == 1:
        words = needed[0]
        shorter = [
            [shlex.join(words[:k])]
            for k in range(len(words) - 1, _least_words(words) - 1, -1)
            if not words[k - 1].startswith("-")
        ]
        offered += shorter[-(MAX_CHOICES - 1) :]
    return [
        rules
        for rules in offered
        if decide(line, [*allowed, *rules], denied, cwd=cwd, cwd_outside=cwd_outside).verdict
        == "allow"
    ]


_PYTHON = re.compile(r"(python|pypy)[0-9.]*")
_INTERPRETERS = _SHELLS | frozenset(
    {"node", "nodejs", "perl", "ruby", "php", "lua", "luajit", "tclsh", "wish", "rscript",
     "julia", "osascript", "pwsh", "powershell", "java", "groovy", "scala", "kotlin",
     "elixir", "escript", "runghc", "runhaskell", "guile", "racket", "npx", "bunx", "pnpx",
     "uvx"}
)  # fmt: skip
"""Programs whose first operand is the program they run (a script, a package): a rule
must name it."""
_EXACT_ONLY = frozenset(
    {"rm", "rmdir", "shred", "truncate", "dd", "mv", "chmod", "chown", "chgrp", "kill",
     "pkill", "killall", "ssh"}
)  # fmt: skip
"""Programs that delete, move, change rights, stop processes or reach another machine: a
shorter prefix than the command shown would let them act on anything."""
_CODE_FLAGS = frozenset({"-c", "-e", "-E", "-p", "-r", "--eval", "--print", "--command"})
"""An interpreter's options whose value is the code it runs."""
_TOOLS = frozenset(
    {"git", "npm", "pnpm", "yarn", "bun", "deno", "cargo", "go", "docker", "podman",
     "kubectl", "helm", "pip", "pip3", "pipx", "uv", "poetry", "pipenv", "pdm", "hatch",
     "conda", "mamba", "micromamba", "pixi", "brew", "apt", "apt-get", "dnf", "yum", "gem",
     "bundle", "rake", "composer", "dotnet", "mvn", "mvnw", "gradle", "gradlew", "sbt",
     "terraform", "gh", "aws", "gcloud", "az", "systemctl", "make", "just", "nx", "turbo",
     "rustup", "nix", "flutter", "dart", "mix", "swift", "zig", "bazel", "stack", "cabal"}
)  # fmt: skip
"""Programs that do whatever their first word (a subcommand, a target) says: a rule
must name it."""
_RUNNERS = frozenset(
    {("npm", "run"), ("npm", "run-script"), ("npm", "exec"), ("npm", "x"), ("pnpm", "run"),
     ("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "run"), ("yarn", "exec"), ("yarn", "dlx"),
     ("bun", "run"), ("bun", "x"), ("deno", "run"), ("uv", "run"), ("poetry", "run"),
     ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"), ("conda", "run"), ("mamba", "run"),
     ("pixi", "run"), ("pipx", "run"), ("go", "run"), ("docker", "run"), ("docker", "exec"),
     ("docker", "compose"), ("podman", "run"), ("podman", "exec"), ("kubectl", "exec"),
     ("kubectl", "run"), ("bundle", "exec"), ("nix", "run"), ("nix", "shell"),
     ("dotnet", "exec")}
)  # fmt: skip
"""Subcommands that run a program named by the next word: a rule must name that too."""
_SUBCOMMAND = re.compile(r"[A-Za-z0-9][\w:.-]*")


def _least_words(words: Sequence[str]) -> int:
    """How many leading ``words`` a remembered prefix must keep to name one program
    rather than a whole interpreter or tool: ``python3 -m calc.cli``, ``npm test``,
    ``npx jest``, ``uv run pytest``. More than ``len(words)`` when no prefix of them,
    not even all of them, is that narrow (``python3``, ``npm run``, ``npm --version``).
    """
    never = len(words) + 1
    if not words:
        return never
    name, rest = words[0].rsplit("/", 1)[-1].lower(), words[1:]
    if name.startswith("-"):  # an option where the program should be: its value is open
        return len(words) if not words[-1].startswith("-") else never
    if name in _EXACT_ONLY:
        return len(words)
    if _PYTHON.fullmatch(name) and rest[:1] == ["-m"]:
        return 2 + _least_words(rest[1:])  # the module is the program
    if name in _INTERPRETERS or _PYTHON.fullmatch(name):
        if rest[:1] and rest[0] in _CODE_FLAGS:
            return 3  # only with its code: ``node -e 'code'``
        return 1 + _least_words(rest)
    if name in _TOOLS:
        if not rest or not _SUBCOMMAND.fullmatch(rest[0]):
            return 1 + _least_words(rest) if rest else never
        if (name, rest[0]) in _RUNNERS:
            return 2 + _least_words(rest[1:])
        return 2
    return 1


# --------------------------------------------------------- .kilocodeignore

READING_COMMANDS = frozenset(
    {
        "cat", "tac", "nl", "head", "tail", "less", "more", "most", "view", "bat", "batcat",
        "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "sed", "awk", "gawk", "mawk",
        "nawk", "sort", "uniq", "cut", "paste", "join", "comm", "diff", "cmp", "od", "xxd",
        "hexdump", "strings", "base64", "base32", "cp", "mv", "scp", "rsync", "dd", "jq", "yq",
        "iconv", "fold", "fmt", "column", "zcat", "bzcat", "xzcat", "zless", "source", ".",
        "type", "get-content", "gc", "select-string", "sls",
    }
)  # fmt: skip
"""Commands whose operands are files they read (Kilo Code's list, and more)."""


def blocked_read(
    line: str, cwd: Path, rule_for: Callable[[Path], str | None]
) -> tuple[str, str] | None:
    """``(path as written, rule)`` for the first file ``line`` would read that
    ``rule_for`` blocks, or None.

    Operands of :data:`READING_COMMANDS` (after unwrapping, anywhere in the line, nested
    commands too) and ``< file`` redirections count; paths are taken from ``cwd`` and
    from every directory a ``cd`` in the line goes to; globs are expanded there.
    ``rule_for(path)`` answers with the ignore rule that blocks ``path``, or None.
    """
    if not line.strip():
        return None
    _parsed, runs = analyze(line)
    cwds = [cwd]
    for run in runs:
        words = run.words
        if run.command.top and len(words) == 2 and _name(words[0]) in _CHDIR and words[1].exact:
            cwds.append(cwds[-1] / os.path.expanduser(words[1].value))
        candidates = list(run.command.inputs)
        if run.words and _name(run.words[0]) in READING_COMMANDS:
            candidates += _operands(run.words[1:])
        for base in cwds:
            for word, path in _paths(candidates, base):
                rule = rule_for(path)
                if rule is not None:
                    return word, rule
    return None


def _operands(words: list[Word]) -> Iterator[Word]:
    """Arguments that may name files: non-options, and the values of ``--x=`` / ``if=``."""
    for word in words:
        value = word.value
        if value.startswith("-") or "=" in value:
            if "=" not in value:
                continue
            yield _after_eq(word)
        else:
            yield word


def _paths(words: list[Word], cwd: Path) -> Iterator[tuple[str, Path]]:
    for word in words:
        if word.exact:
            if word.value:
                yield word.value, cwd / os.path.expanduser(word.value)
        elif not word.unknown:
            # A glob: expand it as the shell would (bounded).
            pattern = os.path.expanduser(word.pattern)
            for i, match in enumerate(glob.iglob(pattern, root_dir=cwd, include_hidden=True)):
                if i >= 1000:
                    break
                yield match, cwd / match


# ------------------------------------------------- git's configured programs

READ_ONLY_GIT = frozenset(
    {"status", "log", "diff", "show", "blame", "annotate", "shortlog", "whatchanged",
     "ls-files", "ls-tree", "cat-file", "rev-parse", "rev-list", "describe", "grep",
     "diff-files", "diff-index", "diff-tree", "show-ref", "for-each-ref", "reflog"}
)  # fmt: skip
"""git subcommands that only read: they get :func:`git_safety_env`."""

_GIT_NEUTRAL = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),  # status runs post-index-change when it refreshes
    ("core.pager", "cat"),
    ("log.showSignature", "false"),
    ("protocol.allow", "never"),  # a partial clone's lazy fetch (remote helpers, ssh)
)
"""Settings that run a program, set to what runs nothing, whatever the repository says."""

_PLAIN_DIFF = 'f() { diff -u --label "a/$1" --label "b/$1" "$2" "$5"; [ $? -le 1 ]; }; f'
"""Stands in for a repository's external diff program (``diff.external``, a driver's
``command``): the system's ``diff`` of the two files git hands it (path, old file, old
hex, old mode, new file, …). An empty value would make git fail ("cannot run")."""

_GIT_DRIVERS = (
    (re.compile(r"filter\..+\.(clean|smudge|process)"), ""),
    (re.compile(r"diff\..+\.textconv"), "cat"),
    (re.compile(r"diff\.(.+\.command|external)"), _PLAIN_DIFF),
    (re.compile(r"protocol\..+\.allow"), "never"),
    (re.compile(r"gpg\.(.+\.)?program"), "false"),
)
"""Settings named after a driver (chosen by ``.gitattributes``): each one the
repository's own config sets is overridden with a value that runs nothing of its."""

_REPOSITORY_SCOPES = ("local", "worktree")


def reads_git_only(line: str) -> bool:
    """Whether ``line`` runs git, and only git subcommands that read (:data:`READ_ONLY_GIT`)."""
    _parsed, runs = analyze(line)
    gits = [run.words for run in runs if run.words and _name(run.words[0]) == "git"]
    return bool(gits) and all(
        len(words) > 1 and words[1].exact and words[1].value in READ_ONLY_GIT for words in gits
    )


def git_safety_env(line: str, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Extra environment for ``line``: when it runs only read-only git subcommands,
    ``GIT_CONFIG_*`` overrides that stop the repository's own configuration (a cloned or
    copied ``.git/config``, files it includes) from running programs: fsmonitor, hooks,
    pager, external diff, filter and diff drivers, signature programs, transports.

    ``git status`` is auto-approved by default; without this, a crafted repository's
    ``core.fsmonitor`` runs code with the user's rights whenever the sandbox is off.
    Commands that write (``git commit``) keep the repository's hooks: the user approved
    them knowing they run the project's code. Empty when nothing applies.
    """
    if not reads_git_only(line):
        return {}
    overrides = list(_GIT_NEUTRAL)
    for key in _repository_keys(cwd, env):
        overrides += [(key, value) for pattern, value in _GIT_DRIVERS if pattern.fullmatch(key)]
    count = env.get("GIT_CONFIG_COUNT", "")
    start = int(count) if count.isdigit() else 0
    extra = {"GIT_CONFIG_COUNT": str(start + len(overrides))}
    for i, (key, value) in enumerate(overrides, start):
        extra[f"GIT_CONFIG_KEY_{i}"] = key
        extra[f"GIT_CONFIG_VALUE_{i}"] = value
    return extra


def _repository_keys(cwd: Path, env: dict[str, str]) -> list[str]:
    """Names of the settings the repository at ``cwd`` sets itself (its config and the
    files it includes), as git would find that repository with ``env``. Listing the
    configuration runs nothing of the repository's."""
    try:
        done = subprocess.run(
            ["git", "--no-pager", "config", "--list", "--show-scope", "--name-only"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    keys = []
    for line in done.stdout.splitlines():
        scope, _, key = line.partition("\t")
        if scope in _REPOSITORY_SCOPES:
            keys.append(key)
    return keys
