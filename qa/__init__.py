"""qa: ask questions of local documents and get cited passages back."""

from __future__ import annotations

__version__ = "0.1.0"
