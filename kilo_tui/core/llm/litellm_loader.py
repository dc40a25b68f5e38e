"""The one place litellm is imported: lazily, once, quietly.

Importing litellm takes seconds and, left to its defaults, has side effects no
terminal app can accept: it fetches a price list from the network, loads a ``.env``
file from the current directory into ``os.environ`` (and so into every command the
agent runs), writes log lines and banners to stdout/stderr, right over the TUI, and
downloads tokenizers from Hugging Face when it counts tokens for some model names.
:func:`load_litellm` switches all of that off before and after the import.

Call :func:`warm_up_in_background` early (e.g. once the first frame is drawn) so the
first request does not wait for the import. The load also imports what litellm would
otherwise import lazily inside the first request (the OpenAI SDK's chat resources, the
default tokenizer), so
that work overlaps whatever else runs before the request, and :func:`request_switches`
keeps litellm's MCP-gateway handler (seconds to import, never used) off the request path.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

# Set before the import where the user has not chosen otherwise.
_IMPORT_DEFAULTS = {
    # Use the price list bundled with the package instead of fetching one at import.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOG": "ERROR",
}
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
# Imported by litellm during the first request; loaded with litellm instead.
_FIRST_REQUEST_MODULES = (
    "openai.resources.chat",
    "litellm._service_logger",
    "litellm.litellm_core_utils.default_encoding",  # its tokenizer, from the package
    "litellm.proxy.openai_files_endpoints.common_utils",
    "anyio._backends._asyncio",
)

_lock = threading.Lock()
_module: ModuleType | None = None
_warm_up: threading.Thread | None = None
_warm_up_lock = threading.Lock()  # not _lock: that one is held for the whole import
_switches: dict[str, Any] = {}


def load_litellm() -> ModuleType:
    """Import litellm (once, thread-safe) with its network, ``.env`` and output off."""
    global _module
    if _module is not None:
        return _module
    with _lock:
        if _module is None:
            for key, value in _IMPORT_DEFAULTS.items():
                os.environ.setdefault(key, value)
            # Not left to the user: any other mode makes the import load the working
            # directory's .env into our environment (and every command the agent runs).
            os.environ["LITELLM_MODE"] = "PRODUCTION"
            _silence_warnings()
            import litellm

            _quiet(litellm)
            _count_tokens_locally(litellm)
            _prepare_first_request(litellm)
            _module = litellm
    return _module


def request_switches() -> dict[str, Any]:
    """Private litellm arguments for every completion (after :func:`load_litellm`)."""
    return dict(_switches)


def is_loaded() -> bool:
    """True once :func:`load_litellm` has finished importing litellm."""
    return _module is not None


def warm_up_in_background() -> threading.Thread:
    """Start importing litellm in a daemon thread (once) and return that thread."""
    global _warm_up
    with _warm_up_lock:
        if _warm_up is None:
            _warm_up = threading.Thread(target=_warm_up_now, name="litellm-warm-up", daemon=True)
            _warm_up.start()
        return _warm_up


def _warm_up_now() -> None:
    try:
        load_litellm()
    except Exception:  # the first real request will raise it again, where it is shown
        logging.getLogger(__name__).exception("importing litellm failed")


def _silence_warnings() -> None:
    # Deprecation and pydantic warnings raised from inside litellm are its business,
    # not the user's; anything else still reaches whoever configured warnings.
    warnings.filterwarnings("ignore", module=r"litellm(\.|$)")
    # Raised in pydantic when litellm dumps an embedding response holding base64
    # vectors (kilo_tui/core/code/embedder.py asks for them).
    warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)


def _quiet(litellm: Any) -> None:
    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on errors
    # Keep prompts and replies out of any logging callback a user's env enables.
    litellm.turn_off_message_logging = True
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        # litellm attaches a handler writing straight to stdout/stderr. Drop it; a
        # NullHandler keeps logging's last-resort stderr handler out too, while
        # records still propagate to whatever log file the application set up.
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.ERROR)


def _prepare_first_request(litellm: Any) -> None:
    """Import now what the first request would import, and switch off litellm's check
    for its MCP gateway, which imports its proxy's MCP handler whenever tools are sent
    (tools of type "mcp" are never sent here: kilo-tui runs MCP servers itself)."""
    import importlib

    for name in _FIRST_REQUEST_MODULES:
        importlib.import_module(name)
    source = Path(litellm.main.__file__).read_text(encoding="utf-8")
    if "_skip_mcp_handler" in source:  # a litellm that knows the switch pops it
        _switches["_skip_mcp_handler"] = True


def _count_tokens_locally(litellm: Any) -> None:
    """Never download a tokenizer: count with the bundled ones (tiktoken, Anthropic's).

    litellm counts tokens after every streamed reply (for its own cost logging) and,
    for ids containing ``llama-3``, ``llama-2`` or ``command-r``, first fetches a
    tokenizer from Hugging Face: offline that stalls each request for a minute. The
    counts are estimates either way; ours come from the provider's usage report.
    """
    utils = litellm.utils
    select = utils.huggingface_tokenizer_kind

    def bundled_only(model: str) -> Any:
        kind = select(model)
        return kind if kind == "anthropic" else None

    utils.huggingface_tokenizer_kind = bundled_only
