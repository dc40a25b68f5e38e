"""Each provider's key goes to that provider's server and nowhere else.

Every provider's key is set in the environment at once; each provider's server is a
recorder on 127.0.0.1 (its ``api_base`` in the config). A request is sent the way the
agent sends it (``runtime.route`` → ``stream_completion``), and the test reads the
credential header the server received.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import Settings
from kilo_tui.core.llm.client import LLMError, stream_completion
from kilo_tui.core.llm.providers import KEY_ENV, route
from tests.fakegateway import FakeGateway
from tests.fakeserver import FakeLLMServer

pytestmark = pytest.mark.timeout(60)

KEYS = {env: f"secret-{name}-0123456789" for name, env in KEY_ENV.items()}
KEYS["KILOCODE_TOKEN"] = "kilo-token-good"
VERTEX_TOKEN = "ya29.vertex-access-token"


class Recorder:
    """Answers every request with HTTP 400 after recording its path and headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder.seen.append({"path": self.path, "headers": headers})
                status, answer = 400, {"error": {"message": "recorded", "type": "invalid"}}
                if self.path == "/token":  # an OAuth token endpoint, for Vertex
                    status, answer = 200, {"access_token": VERTEX_TOKEN, "expires_in": 3600}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def every_key_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for env, value in KEYS.items():
        monkeypatch.setenv(env, value)
    for env in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "KILO_API_URL", "LM_STUDIO_API_BASE"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))


async def send(tmp_path: Path, providers: dict[str, Any], model: str) -> None:
    """One request for ``model`` as the agent makes it; errors from the recorder are fine."""
    runtime = AgentRuntime(
        workspace=tmp_path, settings=Settings(providers=providers), start_mcp=False
    )
    route = runtime.route(model)
    with contextlib.suppress(LLMError):
        await stream_completion(
            model=route.model,
            messages=[{"role": "user", "content": "hi"}],
            api_base=route.api_base,
            api_key=route.api_key,
            extra_params=route.params(),
            max_retries=0,
            request_timeout=20,
        )


def leaked(headers: dict[str, str], own: str | None) -> list[str]:
    """The other providers' secrets found anywhere in ``headers``."""
    text = json.dumps(headers)
    return [env for env, key in KEYS.items() if key in text and key != own]


@pytest.mark.parametrize(
    ("provider", "model", "header", "expected"),
    [
        ("openai", "openai/gpt-4o-mini", "authorization", "Bearer " + KEYS["OPENAI_API_KEY"]),
        ("anthropic", "anthropic/claude-sonnet-4-5", "x-api-key", KEYS["ANTHROPIC_API_KEY"]),
        (
            "deepseek",
            "deepseek/deepseek-chat",
            "authorization",
            "Bearer " + KEYS["DEEPSEEK_API_KEY"],
        ),
        (
            "mistral",
            "mistral/codestral-latest",
            "authorization",
            "Bearer " + KEYS["MISTRAL_API_KEY"],
        ),
        ("glama", "glama/anthropic/claude-x", "authorization", "Bearer " + KEYS["GLAMA_API_KEY"]),
        ("unbound", "unbound/openai/gpt-x", "authorization", "Bearer " + KEYS["UNBOUND_API_KEY"]),
        (
            "requesty",
            "requesty/openai/gpt-x",
            "authorization",
            "Bearer " + KEYS["REQUESTY_API_KEY"],
        ),
        ("openrouter", "openrouter/x/y", "authorization", "Bearer " + KEYS["OPENROUTER_API_KEY"]),
        ("gemini", "gemini/gemini-2.5-flash", "x-goog-api-key", KEYS["GEMINI_API_KEY"]),
    ],
)
async def test_each_provider_receives_its_own_key_and_no_other(
    tmp_path: Path, recorder: Recorder, provider: str, model: str, header: str, expected: str
) -> None:
    base = recorder.url + ("/v1" if provider not in ("anthropic", "gemini") else "")
    await send(tmp_path, {provider: {"api_base": base}}, model)
    assert recorder.seen, "the request never reached the provider's configured base"
    headers = recorder.seen[-1]["headers"]
    assert headers.get(header) == expected
    own = expected.removeprefix("Bearer ")
    assert leaked(headers, own) == []
    assert own not in recorder.seen[-1]["path"]  # not in the URL either


async def test_openrouter_requests_carry_kilo_attribution(
    tmp_path: Path, recorder: Recorder
) -> None:
    await send(tmp_path, {"openrouter": {"api_base": recorder.url + "/v1"}}, "openrouter/x/y")
    headers = recorder.seen[-1]["headers"]
    assert headers["http-referer"] == "https://kilocode.ai"
    assert headers["x-title"] == "Kilo Code"


async def test_a_configured_key_wins_over_the_environment(
    tmp_path: Path, recorder: Recorder
) -> None:
    providers = {"anthropic": {"api_base": recorder.url, "api_key": "configured-anthropic-key"}}
    await send(tmp_path, providers, "anthropic/claude-sonnet-4-5")
    assert recorder.seen[-1]["headers"]["x-api-key"] == "configured-anthropic-key"


async def test_an_openai_compatible_server_gets_its_own_key_never_openais(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOX_KEY", "box-secret-key-42")
    with FakeLLMServer() as server:
        box = {"kind": "openai_compatible", "api_base": server.base_url, "api_key_env": "BOX_KEY"}
        bare = {"kind": "openai_compatible", "api_base": server.base_url}
        await send(tmp_path, {"box": box, "bare": bare}, "box/fake-model")
        await send(tmp_path, {"box": box, "bare": bare}, "bare/fake-model")
    # The first request goes out at once, without waiting for discovery.
    assert [r["body"]["model"] for r in server.requests] == ["fake-model", "fake-model"]
    box_auth, bare_auth = (c["authorization"] for c in server.credentials)
    assert box_auth == "Bearer box-secret-key-42"
    assert KEYS["OPENAI_API_KEY"] not in bare_auth and bare_auth == "Bearer not-needed"


@pytest.mark.parametrize(
    ("section", "model"),
    [
        ("lm_studio", "lm_studio/qwen"),
        ("lmstudio", "lm_studio/qwen"),
        ("ollama", "ollama_chat/qwen"),
        ("ollama", "ollama/qwen"),
    ],
)
async def test_local_servers_use_their_configured_base_and_no_hosted_key(
    tmp_path: Path, section: str, model: str
) -> None:
    with FakeLLMServer() as server:
        base = server.base_url if section.startswith("lm") else server.base_url.removesuffix("/v1")
        await send(tmp_path, {section: {"api_base": base}}, model)
    assert server.requests, f"{model} did not go to [{section}] api_base"
    for credential in server.credentials:
        assert leaked(credential, None) == []


async def test_the_kilo_gateway_gets_the_kilo_token_and_organization(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeGateway() as gateway:
        providers = {"kilo": {"api_base": gateway.root, "organization_id": "org-7"}}
        await send(tmp_path, providers, "kilo/anthropic/claude-sonnet-4.5")
    assert gateway.chat_credentials() == ["Bearer kilo-token-good"]
    request = gateway.requests[-1]
    assert request["path"] == "/api/gateway/chat/completions"
    assert request["body"]["model"] == "anthropic/claude-sonnet-4.5"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-kilocode-organizationid"] == "org-7"


async def test_without_a_token_the_gateway_gets_the_anonymous_credential_never_openais(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KILOCODE_TOKEN")
    with FakeGateway() as gateway:
        monkeypatch.setenv("KILO_API_URL", gateway.root)
        await send(tmp_path, {}, "kilo/auto")
    assert gateway.chat_credentials() == ["Bearer anonymous"]
    assert gateway.requests[-1]["body"]["model"] == "kilo/auto"


async def test_bedrock_signs_with_the_configured_aws_keys_only(
    tmp_path: Path, recorder: Recorder
) -> None:
    providers = {
        "bedrock": {
            "api_base": recorder.url,
            "region": "eu-west-3",
            "access_key_id": "AKIAFAKEBEDROCK01",
            "secret_access_key": "bedrock-secret-access-key",
        }
    }
    await send(tmp_path, providers, "bedrock/anthropic.claude-3-haiku-20240307-v1:0")
    headers = recorder.seen[-1]["headers"]
    assert "Credential=AKIAFAKEBEDROCK01/" in headers["authorization"]
    assert "/eu-west-3/bedrock/" in headers["authorization"]
    assert leaked(headers, None) == []


def test_the_gateway_url_defaults_to_api_kilo_ai_and_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KILO_API_URL", raising=False)
    assert route({}, "kilo/x/y").api_base == "https://api.kilo.ai/api/gateway"
    monkeypatch.setenv("KILO_API_URL", "http://gw.test:8080/")
    assert route({}, "kilo/x/y").api_base == "http://gw.test:8080/api/gateway"
    # The config wins; a base given with Kilo's legacy path means the same server.
    legacy = {"kilo": {"api_base": "http://other.test/api/openrouter"}}
    assert route(legacy, "kilo/x/y").api_base == "http://other.test/api/gateway"
    assert route(legacy, "kilo/auto").model == "openai/kilo/auto"


async def test_vertex_signs_in_with_the_configured_credentials_file(
    tmp_path: Path, recorder: Recorder
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = tmp_path / "service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "proj-1",
                "private_key_id": "kid",
                "private_key": pem,
                "client_email": "sa@proj-1.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": recorder.url + "/token",
            }
        )
    )
    conf = {
        "project": "proj-7",
        "location": "europe-west4",
        "credentials": str(credentials),
        "api_base": recorder.url,
    }
    await send(tmp_path, {"vertex_ai": conf}, "vertex_ai/gemini-2.5-flash")
    token, chat = recorder.seen
    assert token["path"] == "/token"
    assert "/projects/proj-7/locations/europe-west4/" in chat["path"]
    assert chat["headers"]["authorization"] == f"Bearer {VERTEX_TOKEN}"
    assert leaked(chat["headers"], None) == []
