"""A page opened in headless Chromium (the system's package), measured by a script added to a copy of it: what a
reader's browser would show at a given width. Tests skip, with the reason, where no Chromium is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Runs once everything (the embedded images included) has loaded; leaves its figures in the DOM for --dump-dom.
MEASURE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const figures = {
    images: images.length,
    loaded: images.filter((i) => i.complete && i.naturalWidth > 0).length,
    scroll_width: document.documentElement.scrollWidth,
    client_width: document.documentElement.clientWidth,
    tables: document.querySelectorAll("table").length,
    text: document.body.innerText.length,
  };
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify(figures);
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    """The Chromium executable, or a skip saying how to get one."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (`apt-get install chromium`): the report's browser check needs one")


def measure(page: Path, tmp_path: Path, width: int = 1280) -> dict[str, Any]:
    """Images, images loaded, page and window widths, tables and text length of `page` rendered at `width` px."""
    copy = tmp_path / f"measured-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width},1000"]
    command += ["--virtual-time-budget=10000", "--dump-dom", copy.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="measured">([^<]*)</pre>', done.stdout)
    assert found, f"Chromium rendered no page (exit {done.returncode}): {done.stderr[-500:]}"
    figures: dict[str, Any] = json.loads(found.group(1))
    return figures
