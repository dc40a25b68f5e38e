"""The agent's tools: one module per family. Each tool is a JSON schema plus async run()."""
