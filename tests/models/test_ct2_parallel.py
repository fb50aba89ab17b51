"""CTranslate2 replicas (one batch dealt to several model replicas at once), the thread
plan chosen from the cores a process may use, and --threads / --replicas on the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("ctranslate2")

from typer.testing import CliRunner

from newsum.models import backend as backend_module
from newsum.models.backend import Decoding, Threads, available_cores, plan_threads
from newsum.models.load import load_model
from newsum.models.options import GenerationOptions, resolve
from newsum.pipeline.cli import app
from newsum.pipeline.core.errors import NewsumError

FRENCH = [
    "Le président de la République s’est rendu à Marseille jeudi après-midi.",
    "« Nous n’abandonnerons pas les agriculteurs », a déclaré la ministre, "
    "évoquant une hausse de 2,5 % des crédits destinés aux exploitations.",
    "L’été dernier, la fréquentation des musées a progressé de 14 % à Paris.",
    "Les élèves ont découvert l’œuvre de Monet.",
    "Le conseil municipal a voté le budget après un débat de trois heures, "
    "et l’opposition a quitté la salle avant la fin de la séance.",
    "Il pleut.",
    "La récolte de l’année sera faible : le gel a touché les vignes du Bordelais.",
]


def engine(path: str, **options):
    generation = GenerationOptions(
        backend="ct2", device="cpu", max_new_tokens=12, min_new_tokens=3, **options
    )
    return load_model(path, generation).engine


# --- same outputs, order kept ----------------------------------------------------------------


@pytest.mark.parametrize("arch", ["marian", "t5"])
def test_replicas_give_the_outputs_of_one_replica(tiny_models, arch):
    path = tiny_models[f"{arch}-ct2"]
    one = engine(path, replicas=1, threads=1)
    two = engine(path, replicas=2, threads=2)
    three = engine(path, replicas=3, threads=3, max_batch_size=4)  # batches of 4, 3 parts
    assert two.backend.threads == Threads(replicas=2, per_replica=1, cores=available_cores())
    expected = [r.text for r in one.generate(FRENCH)]
    assert all(expected) and len(set(expected)) > 1
    assert [r.text for r in two.generate(FRENCH)] == expected
    assert [r.text for r in three.generate(FRENCH)] == expected
    # Fewer inputs than replicas, and one input alone.
    assert [r.text for r in three.generate(FRENCH[:2])] == expected[:2]
    assert [r.text for r in two.generate(FRENCH[5:6])] == expected[5:6]


def test_a_forced_first_token_reaches_every_sub_batch(tiny_models):
    """Multilingual models start each output with a language code (target_prefix)."""
    one = engine(tiny_models["marian-ct2"], replicas=1, threads=1)
    two = engine(tiny_models["marian-ct2"], replicas=2, threads=2)
    inputs = one.encode(FRENCH)
    forced = inputs[0][2]  # any token the vocabulary has
    decoding = Decoding(max_new_tokens=6, forced_first_token=forced)
    expected = one.backend.generate(inputs, decoding)
    assert all(out[0] == forced for out in expected)
    assert two.backend.generate(inputs, decoding) == expected


class RunsOutOfMemory:
    """A translator that fails on sub-batches over `limit` inputs, as a full GPU would,
    and records the sizes it was given."""

    def __init__(self, real, limit: int) -> None:
        self.real, self.limit, self.sizes = real, limit, []

    def translate_batch(self, tokens, **settings):
        self.sizes.append(len(tokens))
        if len(tokens) > self.limit:
            raise RuntimeError("CUDA failed with error out of memory")
        return self.real.translate_batch(tokens, **settings)


@pytest.mark.parametrize(
    ("device", "replicas", "n", "size"),
    [
        ("cpu", 2, 64, 16),  # 4 sub-batches of 16: two per replica
        ("cpu", 2, 40, 10),  # 4 of 10, not 16 + 16 + 8
        ("cpu", 2, 7, 4),
        ("cpu", 1, 20, 10),
        ("cpu", 4, 3, 1),
        ("cuda", 1, 64, 0),  # one replica on a GPU: the engine's batch as it is
        ("cuda", 2, 64, 32),
    ],
)
def test_sub_batches_are_even_and_shared_by_the_replicas(tiny_models, device, replicas, n, size):
    backend = engine(tiny_models["marian-ct2"], replicas=1, threads=1).backend
    backend.device = device
    backend.threads = Threads(replicas=replicas, per_replica=1, cores=replicas)
    assert backend.sub_batch(n) == size


def test_out_of_memory_in_a_sub_batch_splits_the_batch(tiny_models):
    path = tiny_models["marian-ct2"]
    expected = [r.text for r in engine(path, replicas=1, threads=1).generate(FRENCH)]
    two = engine(path, replicas=2, threads=2)
    fake = RunsOutOfMemory(two.backend.translator, limit=2)
    two.backend.translator = fake
    results = two.generate(FRENCH)
    assert [r.text for r in results] == expected
    assert max(fake.sizes) > 2  # it did fail, then the engine split the batch
    # One replica and one input that never fits: an error result, the others go on.
    one = engine(path, replicas=1, threads=1)
    one.backend.translator = RunsOutOfMemory(one.backend.translator, limit=0)
    assert all(r.error and "out of memory" in r.error for r in one.generate(FRENCH[:3]))


def test_describe_names_replicas_and_threads(tiny_models):
    info = load_model(
        tiny_models["marian-ct2"],
        GenerationOptions(backend="ct2", device="cpu", threads=2, replicas=2),
    ).describe()
    assert info["replicas"] == "2"
    assert info["threads_per_replica"] == "1"
    assert info["cores_available"] == str(available_cores())


# --- the thread plan ---------------------------------------------------------------------------


@pytest.fixture
def cores(monkeypatch):
    """Pretend the process may run on `n` CPUs; no OMP_NUM_THREADS."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def set_cores(n: int) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    return set_cores


def cgroup(tmp_path: Path, own: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /sys/fs/cgroup (files by relative path) and /proc/self/cgroup (`own`)."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    self_cgroup = tmp_path / "self-cgroup"
    self_cgroup.write_text(own)
    return root, self_cgroup


def test_cores_follow_affinity_when_nothing_limits(cores, tmp_path):
    cores(6)
    root, own = cgroup(tmp_path, "0::/\n", {"cpu.max": "max 100000\n"})
    assert available_cores(root, own) == 6
    assert available_cores(tmp_path / "none", tmp_path / "none") == 6  # no cgroup files at all


def test_cores_follow_a_cgroup_v2_quota_rounded_up(cores, tmp_path):
    cores(16)
    root, own = cgroup(tmp_path, "0::/\n", {"cpu.max": "150000 100000\n"})
    assert available_cores(root, own) == 2
    # The process's own cgroup and its ancestors: the tightest quota counts.
    root, own = cgroup(
        tmp_path / "nested",
        "0::/job/step\n",
        {"job/cpu.max": "300000 100000\n", "job/step/cpu.max": "max 100000\n"},
    )
    assert available_cores(root, own) == 3
    # A quota above the affinity mask leaves the mask.
    root, own = cgroup(tmp_path / "wide", "0::/\n", {"cpu.max": "6400000 100000\n"})
    assert available_cores(root, own) == 16


def test_cores_follow_a_cgroup_v1_quota(cores, tmp_path):
    cores(8)
    root, own = cgroup(
        tmp_path,
        "4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n",
        {
            "cpu/docker/abc/cpu.cfs_quota_us": "250000\n",
            "cpu/docker/abc/cpu.cfs_period_us": "100000\n",
            "cpu/cpu.cfs_quota_us": "-1\n",
            "cpu/cpu.cfs_period_us": "100000\n",
        },
    )
    assert available_cores(root, own) == 3
    # A tiny quota is still one core; a broken file is ignored.
    root, own = cgroup(tmp_path / "small", "0::/\n", {"cpu.max": "20000 100000\n"})
    assert available_cores(root, own) == 1
    root, own = cgroup(tmp_path / "broken", "0::/\n", {"cpu.max": "lots\n"})
    assert available_cores(root, own) == 8


def test_this_machine_reports_at_least_one_core():
    assert 1 <= available_cores() <= (os.cpu_count() or 1)


def test_thread_plan(cores, monkeypatch):
    cores(2)
    assert plan_threads("cpu", None, None) == Threads(2, 1, 2)
    assert plan_threads("cpu", None, 1) == Threads(1, 2, 2)
    assert plan_threads("cpu", 1, None) == Threads(1, 1, 2)
    assert plan_threads("cpu", None, None, cores=8) == Threads(4, 2, 8)
    assert plan_threads("cpu", None, None, cores=32) == Threads(4, 8, 32)
    assert plan_threads("cpu", 3, None, cores=32) == Threads(3, 1, 32)
    assert plan_threads("cpu", 2, 4, cores=32) == Threads(4, 1, 32)  # as asked, at least one
    # A GPU: one replica, the library's threads, unless told otherwise.
    assert plan_threads("cuda", None, None, cores=8) == Threads(1, 0, 8)
    assert plan_threads("cuda", 4, 2, cores=8) == Threads(2, 4, 8)
    # OMP_NUM_THREADS (Ray sets it for its actors) stands in for --threads.
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert plan_threads("cpu", None, None, cores=8) == Threads(3, 1, 8)
    assert plan_threads("cpu", 8, None, cores=8) == Threads(4, 2, 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")
    assert plan_threads("cpu", None, None, cores=8) == Threads(4, 2, 8)


def test_ct2_batches_hold_one_budget_per_replica(cores):
    cores(2)

    def budget(device="cpu", **options) -> int:
        return resolve(GenerationOptions(**options), "m", {}, None, device).batch_tokens

    assert budget(backend="torch") == 4096
    assert budget(backend="ct2") == 2 * 4096
    assert budget(backend="ct2", replicas=1) == 4096
    assert budget(backend="ct2", threads=8) == 4 * 4096
    assert budget(backend="ct2", batch_tokens=1000) == 1000  # given: as given
    assert budget("cuda", backend="ct2") == 32768


def test_options_refuse_zero_threads_or_replicas():
    for name in ("threads", "replicas"):
        with pytest.raises(NewsumError, match=name):
            GenerationOptions(**{name: 0})


def test_the_cores_function_is_the_one_the_backends_use():
    assert backend_module.plan_threads("cpu", None, None).cores == available_cores()


# --- the command line ---------------------------------------------------------------------------


def test_threads_and_replicas_reach_the_backend_from_the_cli(tiny_models, tmp_path):
    source = tmp_path / "in.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for n, text in enumerate(FRENCH):
            f.write(json.dumps({"id": str(n), "lang": "fr", "text": text, "status": "ok"}) + "\n")
    common = ["-m", tiny_models["marian-ct2"], "--backend", "ct2", "--max-new-tokens", "8"]
    outputs = {}
    for replicas in ("1", "2"):
        out = tmp_path / f"out-{replicas}.jsonl"
        flags = ["--replicas", replicas, "--threads", "2", "-v", "-q"]
        result = CliRunner().invoke(
            app, ["summarize", str(source), "-o", str(out), *common, *flags]
        )
        assert result.exit_code == 0, result.output
        assert f"replicas: {replicas}" in result.stderr
        assert f"threads_per_replica: {2 // int(replicas)}" in result.stderr
        outputs[replicas] = [json.loads(line)["summary"] for line in out.read_text().splitlines()]
    assert outputs["1"] == outputs["2"]
    bad = CliRunner().invoke(app, ["summarize", str(source), *common, "--replicas", "0"])
    assert bad.exit_code != 0
    help_text = CliRunner().invoke(app, ["summarize", "--help"], env={"COLUMNS": "200"}).output
    assert "--threads" in help_text and "--replicas" in help_text


def test_torch_takes_threads_and_refuses_replicas(tiny_models):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        info = load_model(
            tiny_models["marian"], GenerationOptions(device="cpu", threads=1)
        ).describe()
        assert info["threads"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(NewsumError, match="--replicas is for --backend ct2"):
        load_model(tiny_models["marian"], GenerationOptions(device="cpu", replicas=2))
