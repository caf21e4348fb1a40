"""Optional Apertium machine translation (shown to readers of the other language)."""
