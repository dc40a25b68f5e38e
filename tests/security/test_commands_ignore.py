"""``.kilocodeignore`` applies to commands: reading an ignored file through a shell is
refused before any approval, as Kilo Code does, with the rule that blocks it named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilo_tui.core.trust.commands import blocked_read
from kilo_tui.core.trust.ignore import IgnoreMatcher


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / ".kilocodeignore").write_text("secrets/\n*.env\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key.txt").write_text("KEY\n")
    (tmp_path / "prod.env").write_text("TOKEN=1\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "README.md").write_text("hello\n")
    return tmp_path


@pytest.mark.parametrize(
    ("command", "path", "rule"),
    [
        ("cat prod.env", "prod.env", "*.env"),
        ("head -n 5 secrets/key.txt", "secrets/key.txt", "secrets/"),
        ("ls && tail -f ./prod.env", "./prod.env", "*.env"),
        ("git status; grep -r TOKEN secrets", "secrets", "secrets/"),
        ("rg TOKEN prod.env", "prod.env", "*.env"),
        ("sed -n 1p prod.env | sort", "prod.env", "*.env"),
        ("awk 1 prod.env", "prod.env", "*.env"),
        ("sort prod.env", "prod.env", "*.env"),
        ("cp secrets/key.txt /tmp/x", "secrets/key.txt", "secrets/"),
        ("less prod.env", "prod.env", "*.env"),
        ("more prod.env", "prod.env", "*.env"),
        ("type prod.env", "prod.env", "*.env"),
        ("Get-Content prod.env", "prod.env", "*.env"),
        ("gc prod.env", "prod.env", "*.env"),
        ("dd if=prod.env", "prod.env", "*.env"),
        ("cat *.env", "prod.env", "*.env"),
        ("cat < prod.env", "prod.env", "*.env"),
        ("while read l; do echo $l; done < prod.env", "prod.env", "*.env"),
        ("sudo /bin/CAT prod.env", "prod.env", "*.env"),
        ("timeout 5 cat 'prod.env'", "prod.env", "*.env"),
        ("echo $(cat prod.env)", "prod.env", "*.env"),
        ("cat src/../prod.env", "src/../prod.env", "*.env"),
        ("cd src && cat ../prod.env", "../prod.env", "*.env"),
        ("cd secrets; cat key.txt", "key.txt", "secrets/"),
        ("cat .kilocodeignore", ".kilocodeignore", ".kilocodeignore"),
    ],
)
def test_reading_an_ignored_file_is_refused_with_the_rule(
    ws: Path, command: str, path: str, rule: str
) -> None:
    assert blocked_read(command, ws, IgnoreMatcher(ws).kilocode_rule) == (path, rule)


def test_paths_are_taken_from_the_commands_cwd(ws: Path) -> None:
    matcher = IgnoreMatcher(ws)
    assert blocked_read("cat ../prod.env", ws / "src", matcher.kilocode_rule) == (
        "../prod.env",
        "*.env",
    )
    assert blocked_read("cat key.txt", ws / "secrets", matcher.kilocode_rule) == (
        "key.txt",
        "secrets/",
    )


@pytest.mark.parametrize(
    "command", ["cat README.md", "echo prod.env", "ls secrets", "grep -n hello README.md"]
)
def test_other_commands_and_files_pass(ws: Path, command: str) -> None:
    assert blocked_read(command, ws, IgnoreMatcher(ws).kilocode_rule) is None
