"""Attacks on the command policy: a hostile model writes command lines meant to slip a
denied command past ``denied_commands``, or to run hidden code under an allowed prefix.

Every row goes through the real policy (``AutoApprovePolicy.evaluate``), with the kind of
lists a user really writes.
"""

from __future__ import annotations

import pytest

from kilo_tui.core.approval import Action, AutoApprovePolicy, AutoApproveSettings

ALLOWED = (
    "git status", "git log", "git diff", "git push", "git fetch", "git clone", "npm test",
    "npm run", "ls", "cat", "grep", "rg", "find", "sed", "tar", "echo", "printf", "test",
    "awk", "read", "xargs", "touch",
)  # fmt: skip
DENIED = ("rm", "curl", "git push --force", "sudo")
POLICY = AutoApprovePolicy(
    AutoApproveSettings(execute=True, allowed_commands=ALLOWED, denied_commands=DENIED)
)


def verdict(command: str) -> tuple[str, str]:
    decision = POLICY.evaluate(
        Action(kind="command", tool="execute_command", title=command, command=command)
    )
    return decision.verdict, decision.rule


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        # wrappers, with their options and assignments
        ("env /usr/bin/RM -rf victim", "rm"),
        ("env -i FOO=1 /usr/bin/rm -rf victim", "rm"),
        ("nohup timeout -s KILL 5 nice -n 5 stdbuf -o0 rm x", "rm"),
        ("time rm x", "rm"),
        ("command rm x", "rm"),
        ("exec rm x", "rm"),
        ("builtin rm x", "rm"),
        ("doas -u root rm x", "rm"),
        ("echo x | xargs -0 -n1 rm", "rm"),
        ("echo x | xargs -I{} sh -c 'rm {}'", "rm"),
        ("coproc rm x", "rm"),
        ("taskset -c 0 rm x", "rm"),
        ("watch -n 1 'rm -rf x'", "rm"),
        ("busybox rm x", "rm"),
        # the user's shell may be zsh or fish
        ("=rm x", "rm"),
        ("noglob rm x", "rm"),
        ("echo hi; and rm x", "rm"),
        # paths and case
        ("/bin/rm x", "rm"),
        ("./rm x", "rm"),
        ("RM x", "rm"),
        ("/usr/bin/Curl http://example.invalid", "curl"),
        # quoting and escapes are not word boundaries (plain quotes: tests/core/test_policy.py)
        ("$'\\x72\\x6d' x", "rm"),
        # $IFS and other expansions
        ("rm$IFS-rf x", "rm"),
        ("curl${IFS}example.invalid", "curl"),
        ("/bin/r? -rf x", "rm"),
        ("/usr/bin/en? rm -rf x", "rm"),
        ("$'env' rm -rf x", "rm"),
        # git's global options do not hide the subcommand
        ("git -C . push --force", "git push --force"),
        ("git -c user.name=x push --force", "git push --force"),
        ("git --git-dir=.git --work-tree . push --force", "git push --force"),
        ("git --no-pager PUSH --Force", "git push --force"),
        # anywhere in the line, even next to parts that would only ask, even nested
        ("git log > out.txt && rm x", "rm"),
        ("echo $(rm x)", "rm"),
        ("echo `rm x`", "rm"),
        ('echo "$(rm x)"', "rm"),
        ("cat <(curl example.invalid)", "curl"),
        ("echo ${x:-$(rm y)}", "rm"),
        ("git status <<< $(rm x)", "rm"),
        ("cat <<EOF\n$(rm x)\nEOF", "rm"),
        ("bash -c 'rm -rf x'", "rm"),
        ("sh -ec 'curl example.invalid'", "curl"),
        ("eval 'r''m -rf x'", "rm"),
        ("env -S 'rm -rf x'", "rm"),
        ("find . -name '*.tmp' -exec rm {} \\;", "rm"),
        ("find . -execdir curl example.invalid \\;", "curl"),
        ('for f in *; do rm "$f"; done', "rm"),
        ("f() { rm x; }; f", "rm"),
        ("if ls; then rm x; fi", "rm"),
        ("(rm x)", "rm"),
        ("{ rm x; }", "rm"),
    ],
)
def test_a_denied_command_is_denied_however_it_is_written(command: str, rule: str) -> None:
    assert verdict(command) == ("deny", f"denied_commands: {rule}")


@pytest.mark.parametrize(
    ("command", "why"),
    [
        # arithmetic and subscripts evaluate code
        ("echo $[1+2]", "arithmetic"),
        ("echo $((1+$(id)))", "arithmetic"),
        ("test -v 'a[$(id)]'", "array subscript"),
        ("printf -v 'a[$(id)]' x", "array subscript"),
        ("read -a 'a[$(id)]'", "array subscript"),
        ("[[ -v 'a[$(id)]' ]]", "array subscripts"),
        ("declare -a 'a[$(id)]'", "declaration"),
        ("let 'x=a[$(id)]'", "let"),
        # flags that make an allowed program run other code
        ("npm test --prefix /tmp/evil", "--prefix"),
        ("npm run build --script-shell=/tmp/evil.sh", "--script-shell"),
        ("git -c core.pager=evil log", "git -c"),
        ("git fetch --upload-pack='touch x' origin", "--upload-pack"),
        ("git clone -u 'touch x' repo dir", "-u"),
        ("git clone -qu 'touch x' repo dir", "-u"),
        ("npm exec -yc 'touch x'", "-c"),
        ("git push --receive-pack=evil origin", "--receive-pack"),
        ("git push --exec=evil origin", "--exec"),
        ("find . -delete", "-delete"),
        ("find . -exec echo {} \\;", "-exec"),
        ("find . -ok echo {} \\;", "-ok"),
        ("sed -e '1e id' f", "sed script"),
        ("sed 's/a/b/e' f", "sed script"),
        ("sed 's/a/b/w out' f", "sed script"),
        ("sed -n 'w out' f", "sed script"),
        ("sed -f script.sed f", "sed -f"),
        ("sed -l 5 's/a/b/e' f", "sed script"),
        ("rg --pre ./evil foo", "--pre"),
        ("tar --to-command=sh -xf a.tar", "tar"),
        ("tar --checkpoint=1 --checkpoint-action=exec=id -cf a.tar .", "tar"),
        ("tar -I ./evil -xf a.tar", "tar"),
        ("xargs echo < list.txt", "xargs"),
        ("awk '{system(\"id\")}' f", "awk"),
        # the working directory changes
        ("git -C /tmp status", "git -C"),
        ("env -C /tmp ls", "env -C"),
        ("cd /tmp && ls", "'cd'"),
        # assignments behind a wrapper
        ("env LD_PRELOAD=/tmp/x.so ls", "environment assignment"),
        ("/usr/bin/ec?o hi", "not known before it runs"),
        # what the parser cannot understand (a brace expansion as the command)
        ("{ls,-la}", "does not understand"),
        ("echo " + "$(" * 400 + "ls" + ")" * 400, "nested too deeply"),
        ("ls " + "x" * 70_000, "longer than 64 KiB"),
    ],
)
def test_hidden_code_is_never_auto_approved(command: str, why: str) -> None:
    result, rule = verdict(command)
    assert result == "ask", (command, rule)
    assert rule.startswith("never auto-approved: ") and why in rule, rule


@pytest.mark.parametrize(
    "command",
    [
        "git --no-pager log -5",
        "timeout 60 npm test",
        "nice -n 5 npm run lint",
        "ls 2>/dev/null >&2 <&-",
        "git status 3<&0 2>&1",
    ],
)
def test_transparent_wrappers_and_fd_duplication_stay_allowed(command: str) -> None:
    assert verdict(command)[0] == "allow", verdict(command)


@pytest.mark.parametrize(
    "command",
    [
        "ls 1>&2 2>&1 | grep -v foo >&2",
        "sed -n '1,5p;/x/d' f",
        "awk '{print $1}' f",
        "find . -name '*.py' -type f",
        "tar -tf a.tar",
        "git push -u origin main",
    ],
)
def test_the_code_running_checks_leave_plain_uses_alone(command: str) -> None:
    """A guard against over-blocking (these already held before the checks existed)."""
    assert verdict(command)[0] == "allow", verdict(command)


def test_the_working_directory_is_part_of_the_decision() -> None:
    def at(cwd: str | None, outside: bool = False) -> tuple[str, str]:
        action = Action(
            kind="command",
            tool="execute_command",
            title="ls",
            command="ls",
            cwd=cwd,
            outside_workspace=outside,
        )
        decision = POLICY.evaluate(action)
        return decision.verdict, decision.rule

    assert at(None) == ("allow", "allowed_commands: ls")
    assert at("src") == ("ask", "cwd is not the workspace root: src")
    assert at("/etc", outside=True) == ("ask", "cwd is outside the workspace: /etc")
    # the deny list still wins wherever it runs
    denied = Action(
        kind="command", tool="t", title="rm x", command="rm x", cwd="/", outside_workspace=True
    )
    assert POLICY.evaluate(denied).verdict == "deny"
    # and "always allow" cannot be offered for another directory: it would not apply
    elsewhere = Action(kind="command", tool="t", title="make", command="make", cwd="src")
    assert POLICY.always_allow_rule(elsewhere) is None
