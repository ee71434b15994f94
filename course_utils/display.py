"""How the course shows numbers and small two-column reports, as text and in Jupyter."""

from __future__ import annotations

from html import escape


def format_bytes(num_bytes: float) -> str:
    """Human-readable size in binary units (GiB, MiB)."""
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def format_count(num: int) -> str:
    """A parameter count in billions, millions or thousands (``140.62 B``)."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if num >= scale:
            return f"{num / scale:.2f} {unit}"
    return str(num)


class RowsReport:
    """A report made of ``(label, value)`` rows: aligned text in a terminal, a table in Jupyter.

    Subclasses define ``rows()``.
    """

    def rows(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def __str__(self) -> str:
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{escape(label)}</th>"
            f"<td style='text-align:left'>{escape(value)}</td></tr>"
            for label, value in self.rows()
        )
        return f"<table>{body}</table>"
