"""The demand report: built from the og views (report.build), then rendered (report.render)."""

from .build import (
    FUNDING_CLASSES,
    WINDOWS,
    Conn,
    Report,
    ReportError,
    WalrusSection,
    build_report,
    funding_section,
    walrus_section,
)
from .render import FORMATS, render, render_csv, render_json, render_table, render_walrus_table, table_renderable

__all__ = [
    "FORMATS",
    "FUNDING_CLASSES",
    "WINDOWS",
    "Conn",
    "Report",
    "ReportError",
    "WalrusSection",
    "build_report",
    "funding_section",
    "render",
    "render_csv",
    "render_json",
    "render_table",
    "render_walrus_table",
    "table_renderable",
    "walrus_section",
]
