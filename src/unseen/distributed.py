"""The same jobs on a Ray cluster when one machine is not enough (``pip install 'unseen[ray]'``).

`RayCluster` joins a running cluster (``auto``: the one this machine belongs to, or its
address, ``HOST:PORT`` or ``ray://HOST:PORT``), or starts a Ray instance on this machine
(``local``) that listens on 127.0.0.1 only, without a dashboard. Through it:

- **enrolment** (`RayCluster.embedding`): actors, each with the detector and recognizers
  loaded once, embed the images; the templates file, its checkpoints and a resumed run work
  as they do locally (`unseen.audit.recognition.enrolment.enrol_images`);
- **all-pairs scoring** (`RayCluster.runner`): shares of the blocks run as tasks, wherever
  a CPU (or a GPU, `unseen.audit.scale.Backend`) is free, and their counts add up to the
  same integers as a local run;
- **redaction of photos** (`RayCluster.photo_workers`): actors with the redactor loaded once;
  the outputs, the record and resuming a cut-off run are those of a local run (videos are
  redacted by this machine, one at a time, as locally).

Jobs carry file paths, not pixels: every node must see the inputs and outputs at the same
paths (one machine, or a shared filesystem). Ray's usage statistics are turned off. Joining
a remote cluster is the one case where unseen talks to other machines, and only to the
address given.
"""

from __future__ import annotations

from contextlib import nullcontext

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unseen.audit.recognition.enrolment import EnrolConfig, EnrolJob, Templates, embed_image
from unseen.audit.scale import Block, BlockCounts, ScaleConfig, ScoreGrid, TemplateGroups, count_blocks, \
    find_in_blocks
from unseen.errors import ConfigError, UnseenError
from unseen.progress import Progress

LOCAL = "local"
"""Start a Ray instance on this machine, listening on 127.0.0.1 only."""

SHARES_PER_CPU = 4
"""All-pairs blocks are split into about this many tasks per CPU of the cluster."""


def _ray(local: bool):
    """Ray, imported with its usage statistics off (and, for a local instance, its node on
    the loopback address: Ray otherwise picks the machine's network address)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if local:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray: Ray is not installed; install it with: pip install 'unseen[ray]'") from None
    return ray


def open_cluster(address: str | None):
    """A `RayCluster` for ``address`` (to use in a ``with``), or, for None, a context that
    gives None: the jobs then run on this machine."""
    return nullcontext(None) if address is None else RayCluster(address)


class RayCluster:
    """A connection to a Ray cluster for the time of a ``with`` block (see the module text).

    ``address``: ``local``, ``auto`` or the cluster's address. ``cpus``: CPUs a local
    instance may use (default: all). A Ray already connected in this process is used as
    it is, and left connected.
    """

    def __init__(self, address: str, *, cpus: int | None = None) -> None:
        if not address:
            raise ConfigError("--ray: give 'auto', 'local' or the cluster's address (HOST:PORT)")
        self.address, self.cpus_wanted = address, cpus
        self._ray: Any = None
        self._connected_here = False

    def __enter__(self) -> RayCluster:
        ray = _ray(self.address == LOCAL)
        if not ray.is_initialized():
            if self.address == LOCAL:
                ray.init(num_cpus=self.cpus_wanted, include_dashboard=False, _node_ip_address="127.0.0.1",
                         log_to_driver=False)
            else:
                try:
                    ray.init(address=self.address, log_to_driver=False)
                except (ConnectionError, RuntimeError, ValueError) as error:
                    raise ConfigError(f"--ray {self.address}: cannot join that Ray cluster ({error}); start one with "
                                      "`ray start --head`, name its address, or use --ray local") from None
            self._connected_here = True
        self._ray = ray
        if self.address == LOCAL:
            self._check_loopback()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self._connected_here and self._ray is not None:
            self._ray.shutdown()
        self._ray = None

    def _check_loopback(self) -> None:
        gcs = str(self._ray.get_runtime_context().gcs_address)
        if not gcs.startswith(("127.0.0.1:", "localhost:", "[::1]:")):
            self.__exit__(None, None, None)
            raise UnseenError(f"--ray local: the Ray instance listens on {gcs}, not on 127.0.0.1 only; Ray was "
                              "imported before unseen could ask for loopback: start it from a fresh process")

    @property
    def ray(self) -> Any:
        if self._ray is None:
            raise ConfigError("RayCluster: use it in a with-block")
        return self._ray

    @property
    def cpus(self) -> int:
        """CPUs the cluster has."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def embedding(self, models: Sequence[str], config: EnrolConfig, *, build_embedder: Callable[[str], Any],
                  build_detector: Callable[[str], Any], actors: int | None = None) -> RayEmbedding:
        """Enrolment on the cluster (an `unseen.audit.recognition.enrolment.Embedding`)."""
        return RayEmbedding(self, models, config, build_embedder=build_embedder, build_detector=build_detector,
                            actors=actors or self.cpus)

    def runner(self) -> RayRunner:
        """All-pairs blocks on the cluster (an `unseen.audit.scale.BlockRunner`)."""
        return RayRunner(self)

    def photo_workers(self, config: Any, *, preview_dir: Path | None, actors: int | None = None) -> RayPhotoWorkers:
        """Photo redaction on the cluster (what `unseen.redact.batch.PhotoWorkers` offers)."""
        return RayPhotoWorkers(self, config, preview_dir=preview_dir, actors=actors or self.cpus)


# -- enrolment ----------------------------------------------------------------------------------
class _Enroller:
    """An actor's detector and recognizers, loaded once."""

    def __init__(self, models: Sequence[str], config: EnrolConfig, build_embedder: Callable[[str], Any],
                 build_detector: Callable[[str], Any]) -> None:
        from unseen.audit.recognition.enrolment import FaceSource

        self.embedders = {name: build_embedder(name) for name in models}
        self.detector = build_detector(config.detector) if config.faces is FaceSource.DETECT else None
        self.config = config

    def embed(self, job: EnrolJob) -> Templates:
        return embed_image(job.path, embedders=self.embedders, detector=self.detector, config=self.config,
                           models=job.models)


class RayEmbedding:
    """Images embedded by ``actors`` Ray actors, results in the jobs' order."""

    def __init__(self, cluster: RayCluster, models: Sequence[str], config: EnrolConfig, *,
                 build_embedder: Callable[[str], Any], build_detector: Callable[[str], Any], actors: int) -> None:
        self.cluster, self.models, self.config, self.actors = cluster, tuple(models), config, actors
        self.builders = (build_embedder, build_detector)

    def map(self, jobs: Sequence[EnrolJob]) -> Iterator[Templates]:
        if not jobs:
            return iter(())
        ray = self.cluster.ray
        from ray.util import ActorPool

        actor = ray.remote(num_cpus=1)(_Enroller)
        pool = ActorPool([actor.remote(self.models, self.config, *self.builders)
                          for _ in range(min(self.actors, len(jobs)))])
        return pool.map(lambda worker, job: worker.embed.remote(job), list(jobs))


# -- all-pairs scoring --------------------------------------------------------------------------
class RayRunner:
    """Shares of the all-pairs blocks as Ray tasks (`unseen.audit.scale.BlockRunner`)."""

    def __init__(self, cluster: RayCluster) -> None:
        self.cluster = cluster

    def _shares(self, blocks: Sequence[Block]) -> list[Sequence[Block]]:
        count = max(1, min(len(blocks), SHARES_PER_CPU * self.cluster.cpus))
        return [share.tolist() for share in np.array_split(np.array(blocks, dtype=object), count) if len(share)]

    def count(self, groups: TemplateGroups, grid: ScoreGrid, blocks: Sequence[Block], config: ScaleConfig,
              moments: bool, progress: Progress) -> BlockCounts:
        ray = self.cluster.ray
        task = ray.remote(count_blocks)
        shared = ray.put(groups)
        pending = [task.remote(shared, grid, share, config, moments=moments) for share in self._shares(blocks)]
        total: BlockCounts | None = None
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            counted = ray.get(done[0])
            total = counted if total is None else total + counted
            progress.advance(float(counted.total.sum()))
        assert total is not None
        return total

    def find(self, groups: TemplateGroups, floor: float, blocks: Sequence[Block], config: ScaleConfig,
             progress: Progress) -> tuple[np.ndarray, np.ndarray]:
        ray = self.cluster.ray
        task = ray.remote(find_in_blocks)
        shared = ray.put(groups)
        shares = self._shares(blocks)
        found = ray.get([task.remote(shared, floor, share, config) for share in shares])
        progress.advance(float(sum((b.rows.stop - b.rows.start) * (b.cols.stop - b.cols.start) for b in blocks)))
        return (np.concatenate([a for a, _ in found]) if found else np.zeros(0, np.int64),
                np.concatenate([b for _, b in found]) if found else np.zeros(0, np.int64))


# -- photo redaction ------------------------------------------------------------------------------
class _PhotoRedactor:
    """An actor's redactor (detector, cover, verifier), loaded once."""

    def __init__(self, config: Any) -> None:
        from unseen.redact.photo import Redactor

        self.redactor = Redactor(config, threads=1)

    def redact(self, job: Any, previous: Any, preview_dir: Path | None) -> Any:
        from unseen.redact.batch import redact_one

        return redact_one(job, self.redactor, previous, preview_dir)


class _Pending:
    """A Ray result as `concurrent.futures` offers one."""

    def __init__(self, ray: Any, ref: Any) -> None:
        self.ray, self.ref = ray, ref

    def result(self) -> Any:
        return self.ray.get(self.ref)


class RayPhotoWorkers:
    """Photos redacted by Ray actors, handed out in turn; a context manager like
    `unseen.redact.batch.PhotoWorkers`."""

    def __init__(self, cluster: RayCluster, config: Any, *, preview_dir: Path | None, actors: int) -> None:
        self.cluster, self.config, self.preview_dir, self.count = cluster, config, preview_dir, max(1, actors)
        self._actors: list[Any] = []
        self._next = 0

    def __enter__(self) -> RayPhotoWorkers:
        actor = self.cluster.ray.remote(num_cpus=1)(_PhotoRedactor)
        self._actors = [actor.remote(self.config) for _ in range(self.count)]
        return self

    def __exit__(self, kind, error, traceback) -> None:
        for actor in self._actors:
            self.cluster.ray.kill(actor)
        self._actors = []

    def submit(self, job: Any, previous: Any) -> _Pending:
        if not self._actors:
            raise ConfigError("RayPhotoWorkers: use it in a with-block")
        actor = self._actors[self._next % len(self._actors)]
        self._next += 1
        return _Pending(self.cluster.ray, actor.redact.remote(job, previous, self.preview_dir))
