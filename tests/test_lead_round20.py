"""Round 20, the lead's small fixes."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest
from test_ray_submit import job_read_back

from restyle.core.job import StyleJob
from restyle.core.ray_submit import stylize_command

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.mark.parametrize(
    ("fps", "sent"), [(Fraction(24000, 1001), "24000/1001"), (25, "25"), (12.5, "12.5")]
)
def test_a_sequence_rate_is_submitted_exactly(fps, sent, tmp_path, library, monkeypatch):
    """stylize_command sent --fps as a decimal (24000/1001 as 23.976023976023978), which the
    cluster read back as 24000/1001 only by --fps's tolerance: an exact rate goes as N/D."""
    plate = tmp_path / "plate"
    plate.mkdir()
    for i in range(3):
        cv2.imwrite(str(plate / f"f.{i:04d}.png"), np.full((32, 48, 3), 40 * i, np.uint8))
    job = StyleJob(plate, tmp_path / "out", "comic-ink", library=library, fps=fps)
    command = stylize_command(job)
    assert command[command.index("--fps") + 1] == sent
    assert Fraction(job_read_back(command[3:], monkeypatch).fps) == Fraction(fps)
