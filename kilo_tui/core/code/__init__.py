"""Code intelligence: what a source file defines, and how to cut it into pieces.

- ``syntax``  tree-sitter: language by file name, definitions (classes, functions,
              methods, types…) with their line ranges, and syntax-aware chunks for the
              codebase index. Works on text the caller already read: nothing in this
              package opens a file (the trust boundary, ``core/trust/paths``, does).
"""
