"""The trust boundary: every decision about what the agent may touch, run or reveal.

Everything in a workspace the user did not write is untrusted input (a cloned
repository's ``.kilocode/`` files, ``.kilocodemodes``, nested git repositories,
symlinks, file names), and so is everything the model sends. Tools never decide trust
themselves: they ask the modules of this package, and nothing else re-implements them.

- ``paths``    resolve a model-supplied path: containment, symlinks, special files,
               protected locations; the only way a tool opens a file.
- ``ignore``   ``.kilocodeignore`` (gitignore syntax), reloaded when it changes.
- ``commands`` parse a command line and decide allow / ask / deny (wrappers unwrapped,
               working directory included).
- ``secrets``  which environment variables a child process gets, and redaction of
               known key values from anything stored or sent.
- ``project``  what an untrusted project file may do before and after the user trusts
               its exact content.
- ``sandbox``  confinement of the commands that do run (bubblewrap / Landlock).
- ``network``  which addresses the agent may reach for the model: a host resolved once,
               private and local addresses refused, the checked address connected to.

The gate that asks the user lives in ``kilo_tui.core.approval``. ``docs/SECURITY.md``
states the threat model and where each promise is enforced.
"""
