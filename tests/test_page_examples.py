"""AppTest: each view opens on its example, chosen by a stated rule with the share where the phenomenon holds;
"Random example" and "Open the example" switch with one click; a chosen image is never replaced later."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from app import state
from tests.app_util import ENTRY

pytestmark = pytest.mark.slow


def _banner(at: AppTest) -> str:
    return next(md.value for md in at.markdown if md.value.startswith("**Example** (sample #"))


def _example(at: AppTest) -> int:
    return int(re.match(r"\*\*Example\*\* \(sample #(\d+)\)", _banner(at)).group(1))


def test_cross_sections_opens_on_the_most_curved_example_and_curvature_keeps_it():
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.switch_page("app_pages/cross_sections.py").run()
    assert not at.exception and not at.error
    text = _banner(at)
    assert "largest |κ|·‖r(x)‖" in text and re.search(r"On \*\*\d+ of \d+\*\* of them \(\d+%\)", text)
    example = _example(at)
    assert at.session_state[state.SAMPLE_INDEX] == example
    at.switch_page("app_pages/curvature.py").run()  # the same rule: the same image, no switch
    assert _example(at) == example and at.session_state[state.SAMPLE_INDEX] == example
    at.button(key="examples_curvature_random").click().run()
    picked = at.session_state[state.SAMPLE_INDEX]
    assert not at.exception and at.session_state[state.SELECTION].image_name.startswith(f"test digit #{picked} ")
    at.switch_page("app_pages/home.py").run()  # Home has another example, but the user chose: no switch
    assert at.session_state[state.SAMPLE_INDEX] == picked
    at.button(key="examples_home_open").click().run()
    assert at.session_state[state.SAMPLE_INDEX] == _example(at)


def test_detection_example_is_an_attack_the_page_flags():
    """The example's DeepFool image is flagged at the calibrated threshold on the page itself, and the banner
    says how rare that is on this model."""
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.switch_page("app_pages/detection.py").run()
    assert not at.exception and not at.error
    text = _banner(at)
    assert "flags at the calibrated threshold" in text
    share = re.search(r"flags \*\*(\d+) of (\d+)\*\* successful DeepFool images", text)
    k, m = int(share.group(1)), int(share.group(2))
    assert 0 < k <= m
    assert (k < m / 2) == ("exception, not the rule" in text)
    table = at.table[0].value
    row = table[table["version"] == "DeepFool"].iloc[0]
    assert row["attack succeeded"] == "yes" and row["verdict"] == "perturbed (detected)"
