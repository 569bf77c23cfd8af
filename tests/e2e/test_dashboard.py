"""The dashboard in headless Chromium (Debian ``chromium``): the gateway and the
reporting service run in-process on the test bus; the tiles must show the numbers
get_kpis returns. Screenshot saved as var/dashboard.png (a test artifact)."""
import re
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path

import eventlet
import pytest

from services.common.auth import mint_token
from services.common.config import ROOT
from services.reporting import dashboard
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from tests.integration.test_reporting_events import (
    MANAGER,
    expected_kpis,
    now,
    publish,
    unique_story,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
TILE = re.compile(r'<div class="tile" data-kpi="([^"]+)" data-value="([^"]*)">'
                  r'<div class="label">[^<]*</div><div class="value">([^<]*)</div></div>')


def chromium(*args, timeout=60):
    """Run chromium without blocking the eventlet hub (the gateway is in-process)."""
    profile = tempfile.mkdtemp(prefix="crm-chromium-")
    out = tempfile.NamedTemporaryFile(suffix=".html", delete=False)
    try:
        proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                                stdout=out, stderr=subprocess.DEVNULL)
        with eventlet.Timeout(timeout):
            while proc.poll() is None:
                eventlet.sleep(0.1)
        out.close()
        return Path(out.name).read_text(encoding="utf-8")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        Path(out.name).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium missing: apt-get install -y chromium chromium-driver")
    return CHROMIUM


def test_dashboard_tiles_match_get_kpis(browser, config, start_service, start_gateway, rpc):
    start_service(ReportingService)
    base = start_gateway(ReportingGateway)
    year, tag, story = unique_story()
    publish(config, story)
    token = mint_token(config, "boss", "manager", "management")
    with rpc(MANAGER) as proxy:
        wait_for(proxy, expected_kpis(story, year, tag, now()), year, tag)
        for period, scope, lang in ((f"{year}-11", None, "zh"),
                                    (f"{year}-Q4", {"owner_id": f"{tag}-u1"}, "en")):
            query = f"period={period}&lang={lang}&token={token}"
            if scope:
                query += f"&owner_id={scope['owner_id']}"
            dom = chromium("--dump-dom", f"{base}/dashboard?{query}")
            kpis = proxy.reporting.get_kpis(period, scope)
            tiles = {k: (unescape(v), unescape(text)) for k, v, text in TILE.findall(dom)}
            assert len(tiles) == len(dashboard.TILES) + 3, dom[:500]
            for key in dashboard.TILES:
                assert tiles[key] == (dashboard.raw(kpis[key]), dashboard.fmt(key, kpis[key])), key
            for kind, n in kpis["tickets_new_by_kind"].items():
                assert tiles[f"tickets_new_by_kind.{kind}"] == (str(n), str(n))
            assert f'id="period-label">{period}<' in dom
            assert ("经营看板" if lang == "zh" else "Management dashboard") in dom
            assert dom.count("<svg") >= 5  # trends, funnel, timeliness, CSAT
        assert tiles["sales_amount"][0] == "4098.99"  # u1's quarter incl. October
    shot = ROOT / "var" / "dashboard.png"
    shot.parent.mkdir(exist_ok=True)
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", "--window-size=1400,2600",
             f"{base}/dashboard?period={year}-11&token={token}")
    assert shot.exists() and shot.stat().st_size > 10_000
