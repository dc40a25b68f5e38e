"""The one place litellm is imported: lazily, once, quietly.

Importing litellm takes seconds and, left to its defaults, has side effects no
terminal app can accept: it fetches a price list from the network, loads a ``.env``
file from the current directory into ``os.environ`` (and so into every command the
agent runs), writes log lines and banners to stdout/stderr, right over the TUI, and
downloads tokenizers from Hugging Face when it counts tokens for some model names.
:func:`load_litellm` switches all of that off before and after the import.

Call :func:`warm_up_in_background` early (e.g. once the first frame is drawn) so the
first request does not wait for the import.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from types import ModuleType
from typing import Any

# Set before the import where the user has not chosen otherwise.
_IMPORT_DEFAULTS = {
    # Use the price list bundled with the package instead of fetching one at import.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOG": "ERROR",
}
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")

_lock = threading.Lock()
_module: ModuleType | None = None


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
            _module = litellm
    return _module


def is_loaded() -> bool:
    """True once :func:`load_litellm` has finished importing litellm."""
    return _module is not None


def warm_up_in_background() -> threading.Thread:
    """Start importing litellm in a daemon thread and return that thread."""
    thread = threading.Thread(target=_warm_up, name="litellm-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up() -> None:
    try:
        load_litellm()
    except Exception:  # the first real request will raise it again, where it is shown
        logging.getLogger(__name__).exception("importing litellm failed")


def _silence_warnings() -> None:
    # Deprecation and pydantic warnings raised from inside litellm are its business,
    # not the user's; anything else still reaches whoever configured warnings.
    warnings.filterwarnings("ignore", module=r"litellm(\.|$)")


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
