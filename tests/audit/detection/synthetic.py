"""Synthetic labelled faces for detection tests: a crowd in which who is missed depends on
face size only, and faces from boxes listed by hand."""

import numpy as np

from unseen.audit.detection.box_files import PackBoxes
from unseen.audit.detection.pack import LabelledFaces


def crowd(n_images=300, seed=0, size_gap=True):
    """Faces of skin types I and VI (and a few unsure); type VI faces are smaller when
    ``size_gap``; a face is missed with a probability that depends on its height only."""
    rng = np.random.default_rng(seed)
    per_image = rng.integers(2, 8, n_images)
    image_index = np.repeat(np.arange(n_images), per_image)
    n = len(image_index)
    skin = np.where(rng.random(n) < 0.5, "I", "VI").astype("<U16")
    skin[rng.random(n) < 0.05] = "Not Sure"
    height = np.exp(rng.normal(3.4, 0.5, n))
    if size_gap:
        height = np.where(skin == "VI", height * 0.6, height)
    height = np.clip(height, 6, 400)
    x = rng.uniform(0, 2000, n)
    xywh = np.stack([x, np.zeros(n), height, height], axis=1)
    p_miss = 1 / (1 + np.exp(-(4.0 - 1.6 * np.log2(height) + 3.0)))
    missed = rng.random(n) < p_miss
    faces = LabelledFaces(
        images=[f"e/{i:04d}.jpg" for i in range(n_images)], image_index=image_index, face_id=np.arange(n),
        xywh=xywh, attributes={"skin": skin, "gender": np.where(rng.random(n) < 0.5, "Female", "Male")},
        conditions={"blur": rng.integers(0, 3, n).astype(float), "occlusion": np.zeros(n),
                    "pose": np.zeros(n), "illumination": np.zeros(n), "invalid": np.zeros(n)})
    found = ~missed
    boxes = PackBoxes(image_index=image_index[found], xywh=xywh[found], score=np.full(found.sum(), 0.9),
                      found=np.ones(n_images, bool))
    return faces, boxes, found


def faces_of(per_image, skin=None):
    """Faces from ``x y w h`` boxes listed per image (optionally a skin label per face)."""
    image_index = [i for i, boxes in enumerate(per_image) for _ in boxes]
    xywh = [b for boxes in per_image for b in boxes]
    attributes = {} if skin is None else {"skin": skin}
    return LabelledFaces(images=[f"{i}.jpg" for i in range(len(per_image))], image_index=image_index,
                         face_id=np.arange(len(xywh)), xywh=np.array(xywh, float).reshape(-1, 4),
                         attributes=attributes)
