"""Round 25 (engines25).

A. Blender's OpenVINO child (``ChildEngine``) carries its engine's precision-check time
   (``Settles.check_seconds``) to the parent, so a job's seconds and fps leave the check out
   there exactly as for an engine in this process (``job._Run.execute``).
B. CPU features without /proc/cpuinfo (Windows, macOS): ``cpu.cpu_flags`` asks the OS, and
   the bf16 and int8 paths are picked by features, never by vendor.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from restyle.core.engines import child

pytestmark = pytest.mark.usefixtures("private_home")

SLOW_CHECK_S = 1.5  # a check as slow as a 720p probe's, beside a tiny batch
SERVE = "from restyle.core.engines.child import serve"
# What the child runs first, its precision check slowed by SLOW_CHECK_S: the rest is BOOT's
# (the real process, pipes, protocol, OpenVINO engine and check).
SLOW_BOOT = child.BOOT.replace(
    SERVE,
    f"""import time
import restyle.core.engines.precision as precision
real_check = precision.checked_batch
def slow_check(*args, **kwargs):
    time.sleep({SLOW_CHECK_S})
    return real_check(*args, **kwargs)
precision.checked_batch = slow_check
{SERVE}""",
)


def _openvino_bf16() -> None:
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("openvino is not installed")
    from restyle.core.engines.openvino_engine import import_openvino

    caps = import_openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "BF16" not in caps:
        pytest.skip("OpenVINO reports no native BF16 on this CPU: nothing is checked")


def _tiny_model(home):
    """The 'Tiny' trained style's network, as ``Stylizer`` finds it."""
    from restyle.core.engines.base import ModelFiles
    from restyle.core.styles import ONNX_FILE, StyleLibrary
    from restyle.models.registry import get_arch

    style = StyleLibrary(home, bundled=None).resolve("Tiny")
    meta = style.meta
    return ModelFiles(get_arch(meta["arch"]), style.folder / ONNX_FILE, None, meta["arch_config"])


# -- A. the child's check time reaches the parent ----------------------------------------------
def test_the_slow_boot_is_boot_with_a_slow_check():
    """The tests below run the child's real start-up: only the check is slowed."""
    assert SLOW_BOOT != child.BOOT and SLOW_BOOT.endswith(child.BOOT.split(SERVE)[1])


def test_a_child_engine_says_its_checks_seconds(tiny_style, monkeypatch):
    """The check runs in the child; its seconds come back with the first batch's reply (the
    old parent had none: 0.0, so Blender's fps counted the check as frame time)."""
    _openvino_bf16()
    monkeypatch.setattr(child, "BOOT", SLOW_BOOT)
    model = _tiny_model(tiny_style)
    engine = child.ChildEngine(model.onnx, model.arch, "cpu", "auto", config=model.config)
    try:
        assert engine.precision == "bf16", engine.note
        assert engine.check_seconds == 0.0  # nothing checked yet
        frames = np.random.default_rng(0).random((1, 3, 48, 64), np.float32)
        engine.run(frames)
        assert engine.decided is not None
        assert engine.check_seconds >= SLOW_CHECK_S, engine.check_seconds
        said = engine.check_seconds
        engine.run(frames)  # settled: no more check, the same seconds
        assert engine.check_seconds == said
    finally:
        engine.close()


def test_an_older_reply_does_not_take_back_check_seconds():
    """Lanes apply replies in any order: a reply made before the check was counted says
    less than the parent already has, and the parent keeps the most said."""
    parent = object.__new__(child.ChildEngine)
    parent._update({"check_seconds": 2.5, "decided": "bf16"})
    parent._update({"check_seconds": 0.0, "decided": "bf16"})
    assert parent.check_seconds == 2.5


def test_a_blender_jobs_frame_time_leaves_out_the_childs_check(tmp_path, tiny_style, monkeypatch):
    """As ``test_lead24``'s in-process run, through the child process Blender runs OpenVINO
    in: the job's seconds leave the check out."""
    _openvino_bf16()
    import cv2

    from restyle.core import engines
    from restyle.core.job import StyleJob

    monkeypatch.setattr(engines, "inside_blender", lambda: True)  # the child, as in Blender
    monkeypatch.setattr(child, "BOOT", SLOW_BOOT)
    made = []
    real_engine = child.ChildEngine

    class Recorded(real_engine):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(child, "ChildEngine", Recorded)
    folder = tmp_path / "src"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    job = StyleJob(folder, tmp_path / "out", "Tiny", library=tiny_style, carry=0.0)
    start = time.perf_counter()
    result = job.run()
    whole = time.perf_counter() - start
    assert made and made[0].decided is not None, "no child engine ran"
    assert result.written == 2
    assert result.seconds < whole - SLOW_CHECK_S, (result.seconds, whole)
    assert made[0].check_seconds >= SLOW_CHECK_S


# -- B. CPU features without /proc/cpuinfo -----------------------------------------------------
# CPUID as the CPU answers it (Intel SDM vol. 2A, CPUID), written out here apart from
# cpu.CPUID_FLAGS: leaf 1 ecx: FMA 12, OSXSAVE 27, AVX 28; leaf 7 subleaf 0 ebx: AVX2 5,
# AVX512F 16; ecx: AVX512_VNNI 11; edx: AMX-BF16 22, AVX512_FP16 23, AMX-TILE 24, AMX-INT8 25;
# subleaf 1 eax: AVX-VNNI 4, AVX512_BF16 5. XCR0: SSE|AVX 0x6, +opmask/ZMM 0xE0, +tiles 0x60000.
VENDORS = {
    "AuthenticAMD": (0x68747541, 0x444D4163, 0x69746E65),
    "GenuineIntel": (0x756E6547, 0x6C65746E, 0x49656E69),
}
AVX2_CPU = {(1, 0): (0, 0, 1 << 12 | 1 << 27 | 1 << 28, 0), (7, 0): (1, 1 << 5, 0, 0)}
AVX512_BF16_CPU = {
    (1, 0): AVX2_CPU[1, 0],
    (7, 0): (1, 1 << 5 | 1 << 16, 1 << 11, 0),
    (7, 1): (1 << 5, 0, 0, 0),
}
AMX_CPU = {
    (1, 0): AVX2_CPU[1, 0],
    (7, 0): (1, 1 << 5 | 1 << 16, 1 << 11, 1 << 22 | 1 << 23 | 1 << 24 | 1 << 25),
    (7, 1): (1 << 4 | 1 << 5, 0, 0, 0),
}
SAVES_AVX512, SAVES_AMX = 0xE7, 0x600E7


def _cpu(leaves: dict, vendor: str = "GenuineIntel", max_leaf: int = 7, xcr0: int = SAVES_AMX):
    """A CPU's ``cpuid`` and ``xgetbv`` as ``flags_from_cpuid`` calls them; XGETBV refuses to
    run where OSXSAVE is clear (it would fault)."""
    ebx, edx, ecx = VENDORS[vendor]
    answers = {(0, 0): (max_leaf, ebx, ecx, edx), **leaves}

    def cpuid(leaf, sub):
        return answers.get((leaf, sub), (0, 0, 0, 0))

    def xgetbv():
        assert answers[1, 0][2] >> 27 & 1, "XGETBV without OSXSAVE"
        return xcr0

    return cpuid, xgetbv


def test_cpuid_features_decide_never_the_vendor():
    from restyle.core.engines.cpu import flags_from_cpuid, native_bf16

    amd = flags_from_cpuid(*_cpu(AVX512_BF16_CPU, "AuthenticAMD"))
    intel = flags_from_cpuid(*_cpu(AVX512_BF16_CPU, "GenuineIntel"))
    assert amd == intel == {"avx", "fma", "avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
    assert native_bf16(amd)
    amx = flags_from_cpuid(*_cpu(AMX_CPU))
    assert {"amx_bf16", "amx_tile", "amx_int8", "avx512_fp16", "avx_vnni"} <= amx
    assert flags_from_cpuid(*_cpu(AVX2_CPU)) == {"avx", "fma", "avx2"}
    assert not native_bf16(flags_from_cpuid(*_cpu(AVX2_CPU)))


def test_cpuid_features_the_os_does_not_save_are_not_used():
    """As Linux hides them: AVX-512 on an OS that does not save its registers faults."""
    from restyle.core.engines.cpu import flags_from_cpuid, native_bf16

    no_tiles = flags_from_cpuid(*_cpu(AMX_CPU, xcr0=SAVES_AVX512))
    assert "avx512_bf16" in no_tiles and not {"amx_bf16", "amx_tile", "amx_int8"} & no_tiles
    no_zmm = flags_from_cpuid(*_cpu(AVX512_BF16_CPU, xcr0=0x7))
    assert no_zmm == {"avx", "fma", "avx2"} and not native_bf16(no_zmm)
    no_osxsave = dict(AVX512_BF16_CPU)
    no_osxsave[1, 0] = (0, 0, 1 << 12 | 1 << 28, 0)
    assert flags_from_cpuid(*_cpu(no_osxsave)) == frozenset()  # XGETBV not run: no state
    assert flags_from_cpuid(*_cpu(AVX512_BF16_CPU, max_leaf=1)) == {"avx", "fma"}


def test_macos_sysctl_keys_are_read_as_the_same_flags():
    from restyle.core.engines.cpu import flags_from_sysctl

    mac_pro = {"hw.optional.avx2_0": 1, "hw.optional.avx512f": 1, "hw.optional.avx512vnni": 1}
    mac_pro["hw.optional.fma"] = 1
    assert flags_from_sysctl(mac_pro.get) == {"fma", "avx2", "avx512f", "avx512_vnni"}
    assert flags_from_sysctl({"hw.optional.arm.FEAT_BF16": 1}.get) == frozenset()  # Apple's


@pytest.fixture
def no_cpuinfo(monkeypatch, tmp_path):
    """A system without /proc/cpuinfo (Windows; macOS without its sysctl answer): the flags
    probed again here, and again after the test."""
    from restyle.core.engines import cpu

    real = cpu._cpuinfo_flags()
    monkeypatch.setattr(cpu, "CPUINFO", tmp_path / "no-cpuinfo")
    monkeypatch.setattr(cpu, "_sysctl_flags", lambda: None)
    cpu.cpu_flags.cache_clear()
    yield real
    cpu.cpu_flags.cache_clear()


def test_without_proc_cpuinfo_the_cpu_is_asked_once_per_run(no_cpuinfo, monkeypatch):
    import platform

    from restyle.core.engines import cpu, cpuid

    if platform.machine().lower() not in cpuid.X86_64:
        pytest.skip("CPUID is read on x86-64 only")
    readers = []
    real_reader = cpuid.cpuid_reader

    def counted():
        readers.append(1)
        return real_reader()

    monkeypatch.setattr(cpuid, "cpuid_reader", counted)
    flags = cpu.cpu_flags()
    assert cpu.native_bf16() == cpu.native_bf16(flags) and cpu.feature_summary()
    assert cpu.cpu_flags() is flags and len(readers) == 1  # one probe per process
    if no_cpuinfo is not None:  # Linux: the CPU says what /proc/cpuinfo says
        assert flags == set(cpu.CPUID_FLAGS) & no_cpuinfo


def test_no_flags_where_nothing_answers(no_cpuinfo, monkeypatch):
    """No reader (not x86-64) or no executable memory: fp32 paths, no error."""
    from restyle.core.engines import cpu, cpuid

    monkeypatch.setattr(cpuid, "cpuid_reader", lambda: None)
    assert cpu.cpu_flags() == frozenset() and not cpu.native_bf16()
    cpu.cpu_flags.cache_clear()

    class Refused:
        def __enter__(self):
            raise OSError("no executable memory")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(cpuid, "cpuid_reader", Refused)
    assert cpu.cpu_flags() == frozenset()


@pytest.mark.parametrize(
    ("leaves", "xcr0", "why"),
    [
        (AMX_CPU, SAVES_AMX, "the CPU has native bf16"),
        (AVX512_BF16_CPU, SAVES_AVX512, "the CPU has native bf16"),
        (AVX512_BF16_CPU, 0x7, "no fast graph for this network"),  # the OS saves no ZMM
        (AVX2_CPU, 0x7, "no fast graph for this network"),
    ],
)
def test_auto_picks_by_the_features_cpuid_gave(monkeypatch, tmp_path, leaves, xcr0, why):
    """``choose_backend`` on a Windows machine's flags: a trained style (no fast graph) runs
    OpenVINO bf16 where the CPU computes bf16, f32 elsewhere."""
    from restyle.core import engines
    from restyle.core.engines import cpu, onnx_engine
    from restyle.core.engines.base import ModelFiles
    from restyle.models.registry import ARCHS

    flags = cpu.flags_from_cpuid(*_cpu(leaves, xcr0=xcr0))
    monkeypatch.setattr(cpu, "cpu_flags", lambda: flags)
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(engines, "inside_blender", lambda: False)
    monkeypatch.setattr(engines, "torch_cuda_usable", lambda: False)
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"not read here")
    model = ModelFiles(ARCHS["fewshot"], onnx, None, {"width": 4, "blocks": 1})
    assert engines.choose_backend(model) == engines.EngineChoice("openvino", why)


# -- C. OpenVINO keeps the networks it compiles --------------------------------------------------
def _openvino():
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("openvino is not installed")
    from restyle.core.engines import openvino_engine

    return openvino_engine


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_later_engine_loads_the_compiled_network_and_gives_the_same_frames(tiny_style, precision):
    """The first engine compiles and keeps the network (``compiled_cache``); a second one
    loads it: the same pixels, bit for bit (the precision verdict stays the network's)."""
    openvino_engine = _openvino()
    if precision == "bf16":
        _openvino_bf16()
    from restyle.core.styles import default_root

    model = _tiny_model(tiny_style)
    frames = np.random.default_rng(3).random((1, 3, 48, 64), np.float32)
    folder = default_root() / "cache" / "openvino"
    outputs = []
    for _ in range(2):
        engine = openvino_engine.OpenVinoEngine(
            model.onnx, model.arch, "cpu", precision, config=model.config
        )
        engine.checked = True  # held: the check's own compiles are not what is looked at
        try:
            assert engine.config(precision)["CACHE_DIR"] == str(folder)
            outputs.append(engine.run(frames))
        finally:
            engine.close()
        assert list(folder.glob("*.blob")), "nothing kept"
    assert np.array_equal(outputs[0], outputs[1])


def test_the_cache_keeps_the_newest_networks_up_to_its_limit(tmp_path):
    import os

    openvino_engine = _openvino()
    for age, name in enumerate(["c", "b", "a"]):  # a oldest
        blob = tmp_path / f"{name}.blob"
        blob.write_bytes(b"x" * 400_000)
        os.utime(blob, (1000 + (2 - age) * 10, 1000 + (2 - age) * 10))
    (tmp_path / "other.cl_cache").write_bytes(b"y" * 900_000)  # not a network: left
    openvino_engine.trim_cache(tmp_path, 1.0)  # 1 MiB: two of 400 kB fit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.blob", "c.blob", "other.cl_cache"]
    openvino_engine.trim_cache(tmp_path, 0.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.cl_cache"]


def test_no_cache_where_its_folder_cannot_be_made(tmp_path, monkeypatch, tiny_style):
    """A home whose cache is a file (or read-only): each run compiles, nothing fails."""
    openvino_engine = _openvino()
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True, exist_ok=True)
    (home / "cache" / "openvino").write_text("a file, not a folder")
    monkeypatch.setenv("RESTYLE_HOME", str(home))
    assert openvino_engine.compiled_cache() is None
    model = _tiny_model(tiny_style)
    engine = openvino_engine.OpenVinoEngine(model.onnx, model.arch, "cpu", "fp32")
    try:
        assert "CACHE_DIR" not in engine.config("fp32")
        assert engine.run(np.zeros((1, 3, 32, 32), np.float32)).shape[-2:] == (32, 32)
    finally:
        engine.close()
