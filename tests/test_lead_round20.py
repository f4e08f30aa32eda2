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


def test_delete_keeps_a_stray_link_and_says_it_is_one(tiny_style, capsys, tmp_path):
    """A link in the style library under a style's name is never followed into and deleted;
    the words said 'and it a link'."""
    from helpers_cli import run

    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    link = tiny_style / "styles" / "Linked"
    link.symlink_to(target, target_is_directory=True)
    code, _, err = run(["styles", "delete", "Linked", "--library", str(tiny_style)], capsys)
    assert code == 2 and ", and it is a link: not deleting it" in err, err
    assert link.is_symlink() and (target / "notes.txt").is_file()


def test_a_frames_folder_keeps_the_engine_the_run_ended_with(tmp_path, library, monkeypatch):
    """The manifest took the engine's line when the writer opened, before the first batch's
    precision check (an fp16 that falls back to fp32 says so only after it), and kept it."""
    import json

    from restyle.core import job as job_module

    from clips import noise_shot

    said = {"line": "before the first batch"}
    monkeypatch.setattr(job_module, "engine_line", lambda engine: said["line"])

    def progress(*_args, **_kwargs):
        said["line"] = "after the precision check"

    shot = noise_shot(tmp_path / "shot", 4)
    out = tmp_path / "out"
    StyleJob(shot, out, "comic-ink", library=library, strength=0.0).run(progress=progress)
    assert said["line"] == "after the precision check"  # the run reported progress
    assert json.loads((out / ".restyle.json").read_text())["engine"] == said["line"]


def test_stabilize_output_recorded_before_its_own_strength_row_is_still_told(tmp_path):
    """a3a81b6 keeps stabilize's strength as 'stabilize_strength'; a folder whose record says
    'strength' (made before) was refused as 'with other settings' with nothing named."""
    import json

    from restyle.core.errors import COMMAND_LINE, RestyleError
    from restyle.core.mappings.stabilize_job import StabilizeJob

    from clips import make_image_sequence

    make_image_sequence(tmp_path / "plate", 4)
    out = tmp_path / "st"
    StabilizeJob(tmp_path / "plate", out, end=3).run()
    manifest = out / ".restyle.json"
    record = json.loads(manifest.read_text())
    settings = record["made_from"]["settings"]
    settings["strength"] = settings.pop("stabilize_strength")  # as it was kept before
    manifest.write_text(json.dumps(record))
    with pytest.raises(RestyleError) as refused:
        StabilizeJob(tmp_path / "plate", out, end=3, strength=0.5).run()
    text = refused.value.said(COMMAND_LINE)
    assert "made with other settings (--strength 1.0, now 0.5)" in text, text
