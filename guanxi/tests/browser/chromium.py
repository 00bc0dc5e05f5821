"""The system Chromium, as the browser tests and ``benchmarks/web/screenshots.py`` launch it.

Always Debian's ``chromium`` (or ``GUANXI_CHROMIUM``), never a browser downloaded by
``playwright install``: the tests run on machines without internet access.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

#: Flags for a quiet, sandbox-free headless Chromium. Without the background-networking
#: flags Chromium keeps calling home (updates, sync, field trials), which on a closed network
#: floods the log and slows every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALL_HINT = (
    "The browser tests need Debian's Chromium and CJK fonts: "
    "sudo apt-get install -y chromium fonts-noto-cjk "
    "(or set GUANXI_CHROMIUM to a Chromium binary). Never run `playwright install`."
)


class ChromiumMissing(RuntimeError):
    """No Chromium binary where the tests look for one."""


def chromium_path() -> str:
    """The Chromium binary to drive: ``$GUANXI_CHROMIUM``, else ``chromium`` on the PATH."""
    wanted = os.environ.get("GUANXI_CHROMIUM", "")
    path = wanted or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        raise ChromiumMissing(f"No Chromium at {path!r}. {INSTALL_HINT}")
    return path


def launch_chromium(playwright: Any) -> Any:
    """The system Chromium, headless, with the quiet flags."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
