"""A small identification case worked out by hand, in both of the audit's modes.

Grey photos: a recognizer that takes the mean colour as the template (`tests.audit.fakes.FakeEmbedder`,
euclidean) scores two photos of grey levels u and v at distance sqrt(3) * |u - v|. The threshold
accepts grey-level differences up to 10.5.

    gallery   gA (A, X) 100   gB (B, X) 120   gC (C, Y) 200   gD (D, Y) 230
    probes    pA (A, X) 103: gA 3 (mate, rank 1, within the threshold)
              pB (B, X) 109: gA 9, gB 11 (mate at rank 2, beyond the threshold)
              pC (C, Y) 212: gC 12 (mate at rank 1, beyond the threshold), gD 18
              pE (E, X) 125: gB 5 -> a false candidate (E is not in the gallery)
              pF (F, Y) 165: gC 35, gB 45 -> nothing at the threshold
              pG (G, Y) 236: gD 6 -> a false candidate

By hand, lists of 2, at the threshold: X FNIR rank 1 = 1/2 (pB), FPIR = 1/1 (pE); Y FNIR rank 1 =
1/1 (pC), FPIR = 1/2 (pG). By rank alone: X FNIR rank 1 = 1/2, rank 2 = 0; Y 0 and 0. At the
threshold, rank 2: X 1/2 (pB's mate is too far), Y 1/1. False candidates: one X (for pE), one Y (pG).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PIL import Image

GREY = {"gA": 100, "gB": 120, "gC": 200, "gD": 230, "pA": 103, "pB": 109, "pC": 212, "pE": 125, "pF": 165, "pG": 236}
GALLERY = [("gA", "A", "X"), ("gB", "B", "X"), ("gC", "C", "Y"), ("gD", "D", "Y")]
PROBES = [("pA", "A", "X"), ("pB", "B", "X"), ("pC", "C", "Y"), ("pE", "E", "X"), ("pF", "F", "Y"),
          ("pG", "G", "Y")]
THRESHOLD = 10.5 * math.sqrt(3)   # a distance: grey-level differences up to 10.5 are accepted
RANK = 2

HAND = {  # group: (fpir, fnir rank 1 at threshold, fnir rank 1 by rank, fnir rank 2 by rank, fnir rank 2 at threshold)
    "X": (1.0, 0.5, 0.5, 0.0, 0.5),
    "Y": (0.5, 1.0, 0.0, 0.0, 1.0),
    "all": (2 / 3, 2 / 3, 1 / 3, 0.0, 2 / 3),
}
HAND_COUNTS = {"X": {"n_mated_searches": 2, "n_nonmated_searches": 1},
               "Y": {"n_mated_searches": 1, "n_nonmated_searches": 2}}


def distance(a: str, b: str) -> float:
    return math.sqrt(3) * abs(GREY[a] - GREY[b])


def vendor_rows() -> list[dict]:
    """The lists of 2 a vendor would return (distances), computed from the grey levels."""
    rows = []
    for probe, _, _ in PROBES:
        ranked = sorted((distance(probe, g), g) for g, _, _ in GALLERY)[:RANK]
        rows += [{"probe_id": probe, "rank": r + 1, "candidate_id": g, "distance": d} for r, (d, g) in
                 enumerate(ranked)]
    return rows


def write_tables(folder) -> dict:
    """probes.csv, gallery.csv (id, subject, race), cands.csv (vendor lists) and, for the images
    mode, the grey photos with probes-photos.csv / gallery-photos.csv manifests."""
    paths = {}
    for name, rows in (("probes", PROBES), ("gallery", GALLERY)):
        frame = pd.DataFrame(rows, columns=["id", "subject", "race"])
        frame.to_csv(folder / f"{name}.csv", index=False)
        paths[name] = folder / f"{name}.csv"
        for sample in frame.id:
            Image.fromarray(np.full((8, 8, 3), GREY[sample], np.uint8)).save(folder / f"{sample}.png")
        frame.assign(path=[f"{i}.png" for i in frame.id]).to_csv(folder / f"{name}-photos.csv", index=False)
        paths[f"{name}-photos"] = folder / f"{name}-photos.csv"
    pd.DataFrame(vendor_rows()).to_csv(folder / "cands.csv", index=False)
    paths["candidates"] = folder / "cands.csv"
    return paths
