"""Sub-commands of the ``kilo-tui`` CLI, one module each.

Each module defines ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>`` as the parser default. Modules must stay cheap to import
(no litellm, no textual at module level): ``kilo-tui --help`` imports all of them.
"""
