"""Where the project's data directories are. In a source checkout (and an editable install) abis/
and sql/ sit beside the package; a wheel installs them as data files under
<prefix>/share/og-indexer/ (pyproject.toml, [tool.setuptools.data-files])."""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """abis/ or sql/: the source tree's, else the installed copy (a virtualenv or system install, or
    pip's --user scheme). When neither exists the source path is returned, so that the error a
    missing file raises names where it was looked for."""
    source = _SOURCE_ROOT / name
    if source.is_dir():
        return source
    for prefix in (sysconfig.get_path("data"), sys.prefix, site.USER_BASE):
        if prefix:
            installed = Path(prefix, "share", "og-indexer", name)
            if installed.is_dir():
                return installed
    return source
