"""Scale of the identification search: a gallery of random unit templates (512-D, as FaceNet's)
searched exhaustively by a block of probes, with FAISS (exact inner-product index) and with
plain numpy blocks in the same run: wall time, probes per second, the extra memory each
needs beyond the gallery (peak resident set sampled while it runs), and whether the two
return the same candidates. Then the audit of FAISS's candidate lists.

    python benchmarks/audit_identification_scale.py [--gallery 1000000] [--probes 10000] [--dim 512]
        [--rank 50] [--block-mib 256] [--backends faiss,numpy] [--audit-bootstrap 200]

Random templates make every search non-mated; the work does not depend on what the
templates are. Small sizes (``--gallery 100000 --probes 1000``) give a quick check.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np

from unseen.audit.identification.audit import audit_identification
from unseen.audit.identification.config import IdentificationConfig
from unseen.audit.identification.samples import Samples
from unseen.audit.identification.search import SearchConfig, search_gallery

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20


class PeakRSS:
    """The largest resident set seen while the block runs, sampled every 10 ms."""

    def __enter__(self) -> PeakRSS:
        self.start = rss_mib()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())

    @property
    def extra(self) -> float:
        return self.peak - self.start


def unit_templates(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        out[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def table(n: int, role: str, prefix: str, rng: np.random.Generator) -> Samples:
    ids = np.char.add(prefix, np.arange(n).astype(str))
    groups = np.array(["A", "B", "C", "D"])[rng.integers(0, 4, n)]
    return Samples(ids=ids, subjects=ids, attributes=("group",), labels=groups[:, None], role=role)


def main(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    before = rss_mib()
    start = time.perf_counter()
    gallery_t = unit_templates(args.gallery, args.dim, rng)
    probe_t = unit_templates(args.probes, args.dim, rng)
    gallery, probes = table(args.gallery, "gallery", "g", rng), table(args.probes, "probes", "p", rng)
    print(f"gallery {args.gallery:,} x {args.dim} float32 ({gallery_t.nbytes / 2**30:.2f} GiB), {args.probes:,} "
          f"probes, top {args.rank}; made in {time.perf_counter() - start:.0f} s; resident "
          f"{rss_mib() - before:.0f} MiB; {os.cpu_count()} CPU cores; block {args.block_mib:g} MiB")
    results = {}
    for backend in args.backends.split(","):
        config = SearchConfig(rank=args.rank, block_mib=args.block_mib, backend=backend)
        with PeakRSS() as memory:
            start = time.perf_counter()
            lists = search_gallery(probes=probes, gallery=gallery, probe_templates=probe_t, gallery_templates=gallery_t,
                                   metric="cosine", config=config, system=backend)
            seconds = time.perf_counter() - start
        results[backend] = lists
        print(f"{backend:>6}: {seconds:7.1f} s, {args.probes / seconds:8.1f} probes/s, "
              f"{args.probes * args.gallery / seconds / 1e6:8,.0f} million comparisons/s, peak extra memory "
              f"{memory.extra:,.0f} MiB over the gallery held")
    if len(results) == 2:
        a, b = results.values()
        same = np.mean(a.candidate.reshape(args.probes, -1) == b.candidate.reshape(args.probes, -1))
        top = np.mean(a.candidate.reshape(args.probes, -1)[:, 0] == b.candidate.reshape(args.probes, -1)[:, 0])
        print(f"same candidate at the same rank: {same:.4f} of list places ({top:.4f} at rank 1); largest score "
              f"difference {np.abs(a.score - b.score).max():.2e}")
    if args.audit_bootstrap >= 0:
        lists = next(iter(results.values()))
        del gallery_t
        with PeakRSS() as memory:
            start = time.perf_counter()
            audit = audit_identification(lists, config=IdentificationConfig(n_bootstrap=args.audit_bootstrap,
                                                                            gallery_draws=3))
            seconds = time.perf_counter() - start
        item = audit.attribute()
        print(f" audit: {seconds:7.1f} s for {len(lists):,} candidate rows ({args.audit_bootstrap} subject-level "
              f"replicates, gallery experiments), peak extra memory {memory.extra:,.0f} MiB; threshold "
              f"{audit.threshold:.4f} for FPIR {audit.config.target_fpir:g}, FPIR {item.fpir.rate[0]:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--rank", type=int, default=50)
    parser.add_argument("--block-mib", type=float, default=256.0)
    parser.add_argument("--backends", default="faiss,numpy")
    parser.add_argument("--audit-bootstrap", type=int, default=200, help="replicates of the audit (-1: no audit)")
    main(parser.parse_args())
