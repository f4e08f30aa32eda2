"""Few-shot style training: the networks, patch sampling, the training loop and the artifact.

Everything runs on tiny generated frames with a small generator and iteration caps, so the
whole file takes well under a minute on two busy cores.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from restyle.core.errors import RestyleError  # noqa: E402
from restyle.core.progress import CancelToken, Progress  # noqa: E402
from restyle.core.torch_tuning import tune_cpu_allocator  # noqa: E402
from restyle.core.train.artifact import (  # noqa: E402
    load_generator,
    read_style_meta,
    write_trained_style,
)
from restyle.core.train.patches import PatchSampler  # noqa: E402
from restyle.core.train.trainer import (  # noqa: E402
    TrainConfig,
    TrainResult,
    lr_schedule,
    train_style,
)
from restyle.models.fewshot import FewShotGenerator, PatchDiscriminator  # noqa: E402
from restyle.models.fewshot_spans import build_generator  # noqa: E402

HEIGHT, WIDTH = 64, 96
KEYFRAMES = (0, 8)
HELD_OUT = (2, 4, 6)

# Small enough to train in a few seconds, big enough to learn a colour mapping. One thread:
# on a busy shared machine two threads of tiny kernels can stall each other for seconds.
SMALL = TrainConfig(
    threads=1,
    seed=3,
    # Counted in this process's CPU seconds: a busy shared machine must not turn the
    # iteration caps below into time-budget stops.
    time_budget_s=60,
    clock="cpu",
    max_iterations=300,
    patch_size=16,
    batch_size=8,
    lr=2e-3,
    generator_width=8,
    generator_blocks=1,
    discriminator_width=8,
    val_every=25,
    preview_every_s=0.5,
)


def moving_clip(frames: int = 9, height: int = HEIGHT, width: int = WIDTH) -> list[np.ndarray]:
    """A photograph-like clip: smooth colour fields and textured shapes under a panning camera."""
    rng = np.random.default_rng(7)
    big_h, big_w = 2 * height, 2 * width
    field = np.zeros((big_h, big_w, 3), np.float32)
    for sigma, amount in ((big_h / 6, 0.6), (big_h / 24, 0.25), (1.5, 0.08)):
        noise = cv2.GaussianBlur(
            rng.standard_normal((big_h, big_w, 3)).astype(np.float32), (0, 0), sigma
        )
        field += amount * noise / (noise.std() + 1e-6)
    canvas = ((field - field.min()) / (field.max() - field.min()) * 255).astype(np.uint8)
    for _ in range(12):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, big_w)), int(rng.integers(0, big_h)))
        cv2.circle(canvas, centre, int(rng.integers(4, big_h // 6)), colour, -1, cv2.LINE_AA)
    clip = []
    for i in range(frames):
        t = i / (frames - 1)
        y0, x0 = int(t * height / 2), int(t * width)
        frame = canvas[y0 : y0 + height, x0 : x0 + width].copy()
        cv2.circle(
            frame, (int(width * (0.2 + 0.6 * t)), height // 2), height // 8, (240, 200, 40), -1
        )
        clip.append(frame)
    return clip


def invert(frame: np.ndarray) -> np.ndarray:
    return 255 - frame


def stylize(generator: torch.nn.Module, frame: np.ndarray) -> np.ndarray:
    """float HxWx3 in [0, 1]."""
    x = torch.from_numpy(frame.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    with torch.inference_mode():
        return generator.eval()(x)[0].numpy().transpose(1, 2, 0)


def generator_from(result: TrainResult) -> FewShotGenerator:
    # its class by its guides (round 23: the default's long span is a SpanGenerator)
    generator = build_generator(**result.arch_config)
    generator.load_state_dict({k: torch.from_numpy(v) for k, v in result.state_dict.items()})
    return generator.eval()


def held_out_l1(generator: torch.nn.Module, clip: list[np.ndarray]) -> float:
    errors = [np.abs(stylize(generator, clip[i]) - invert(clip[i]) / 255).mean() for i in HELD_OUT]
    return float(np.mean(errors))


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return moving_clip()


@pytest.fixture(scope="module")
def pairs(clip) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(clip[i], invert(clip[i])) for i in KEYFRAMES]


@pytest.fixture(scope="module")
def trained(clip, pairs) -> tuple[TrainResult, list[Progress], list[np.ndarray]]:
    """One colour-inversion run shared by the tests that need a trained generator."""
    reports: list[Progress] = []
    previews: list[np.ndarray] = []
    result = train_style(
        pairs,
        config=SMALL,
        progress=reports.append,
        preview_frame=clip[4],
        on_preview=previews.append,
    )
    return result, reports, previews


# --- networks ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(64, 96), (37, 53), (1, 1)])
@pytest.mark.parametrize("guides, depth", [("none", 2), ("multiscale", 3)])
def test_generator_keeps_any_size_and_range(size, guides, depth):
    generator = FewShotGenerator(in_channels=5, width=4, blocks=1, guides=guides, depth=depth)
    generator.eval()
    with torch.inference_mode():
        out = generator(torch.rand(2, 5, *size))
    assert out.shape == (2, 3, *size)
    assert 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize("guides", ["none", "blur-gradients", "multiscale"])
def test_generator_is_the_same_function_on_a_patch_as_in_the_frame(guides):
    """No normalisation layers: a patch's centre comes out as it does inside the whole frame."""
    torch.manual_seed(0)
    generator = FewShotGenerator(width=4, blocks=1, guides=guides).eval()
    frame = torch.rand(1, 3, 128, 128)
    with torch.inference_mode():
        whole = generator(frame)
        patch = generator(frame[:, :, 32:96, 32:96])
    # Beyond the receptive field of the patch border the two agree exactly (to float error).
    np.testing.assert_allclose(patch[:, :, 28:36, 28:36], whole[:, :, 60:68, 60:68], atol=1e-6)


@pytest.mark.parametrize("guides", ["blur-gradients", "multiscale"])
def test_a_patch_of_the_guided_frame_styles_as_the_frame_does(guides):
    """Training cuts patches from keyframes whose guides were computed whole: the network
    on such a patch gives the frame's output at the patch's centre, even for wide guides."""
    torch.manual_seed(0)
    generator = FewShotGenerator(width=4, blocks=1, guides=guides).eval()
    frame = torch.rand(1, 3, 128, 128)
    with torch.inference_mode():
        whole = generator(frame)
        patch = generator.styled(generator.guide(frame)[:, :, 32:96, 32:96])
    np.testing.assert_allclose(patch[:, :, 24:40, 24:40], whole[:, :, 56:72, 56:72], atol=1e-5)


def test_a_deeper_generator_sees_further():
    """depth 3 adds a level at 1/8 resolution: a change 33 pixels away reaches the output."""
    torch.manual_seed(0)
    frame = torch.rand(1, 3, 128, 128)
    moved = frame.clone()
    moved[:, :, :, 96:] = 0
    for depth, reaches in ((2, False), (3, True)):
        generator = FewShotGenerator(width=4, blocks=1, depth=depth).eval()
        with torch.inference_mode():
            change = (generator(frame) - generator(moved))[:, :, :, :64].abs().max().item()
        assert (change > 0) == reaches, depth


def test_older_styles_weights_still_load():
    """Depth became a setting after styles were saved with layers named down1/up1...: the
    default depth keeps those names (and leaves depth out of the stored settings)."""
    generator = FewShotGenerator(width=4, blocks=1)
    layers = {name.split(".")[0] for name in generator.state_dict()}
    assert layers == {"head", "down1", "down2", "body", "up1", "up2", "tail", "out"}
    assert "depth" not in generator.arch_config
    assert FewShotGenerator(width=4, blocks=1, depth=3).arch_config["depth"] == 3


def test_linear_output_is_clamped_only_outside_training():
    torch.manual_seed(0)
    generator = FewShotGenerator(width=4, blocks=1, output="linear")
    with torch.no_grad():
        generator.out.bias.fill_(3.0)  # far above white: a sigmoid would be saturated here
        x = torch.rand(1, 3, 16, 16)
        assert generator(x).min() > 1  # training: the loss still sees (and corrects) it
        assert generator.eval()(x).max() == 1
    assert generator.arch_config["output"] == "linear"
    # Styles saved before the output option existed keep their sigmoid.
    assert FewShotGenerator(width=4, blocks=1).arch_config == {
        "in_channels": 3,
        "width": 4,
        "blocks": 1,
    }


def test_discriminator_scores_patches():
    scores = PatchDiscriminator(width=4)(torch.rand(3, 3, 32, 32))
    assert scores.shape == (3, 1, 6, 6)


# --- patches ----------------------------------------------------------------------------


def test_training_patches_never_touch_validation_tiles():
    # Each pixel carries its coordinates (and the third channel its keyframe), so a patch
    # tells exactly where it was cut from, flipped or not.
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    keyframes = [
        np.stack([xs, ys, np.full_like(xs, 255 * k)], axis=2).astype(np.uint8) for k in (0, 1)
    ]
    sampler = PatchSampler(keyframes, keyframes, 16, rng=np.random.default_rng(1), val_fraction=0.2)
    assert len(sampler.val_tiles) == round(0.2 * 2 * (HEIGHT // 16) * (WIDTH // 16))
    sources, targets = sampler.sample(500)
    np.testing.assert_array_equal(sources, targets)
    for patch in sources:
        keyframe = int(patch[2, 0, 0] > 0.5)
        x, y = round(patch[0].min() * 255), round(patch[1].min() * 255)
        for tile in sampler.val_tiles:
            if tile.keyframe == keyframe:
                apart = x + 16 <= tile.x or x >= tile.x + 16 or y + 16 <= tile.y or y >= tile.y + 16
                assert apart, (x, y, tile)


def test_hard_examples_are_drawn_where_the_error_is():
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    keyframe = np.stack([xs, ys, np.zeros_like(xs)], axis=2).astype(np.uint8)
    sampler = PatchSampler(
        [keyframe], [keyframe], 16, rng=np.random.default_rng(2), flip=False, val_fraction=0.05
    )
    error = np.zeros((HEIGHT, WIDTH), np.float32)
    error[40:44, 70:74] = 1  # the generator is wrong only in this 4x4 square
    sampler.set_errors([error], share=0.5)
    sources, _ = sampler.sample(400)
    corners = [(round(p[1].min() * 255), round(p[0].min() * 255)) for p in sources]
    covers = [y <= 43 and y + 16 > 40 and x <= 73 and x + 16 > 70 for y, x in corners]
    # Half of each batch is drawn by error (all of those cover the square), half uniformly
    # (which covers it only sometimes).
    assert all(covers[:200])
    assert 0 < sum(covers[200:]) < 75


def test_mirrored_patches_flip_the_sign_of_horizontal_gradients():
    rng = np.random.default_rng(0)
    guided = rng.random((3, 32, 48)).astype(np.float32)
    target = np.zeros((32, 48, 3), np.uint8)
    sampler = PatchSampler([guided], [target], 16, rng=rng, mirror_odd=(1,))
    sources, _ = sampler.sample(64)
    sign = np.float32([1, -1, 1])[:, None, None]
    seen = set()
    for patch in sources:
        y, x = map(int, np.argwhere(guided[0] == patch[0, 0, 0])[0])
        crop = guided[:, y : y + 16, x : x + 16]
        mirrored = crop.shape[2] < 16 or not np.array_equal(patch, crop)
        if mirrored:  # its first column is the crop's last
            crop = guided[:, y : y + 16, x - 15 : x + 1][:, :, ::-1] * sign
        np.testing.assert_array_equal(patch, crop)
        seen.add(mirrored)
    assert seen == {False, True}


def test_validation_batch_adds_context(pairs):
    sampler = PatchSampler(*zip(*pairs, strict=True), 16, rng=np.random.default_rng(0))
    sources, targets = sampler.validation_batch(margin=8)
    assert sources.shape == (len(sampler.val_tiles), 3, 32, 32)
    assert targets.shape == (len(sampler.val_tiles), 3, 16, 16)
    np.testing.assert_allclose(1 - sources[:, :, 8:24, 8:24], targets, atol=1e-6)


# --- training ---------------------------------------------------------------------------


def test_learns_colour_inversion_on_frames_it_never_saw(clip, trained):
    result, _, _ = trained
    identity = np.mean([np.abs(clip[i] / 255 - invert(clip[i]) / 255).mean() for i in HELD_OUT])
    learned = held_out_l1(generator_from(result), clip)
    assert learned < 0.25 * identity, (learned, identity)
    assert learned < 0.1
    figures = result.figures
    assert figures.stopped_because == "max_iterations"
    assert figures.iterations == SMALL.max_iterations
    assert 0 < figures.best_iteration <= figures.iterations
    assert figures.val_l1 < 0.1 and figures.train_l1 is not None


def test_the_rate_warms_up_then_anneals():
    assert lr_schedule(0.0, 0.0, True) == 1.0 and lr_schedule(1.0, 0.0, True) == pytest.approx(0.05)
    assert lr_schedule(0.3, 0.0, False) == 1.0
    rising = [lr_schedule(p, 0.2, True) for p in (0.0, 0.1, 0.2)]
    assert rising == pytest.approx([0.05, 0.525, 1.0])
    falling = [lr_schedule(p, 0.2, True) for p in (0.2, 0.6, 1.0, 1.5)]
    assert falling == pytest.approx([1.0, 0.525, 0.05, 0.05])


def test_a_warmed_up_rate_still_learns(clip, pairs):
    result = train_style(pairs, config=replace(SMALL, max_iterations=150, lr_warmup=0.2))
    identity = np.mean([np.abs(clip[i] / 255 - invert(clip[i]) / 255).mean() for i in HELD_OUT])
    assert held_out_l1(generator_from(result), clip) < 0.4 * identity


def test_progress_and_previews(clip, trained):
    result, reports, previews = trained
    assert reports and all(r.stage == "train" for r in reports)
    assert all(0 <= r.done <= r.total == SMALL.time_budget_s for r in reports)
    assert reports[-1].done == reports[-1].total and "validation L1" in reports[-1].message
    # The last preview shows the returned weights.
    assert previews and previews[-1].shape == clip[4].shape and previews[-1].dtype == np.uint8
    expected = np.round(stylize(generator_from(result), clip[4]) * 255)
    assert np.abs(previews[-1].astype(float) - expected).max() <= 1


def test_same_seed_same_weights(pairs):
    config = replace(SMALL, max_iterations=12, val_every=5)
    first = train_style(pairs, config=config)
    second = train_style(pairs, config=config)
    other = train_style(pairs, config=replace(config, seed=4))
    assert first.state_dict.keys() == second.state_dict.keys()
    for name, value in first.state_dict.items():
        np.testing.assert_array_equal(value, second.state_dict[name])
    assert any(not np.array_equal(v, other.state_dict[k]) for k, v in first.state_dict.items())
    assert first.figures.val_l1 == second.figures.val_l1


class CancelAtIteration(CancelToken):
    """Cancels itself at the n-th poll: the user pressing Esc at a known iteration."""

    def __init__(self, iteration: int) -> None:
        super().__init__()
        self.polls_left = iteration

    @property
    def cancelled(self) -> bool:
        if self.polls_left == 0:
            self.cancel()
        self.polls_left -= 1
        return super().cancelled


def test_cancel_returns_the_best_weights_so_far(pairs):
    # A constant rate, so a run capped at fewer iterations takes the very same steps.
    config = replace(SMALL, max_iterations=None, val_every=10, lr_anneal=False)
    cancelled = train_style(pairs, config=config, cancel=CancelAtIteration(35))
    figures = cancelled.figures
    assert figures.stopped_because == "cancelled" and figures.iterations == 35
    # Validated at 10, 20, 30, and once more on cancelling so the last 5 iterations count.
    assert [i for i, _, _ in figures.val_history] == [10, 20, 30, 35]
    best_iteration, _, best_val = min(figures.val_history, key=lambda entry: entry[2])
    assert (figures.best_iteration, figures.val_l1) == (best_iteration, best_val)
    # The weights are exactly those of an uncancelled run stopped at the best iteration.
    reference = train_style(pairs, config=replace(config, max_iterations=best_iteration))
    for name, value in cancelled.state_dict.items():
        np.testing.assert_array_equal(value, reference.state_dict[name])


def test_cancel_from_another_thread(pairs):
    cancel = CancelToken()
    timer = threading.Timer(0.5, cancel.cancel)
    timer.start()
    try:
        result = train_style(pairs, config=replace(SMALL, max_iterations=None), cancel=cancel)
    finally:
        timer.cancel()
    assert result.figures.stopped_because == "cancelled" and result.figures.seconds < 5
    assert result.state_dict


def test_cancel_before_the_first_iteration(pairs):
    cancel = CancelToken()
    cancel.cancel()
    result = train_style(pairs, config=SMALL, cancel=cancel)
    assert result.figures.stopped_because == "cancelled"
    assert result.figures.iterations == 0 and result.figures.train_l1 is None
    assert result.state_dict  # the initial weights, scored and returned


def test_patience_stops_when_validation_stalls(pairs):
    # An improvement of 90 % per validation is impossible, and the patience is shorter than
    # an iteration, so every validation after the first is a plateau: the first two lower the
    # learning rate, the third stops the run.
    config = replace(
        SMALL,
        max_iterations=None,
        val_every=5,
        patience_s=1e-9,
        min_improvement=0.9,
        lr_drops=2,
    )
    result = train_style(pairs, config=config)
    assert result.figures.stopped_because == "patience"
    assert result.figures.lr_dropped_at == (10, 15)
    assert result.figures.iterations == 20


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_time_budget_stops(pairs, clock):
    config = replace(SMALL, max_iterations=None, time_budget_s=1.0, clock=clock)
    result = train_style(pairs, config=config)
    assert result.figures.stopped_because == "time_budget"
    assert 1.0 <= result.figures.seconds < 5


def test_guide_channels_widen_the_input(pairs):
    guided = [(np.dstack([s, s[:, :, :1]]), t) for s, t in pairs]
    result = train_style(guided, config=replace(SMALL, max_iterations=3))
    assert result.arch_config["in_channels"] == 4


@pytest.mark.parametrize(
    "bad_pairs, message",
    [
        ([], "at least one"),
        ([(np.zeros((64, 96, 3), np.uint8), np.zeros((60, 96, 3), np.uint8))], "its frame is"),
        ([(np.zeros((64, 96, 3), np.float32), np.zeros((64, 96, 3), np.uint8))], "8-bit"),
        # The fix a user can take (CLI and Blender have no patch size): larger frames.
        ([(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))], "at least .* pixels"),
    ],
)
def test_bad_training_input_is_refused(bad_pairs, message):
    with pytest.raises(RestyleError, match=message):
        train_style(bad_pairs, config=SMALL)


def test_settings_know_every_guide():
    from restyle.core.train import trainer
    from restyle.models import fewshot

    assert trainer.GUIDES == fewshot.GUIDES


def test_bad_settings_are_refused():
    with pytest.raises(RestyleError, match="patch_size"):
        TrainConfig(patch_size=30)
    with pytest.raises(RestyleError, match="device"):
        TrainConfig(device="tpu")
    with pytest.raises(RestyleError, match="generator_depth"):
        TrainConfig(generator_depth=4)
    with pytest.raises(RestyleError, match="lr_warmup"):
        TrainConfig(lr_warmup=1.0)
    with pytest.raises(RestyleError, match="2\\*\\*generator_depth"):
        TrainConfig(generator_depth=3, patch_size=20)


def test_cpu_allocator_tuning_is_idempotent():
    first = tune_cpu_allocator()
    assert isinstance(first, bool) and tune_cpu_allocator() == first


# --- artifact ---------------------------------------------------------------------------


def test_artifact_round_trip(tmp_path, clip, trained):
    import onnxruntime as ort
    from safetensors.numpy import load_file

    result = trained[0]
    folder = write_trained_style(
        tmp_path / "styles" / "ink",
        result,
        name="Ink",
        source="shot010.mp4",
        keyframes=list(KEYFRAMES),
        thumbnail=np.zeros((300, 600, 3), np.uint8),
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        "model.onnx",
        "style.json",
        "thumbnail.png",
        "weights.safetensors",
    ]
    assert [p.name for p in folder.parent.iterdir()] == ["ink"]  # no staging folder left
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's private 0700
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in folder.iterdir())

    meta = read_style_meta(folder)
    assert meta["format"] == 1 and meta["kind"] == "trained" and meta["arch"] == "fewshot"
    assert meta["name"] == "Ink" and meta["source"] == "shot010.mp4"
    assert meta["keyframes"] == [0, 8] and meta["arch_config"] == result.arch_config
    assert meta["training"]["iterations"] == result.figures.iterations
    assert meta["training"]["config"]["seed"] == SMALL.seed
    assert cv2.imread(str(folder / "thumbnail.png")).shape == (128, 256, 3)

    weights = load_file(folder / "weights.safetensors")
    assert weights.keys() == result.state_dict.keys()
    for name, value in result.state_dict.items():
        np.testing.assert_array_equal(weights[name], value)

    generator = load_generator(folder)
    frame = clip[5][:61, :83]  # not a multiple of the generator's size multiple
    expected = stylize(generator, frame)
    np.testing.assert_array_equal(expected, stylize(generator_from(result), frame))

    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    image = frame.transpose(2, 0, 1)[None].astype(np.float32) / 255
    (onnx_out,) = session.run(["stylized"], {"image": np.concatenate([image, image])})
    assert onnx_out.shape == (2, 3, 61, 83)
    assert np.abs(onnx_out[1].transpose(1, 2, 0) - expected).max() <= 1e-3


def test_artifact_refuses_to_overwrite(tmp_path, trained):
    result = trained[0]
    folder = tmp_path / "ink"
    kwargs = dict(
        name="Ink", source="a.mp4", keyframes=[0], thumbnail=np.zeros((8, 8, 3), np.uint8)
    )
    write_trained_style(folder, result, **kwargs)
    before = (folder / "style.json").read_bytes()
    with pytest.raises(RestyleError, match="already exists"):
        write_trained_style(folder, result, **{**kwargs, "name": "Other"})
    assert (folder / "style.json").read_bytes() == before

    write_trained_style(folder, result, **{**kwargs, "name": "Other"}, overwrite=True)
    assert read_style_meta(folder)["name"] == "Other"
    assert [p.name for p in tmp_path.iterdir()] == ["ink"]

    # Something that is not a trained style is never replaced, even when asked to.
    user_folder = tmp_path / "holiday"
    user_folder.mkdir()
    (user_folder / "photo.png").write_bytes(b"precious")
    with pytest.raises(RestyleError, match="not a trained style"):
        write_trained_style(user_folder, result, **kwargs, overwrite=True)
    assert (user_folder / "photo.png").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday", "ink"]


def test_read_style_meta_refuses_other_folders(tmp_path):
    with pytest.raises(RestyleError, match="no style.json"):
        read_style_meta(tmp_path)
    (tmp_path / "style.json").write_text(json.dumps({"format": 1, "kind": "picture"}))
    with pytest.raises(RestyleError, match="does not describe a trained style"):
        read_style_meta(tmp_path)
    (tmp_path / "style.json").write_text(json.dumps({"format": 9, "kind": "trained"}))
    with pytest.raises(RestyleError, match="format 9"):
        read_style_meta(tmp_path)
