"""fetch_url against a real HTTP server on 127.0.0.1, driven by the model through the
fake provider: what the model receives, what the guard refuses, what the gate asks."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.tools.base import ToolError
from kilo_tui.core.tools.web import Resolver, fetch
from kilo_tui.core.trust import network
from kilo_tui.core.trust.project import remembered_rules_file
from tests.core.test_agent import answer_approvals, last_tool_result, main_requests, offered
from tests.fakeserver import FakeLLMServer, Turn, without_environment
from tests.website import JSON_BODY, Site


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def other_site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


PRIVATE_OK = "[auto_approve]\nbrowser = true\n[web]\nallow_private_addresses = true\n"


async def run_fetches(
    make_runtime: Callable[..., AgentRuntime],
    llm: FakeLLMServer,
    urls: list[str],
    config: str = PRIVATE_OK,
    **options: Any,
) -> tuple[AgentRuntime, list[str]]:
    """A task in which the model fetches each of ``urls`` in turn; the tool results
    the model received, in order."""
    runtime = make_runtime(config, **options)
    llm.script(
        *(Turn.tool("fetch_url", url=u) for u in urls), Turn.tool("attempt_completion", result="ok")
    )
    outcome = await runtime.submit("read the pages")
    assert outcome.status == "completed"
    requests = main_requests(llm)
    return runtime, [without_environment(last_tool_result(r)) for r in requests[1 : len(urls) + 1]]


# ----------------------------------------------------------- what the model reads


async def test_headless_task_reads_a_local_page_as_markdown(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    runtime, (result,) = await run_fetches(
        make_runtime, llm_env, [site.url("/article")], interactive=False
    )
    assert f"URL: {site.url('/article')}" in result
    assert "Title: Foxes & dogs" in result
    assert "# The quick brown fox" in result
    assert (
        f"The fox **jumps** over [the lazy dog](http://127.0.0.1:{site.port}/dogs/lazy), 42 times."
        in result
    )
    assert "First point" in result and "Second point" in result
    for chrome in ("Pricing menu", "Login menu", "cookies", "Sponsored", "Copyright",
                   "trackingSecret", "ExampleCorp"):  # fmt: skip
        assert chrome not in result, chrome
    # what the session keeps is what the model got
    stored = [m for m in runtime.store.load_messages(runtime.task_id or "") if m["role"] == "tool"]
    assert "# The quick brown fox" in stored[0]["content"]


async def test_json_and_text_pass_through_binary_and_errors_are_explained(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    paths = [
        "/data.json", "/notes.txt", "/logo.png", "/unlabeled", "/missing", "ftp://x/y", "/latin1",
    ]  # fmt: skip
    _, results = await run_fetches(
        make_runtime, llm_env, [site.url(p) if p[0] == "/" else p for p in paths]
    )
    as_json, text, png, unlabeled, missing, ftp, latin1 = results
    assert as_json.endswith(f"\n\n{JSON_BODY}") and "Content-Type: application/json" in as_json
    assert text.endswith("\n\nline one\nline two\n")
    assert f"Not read: {site.url('/logo.png')} is binary content (image/png, 216 bytes" in png
    assert "fetch_url reads web pages, JSON and plain text only" in png
    assert "is binary content (undeclared type" in unlabeled
    assert "Status: HTTP 404 Not Found" in missing and "# No such page" in missing
    assert ftp.startswith("Only http and https URLs can be fetched, not ftp://x/y")
    assert latin1.endswith("\n\nCafé crème € 5")


async def test_redirect_chain_is_followed_and_a_loop_is_cut(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    _, (chain, loop) = await run_fetches(
        make_runtime, llm_env, [site.url("/hop1"), site.url("/loop")]
    )
    assert f"URL: {site.url('/article')} (redirected from {site.url('/hop1')})" in chain
    assert "# The quick brown fox" in chain
    assert loop.startswith("Not fetched: more than 5 redirects")
    assert [p for p, _ in site.hits].count("/loop") == 6


async def test_size_cap_stops_the_download_and_the_model_gets_a_cut_result(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    config = "command_output_limit = 4000\n" + PRIVATE_OK + "max_size = 200000\n"
    runtime, (result,) = await run_fetches(make_runtime, llm_env, [site.url("/huge")], config)
    assert "Note: only the first 200,000 bytes were read ([web] max_size)" in result
    assert "characters (0 lines) of output omitted" in result
    assert len(result) < 6000
    assert site.huge_sent < 20_000_000  # the client hung up long before 50 MB
    stored = [m for m in runtime.store.load_messages(runtime.task_id or "") if m["role"] == "tool"]
    assert len(stored[0]["content"]) < 8000


async def test_a_slow_endpoint_hits_the_deadline(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    started = time.monotonic()
    _, (result,) = await run_fetches(
        make_runtime, llm_env, [site.url("/slow")], PRIVATE_OK + "timeout = 1\n"
    )
    assert result.startswith(f"Fetching {site.url('/slow')} took longer than 1 s; stopped.")
    assert time.monotonic() - started < 30


# ------------------------------------------------------------- the guard


async def test_private_addresses_are_refused_unless_the_setting_allows_them(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    spellings = [
        site.url("/article"),
        f"http://localhost:{site.port}/article",
        f"http://2130706433:{site.port}/article",
        f"http://0x7f.1:{site.port}/article",
        f"http://[::ffff:127.0.0.1]:{site.port}/article",
    ]
    _, results = await run_fetches(
        make_runtime, llm_env, spellings, "[auto_approve]\nbrowser = true\n"
    )
    for url, result in zip(spellings, results, strict=True):
        assert result.startswith("Not fetched: "), url
        assert "a loopback address" in result
        assert "[web] allow_private_addresses = true" in result
    assert site.hits == []


def _public_only(site: Site) -> Resolver:
    """A resolver that treats ``site`` as a public host (the test's stand-in for the
    internet) and applies the real guard to everything else."""

    async def resolve(host: str, port: int) -> str:
        return await network.resolve(host, port, allow_private=port == site.port)

    return resolve


async def _approve_all(host: str, url: str) -> None:
    return None


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{other}/secret",
        "http://2130706433:{other}/secret",
        "http://localhost:{other}/secret",
        "http://[::1]:{other}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/admin",
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(
    site: Site, other_site: Site, target: str
) -> None:
    location = target.format(other=other_site.port)
    with pytest.raises(ToolError, match=r"Not fetched: .*allow_private_addresses"):
        await fetch(
            site.url(f"/redirect?to={location}"),
            resolve=_public_only(site),
            approve_host=_approve_all,
            timeout=10,
            max_size=1000,
        )
    assert [p for p, _ in site.hits] == [f"/redirect?to={location}"]
    assert other_site.hits == []


async def test_redirect_to_another_scheme_is_refused(site: Site) -> None:
    with pytest.raises(ToolError, match=r"not file:///etc/passwd \(a redirect from"):
        await fetch(
            site.url("/redirect?to=file:///etc/passwd"),
            resolve=_public_only(site),
            approve_host=_approve_all,
            timeout=10,
            max_size=1000,
        )


async def test_the_request_goes_to_the_checked_address_with_the_urls_host(site: Site) -> None:
    resolved: list[str] = []

    async def resolve(host: str, port: int) -> str:
        resolved.append(host)
        return await network.resolve(host, port, allow_private=True)

    page = await fetch(
        f"http://LocalHost:{site.port}/notes.txt",
        resolve=resolve,
        approve_host=_approve_all,
        timeout=10,
        max_size=1000,
    )
    assert page.body == b"line one\nline two\n"
    assert resolved == ["localhost"]  # looked up once
    assert site.hits == [("/notes.txt", f"localhost:{site.port}")]


async def test_each_hop_opens_its_own_connection_to_its_checked_address(site: Site) -> None:
    """No connection is reused across hops: one made (and, for https, verified) for one
    host never carries the request for another host that resolved to the same address."""
    await fetch(
        site.url("/hop1"),
        resolve=_public_only(site),
        approve_host=_approve_all,
        timeout=10,
        max_size=100_000,
    )
    assert [p for p, _ in site.hits] == ["/hop1", "/hop2", "/article"]
    assert len(set(site.clients)) == 3


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` that no CA vouches for, and its key."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_keeps_the_hosts_name_for_tls_while_connecting_to_the_checked_address(
    tmp_path: Path,
) -> None:
    """Pinned to 127.0.0.1, the TLS handshake still names ``localhost`` (SNI) and the
    certificate is still verified: a self-signed one is refused."""
    cert, key = _self_signed(tmp_path, "localhost")
    names: list[str | None] = []
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def record_sni(sock: Any, name: str | None, context: Any) -> None:
        names.append(name)

    tls.sni_callback = record_sni
    site = Site()
    site.httpd.socket = tls.wrap_socket(site.httpd.socket, server_side=True)
    try:
        with pytest.raises(ToolError, match="CERTIFICATE_VERIFY_FAILED"):
            await fetch(
                f"https://localhost:{site.port}/notes.txt",
                resolve=lambda host, port: network.resolve(host, port, allow_private=True),
                approve_host=_approve_all,
                timeout=10,
                max_size=1000,
            )
    finally:
        site.close()
    assert names == ["localhost"]
    assert site.hits == []


# ------------------------------------------------------- modes and approval


async def test_only_modes_with_the_browser_group_offer_fetch_url(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    for slug, offers in (("code", True), ("ask", True), ("orchestrator", False)):
        runtime = make_runtime(PRIVATE_OK, mode=slug)
        llm_env.script(Turn.tool("fetch_url", url=site.url("/notes.txt")))
        await runtime.submit("read it")
        requests = main_requests(llm_env)
        assert ("fetch_url" in offered(requests[-2])) is offers, slug
        result = last_tool_result(requests[-1])
        if offers:
            assert "line one" in result
        else:
            assert "not available in orchestrator mode" in result
        await runtime.aclose()
    assert len(site.hits) == 2


async def test_headless_without_the_toggle_refuses_before_any_request(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    config = "[web]\nallow_private_addresses = true\n"
    runtime = make_runtime(config, interactive=False)
    resolved: list[ev.ApprovalResolved] = []
    runtime.bus.subscribe(resolved.append, ev.ApprovalResolved)
    llm_env.script(Turn.tool("fetch_url", url=site.url("/article")))
    await runtime.submit("read it")
    result = last_tool_result(main_requests(llm_env)[1])
    assert result.startswith(f"The user denied fetching {site.url('/article')}.")
    assert "auto_approve.browser = true" in result and "browser:<domain>" in result
    assert [(r.kind, r.approved, r.by, r.rule) for r in resolved] == [
        ("browser", False, "headless", "browser = false")
    ]
    assert site.hits == []


async def test_always_allow_remembers_the_domain_and_a_redirect_elsewhere_asks_again(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site, workspace: Any
) -> None:
    runtime = make_runtime("[web]\nallow_private_addresses = true\n")
    asked = answer_approvals(runtime, lambda e: ev.ApprovalReply(approved=True, always=True))
    elsewhere = f"http://localhost:{site.port}/notes.txt"
    _, results = await run_fetches(
        lambda *a, **k: runtime,
        llm_env,
        [site.url("/data.json"), site.url("/article"), site.url(f"/redirect?to={elsewhere}")],
    )
    assert [(a.kind, a.title) for a in asked] == [
        ("browser", f"Fetch {site.url('/data.json')}"),
        ("browser", f"Follow a redirect to {elsewhere}"),
    ]
    assert asked[0].always_allow_rule == 'always_allow += "browser:127.0.0.1"'
    assert "line one" in results[2]
    remembered = remembered_rules_file(workspace).read_text()
    assert "browser:127.0.0.1" in remembered and "browser:localhost" in remembered


async def test_the_time_the_user_takes_to_approve_is_not_counted_against_the_deadline(
    site: Site,
) -> None:
    async def slow_user(host: str, url: str) -> None:
        await asyncio.sleep(1.5)

    page = await fetch(
        site.url("/notes.txt"),
        resolve=_public_only(site),
        approve_host=slow_user,
        timeout=1,
        max_size=1000,
    )
    assert page.body == b"line one\nline two\n"


async def test_a_denied_fetch_tells_the_model_and_reaches_nothing(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    runtime = make_runtime("[web]\nallow_private_addresses = true\n")
    answer_approvals(runtime, lambda e: ev.ApprovalReply(approved=False, feedback="not now"))
    _, (result,) = await run_fetches(lambda *a, **k: runtime, llm_env, [site.url("/article")])
    assert result.startswith(f"The user denied fetching {site.url('/article')}.")
    assert "not now" in result
    assert site.hits == []


async def test_cancel_stops_a_fetch(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, site: Site
) -> None:
    runtime = make_runtime(PRIVATE_OK)
    llm_env.script(Turn.tool("fetch_url", url=site.url("/slow")))
    turn = asyncio.ensure_future(runtime.submit("read it"))
    while not site.hits:
        await asyncio.sleep(0.05)
    runtime.cancel()
    outcome = await asyncio.wait_for(turn, 20)
    assert outcome.status == "cancelled"
    stored = [m for m in runtime.store.load_messages(runtime.task_id or "") if m["role"] == "tool"]
    assert "cancelled" in stored[0]["content"].lower()
