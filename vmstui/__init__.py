"""vmstui: a keyboard-driven terminal console for security control rooms."""

__version__ = "0.1.0"
