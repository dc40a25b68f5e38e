"""Everything that works without a screen. Never imports textual."""
