"""The HTML report: built from a real dataset folder, then rendered in headless Chromium."""

import shutil
import subprocess

import pytest

from schoolhouse.config import StoriesConfig
from schoolhouse.lessons.generation import generate_stories
from schoolhouse.report import write_report
from schoolhouse.teacher.fake import FakeTeacher
from tests.conftest import story_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def folder(tmp_path, verify):
    def reply(request):
        index = int(request.id.split(":")[0])
        if index % 4 == 3:  # a quarter of the stories miss a required word
            return story_for(request.messages[0]["content"], noun="zebra")
        return story_for(request.messages[0]["content"])

    cfg = StoriesConfig(n=24, out=tmp_path / "stories", seed=1)
    generate_stories(cfg, verify, teacher=FakeTeacher(reply), progress=False)
    return cfg.out


def test_report_has_a_plot_per_view_and_the_counts(folder, tmp_path):
    page = write_report([folder], tmp_path / "report.html").read_text()
    assert page.count("<svg") == 4
    for title in ("Verification funnel", "Story length", "Vocabulary coverage", "How stories open"):
        assert title in page
    assert "<td>24</td>" in page
    with pytest.raises(ValueError, match="is not a dataset folder"):
        write_report([tmp_path], tmp_path / "x.html")


def screenshot(page, tmp_path, height: int = 1200):
    """Render an HTML file in headless Chromium; the pixels as an (height, 1400, 3) array."""
    import matplotlib.image

    shot = tmp_path / "shot.png"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
        f"--window-size=1400,{height}",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (height, 1400)
    return pixels


def ink(pixels) -> float:
    return (pixels.mean(axis=2) < 0.9).mean()  # share of pixels that are not near-white


def blue(pixels) -> float:
    return ((pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.3)).mean()  # the kept bars


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is installed by `make test` (apt chromium)")
def test_report_renders_in_headless_chromium(folder, tmp_path):
    pixels = screenshot(write_report([folder], tmp_path / "report.html"), tmp_path)
    assert ink(pixels) > 0.03 and blue(pixels) > 0.005, (ink(pixels), blue(pixels))
