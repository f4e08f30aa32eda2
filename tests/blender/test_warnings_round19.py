"""Round 19: Blender names the frames' warnings in scene frames whatever their words. It
swapped a warning for its scene-frame wording only where the text was exactly the one this
Restyle makes from the run's frames, so a Ray node of another version (its record's words)
left 'around frames 20-29' beside a strip at 101. Now the result lists which warnings are
the frames' (``JobResult.frame_warned``; the node's record: "frame_warnings") and Blender
words those again from the frames (``job.frame_warnings``), where the first stood. Both
cases fail on the code before it (the reworded warning stays, in the source's frames)."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import json

import pytest
from test_leftovers_round18 import corrupt_middle
from test_ray_record_round18 import Node
from test_split_round18 import saved  # noqa: F401 (the fixture, imported)
from vse import add_movie, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender

SCENE_WORDS = "could not be decoded cleanly (around frames 121-130: damaged"


def reworded(warning: str) -> str:
    """The words another version of Restyle might give the warning (its frames unchanged)."""
    return warning.replace("could not be decoded cleanly", "did not decode")


class OtherNode(Node):
    """A node running another version of Restyle: its record words the frames' warnings
    otherwise (and lists them, "frame_warnings", as its version does)."""

    def __call__(self, url, data=None, method=None):
        answer = super().__call__(url, data, method)
        if self.logs is not None and not getattr(self, "reworded", False):
            lines = self.logs.splitlines()
            record = json.loads(lines[-1])
            for key in ("warnings", "frame_warnings"):
                record[key] = [reworded(w) for w in record[key]]
            assert any("did not decode" in w for w in record["warnings"]), record
            self.logs = "\n".join([*lines[:-1], json.dumps(record)]) + "\n"
            self.reworded = True
            if url.endswith("/logs"):
                answer = {"logs": self.logs}
        return answer


def damaged_strip(scene, sequencer_area, tmp_path):
    """40 FFV1 frames at scene frame 101, bytes flipped in the middle: around 20-29 lost."""
    clip = make_index_clip(tmp_path / "clip.mkv", 40, codec="ffv1", gop=10)
    return add_movie(scene, sequencer_area, corrupt_middle(clip), frame_start=101)


def test_another_versions_node_warning_names_scene_frames(
    scene, saved, sequencer_area, tmp_path, monkeypatch
):
    import bpy

    monkeypatch.setattr(ext("core.ray_submit"), "_request", OtherNode())
    source = damaged_strip(scene, sequencer_area, tmp_path)
    done = bpy.ops.restyle.apply_style(
        strip=source.name,
        style="comic-ink",
        temporal=0.0,
        frame_start=101,
        frame_end=140,
        run_on="RAY",
        ray_address="head:8265",
    )
    said = ext("operators.runner").RUN.summary
    assert done == {"FINISHED"}, said
    assert SCENE_WORDS in said and "did not decode" not in said, said


def test_a_local_runs_reworded_warning_names_scene_frames(
    scene, saved, sequencer_area, tmp_path, monkeypatch
):
    """The core's words changed (here: after the run), its list with them: Blender still
    names the scene frames, and says every other warning as the core did."""
    import bpy

    job_class = ext("core.job").StyleJob
    run = job_class.run

    def reworded_run(self, *args, **kwargs):
        result = run(self, *args, **kwargs)
        result.warnings = [reworded(w) for w in result.warnings]
        result.frame_warned = [reworded(w) for w in result.frame_warned]
        result.warnings.append("a note of the core's own")
        return result

    monkeypatch.setattr(job_class, "run", reworded_run)
    source = damaged_strip(scene, sequencer_area, tmp_path)
    done = bpy.ops.restyle.apply_style(strip=source.name, style="comic-ink", temporal=0.0)
    said = ext("operators.runner").RUN.summary
    assert done == {"FINISHED"}, said
    assert SCENE_WORDS in said and "did not decode" not in said, said
    assert "a note of the core's own" in said, said
