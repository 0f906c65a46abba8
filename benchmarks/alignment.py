"""How faces are cut out for the recognizers: the measurements behind the choices.

    python benchmarks/alignment.py [DATA]

DATA is the evaluation data folder (default: $UNSEEN_DATA, else ../shared/data).

1. Calibration (utkface/, 200 faces, 25 per race x gender, seeded): where dlib's five
   shape-predictor points and CenterFace's box corners fall in the 112x112 ArcFace frame
   once each face is aligned by CenterFace's landmarks (medians). The first is
   `unseen.faces.embedders.align.DLIB_POINTS_IN_TEMPLATE`.
2. Faces without landmarks (identities/): landmarks derived from dlib's shape predictor
   or from the box alone (with the calibrated box corners), against CenterFace's own:
   mean point error over the distance between the eyes, and FaceNet's ROC AUC and d'
   on the pairs with each.
3. FaceNet crop (identities/): 5-point alignment with and without the shift up, against a
   square crop of the detector's box (FaceNet's training crops were boxes), on upright
   photos and on photos turned by 35 degrees (faces found again by CenterFace).
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pandas as pd

from _faces import DETECTION_SIDE, data_root

from unseen.audit.verification.metrics import d_prime, roc_auc
from unseen.faces.detect import largest_face
from unseen.faces.embedders.align import (
    ARCFACE_TEMPLATE, DLIB_POINTS_IN_TEMPLATE, ShapePredictor, align, similarity_transform, warp)
from unseen.faces.embedders.facenet import INPUT_SIZE, SHIFT_UP, FaceNet
from unseen.faces.registry import build_detector
from unseen.media.image import load

TURN_DEGREES = 35.0


def into_template(points: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    matrix = similarity_transform(landmarks, ARCFACE_TEMPLATE)
    return points @ matrix[:, :2].T + matrix[:, 2]


def calibrate(root, detector, predictor) -> tuple[np.ndarray, np.ndarray]:
    labels = pd.read_csv(root / "utkface" / "labels.csv")
    sample = labels.groupby(["race", "gender"]).sample(n=25, random_state=0)
    dlib_points, box_corners = [], []
    for name in sample.image:
        # UTKFace crops are tight: a border gives the detector room to see the whole head
        image = cv2.copyMakeBorder(load(root / "utkface" / "images" / name).rgb, 50, 50, 50, 50, cv2.BORDER_CONSTANT)
        face = largest_face(image, detector, max_side=DETECTION_SIDE)
        if len(face) == 0:
            continue
        dlib_points.append(into_template(predictor.points(image, face.xyxy)[0], face.landmarks[0]))
        box_corners.append(into_template(face.xyxy[0].reshape(2, 2), face.landmarks[0]))
    dlib_points, box_corners = np.array(dlib_points), np.array(box_corners)
    print(f"1. calibration on {len(dlib_points)} UTKFace faces (ArcFace 112 px frame, median [interquartile range])")
    spread = np.percentile(dlib_points, 75, axis=0) - np.percentile(dlib_points, 25, axis=0)
    for label, point, iqr, used in zip(("eye R outer", "eye R inner", "eye L outer", "eye L inner", "nose base"),
                                       np.median(dlib_points, axis=0), spread, DLIB_POINTS_IN_TEMPLATE):
        print(f"   dlib {label:<12} {point[0]:6.2f} {point[1]:6.2f}  [{iqr[0]:.2f} {iqr[1]:.2f}]"
              f"   in align.py: {used[0]:6.2f} {used[1]:6.2f}")
    corners = np.median(box_corners, axis=0)
    print(f"   CenterFace box: x1 y1 {corners[0, 0]:.2f} {corners[0, 1]:.2f}, x2 y2 {corners[1, 0]:.2f} {corners[1, 1]:.2f}")
    return np.median(dlib_points, axis=0), corners


def landmarks_from_box(box: np.ndarray, corners_in_template: np.ndarray) -> np.ndarray:
    """The template placed by the box alone: the box's corners onto their median places."""
    (x1, y1), (x2, y2) = corners_in_template
    template_box = np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]])
    image_box = np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]])
    matrix = np.vstack([similarity_transform(image_box, template_box), [0, 0, 1]])
    inverse = np.linalg.inv(matrix)[:2]
    return ARCFACE_TEMPLATE @ inverse[:, :2].T + inverse[:, 2]


def square_box_crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    side = max(box[2] - box[0], box[3] - box[1])
    x0, y0 = (box[0] + box[2] - side) / 2, (box[1] + box[3] - side) / 2
    return warp(image, np.array([[size / side, 0, -x0 * size / side], [0, size / side, -y0 * size / side]]), size)


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[:, 2] += [new_w / 2 - width / 2, new_h / 2 - height / 2]
    return cv2.warpAffine(image, matrix, (new_w, new_h))


def separation(pairs: pd.DataFrame, templates_a: dict, templates_b: dict) -> str:
    a = np.stack([templates_a[x] for x in pairs.image_a])
    b = np.stack([templates_b[x] for x in pairs.image_b])
    scores = -np.linalg.norm(a - b, axis=1)
    same = pairs.same_person.to_numpy() == 1
    split = {"mated": scores[same], "nonmated": scores[~same]}
    return f"ROC AUC {roc_auc(**split):.4f}  d' {d_prime(**split):.2f}"


def main(root_argument: str | None) -> None:
    root = data_root(root_argument)
    detector, predictor, facenet = build_detector("centerface"), ShapePredictor(), FaceNet()
    _, box_corners = calibrate(root, detector, predictor)

    pairs = pd.read_csv(root / "identities" / "pairs.csv")
    crops = {key: {} for key in ("detector", "dlib", "box", "no shift", "square box")}
    turned_crops = {key: {} for key in ("aligned", "square box")}
    errors = {"dlib": [], "box": []}
    turned_errors = {"dlib": [], "box": []}
    for name in sorted(set(pairs.image_a) | set(pairs.image_b)):
        image = load(root / "identities" / "images" / name).rgb
        face = largest_face(image, detector, max_side=DETECTION_SIDE)
        truth = face.landmarks[0].astype(np.float64)
        eyes = np.linalg.norm(truth[0] - truth[1])
        derived = {"dlib": predictor.landmarks(image, face.xyxy)[0],
                   "box": landmarks_from_box(face.xyxy[0], box_corners)}
        for key, landmarks in (("detector", truth), *derived.items()):
            crops[key][name] = align(image, landmarks[None], size=INPUT_SIZE, shift_up=SHIFT_UP)[0]
        for key, landmarks in derived.items():
            errors[key].append(np.linalg.norm(landmarks - truth, axis=1).mean() / eyes)
        crops["no shift"][name] = align(image, truth[None], size=INPUT_SIZE)[0]
        crops["square box"][name] = square_box_crop(image, face.xyxy[0], INPUT_SIZE)
        turned_image = turned(image, TURN_DEGREES)
        turned_face = largest_face(turned_image, detector, max_side=DETECTION_SIDE)
        turned_crops["aligned"][name] = align(turned_image, turned_face.landmarks, size=INPUT_SIZE,
                                              shift_up=SHIFT_UP)[0]
        turned_crops["square box"][name] = square_box_crop(turned_image, turned_face.xyxy[0], INPUT_SIZE)
        turned_truth = turned_face.landmarks[0].astype(np.float64)
        for key, landmarks in (("dlib", predictor.landmarks(turned_image, turned_face.xyxy)[0]),
                               ("box", landmarks_from_box(turned_face.xyxy[0], box_corners))):
            turned_errors[key].append(np.linalg.norm(landmarks - turned_truth, axis=1).mean() / eyes)

    def templates(group: dict) -> dict:
        return {name: facenet.embed_crops(crop[None])[0] for name, crop in group.items()}

    embedded = {key: templates(group) for key, group in crops.items()}
    print(f"2. faces without landmarks ({len(errors['dlib'])} identities photos; error = mean distance to "
          "CenterFace's landmarks / eye distance)")
    print(f"   {'CenterFace landmarks':<28} {'':>41}  FaceNet {separation(pairs, embedded['detector'], embedded['detector'])}")
    for key, label in (("dlib", "dlib 5-point predictor"), ("box", "box only")):
        print(f"   {label:<28} error median {np.median(errors[key]):.3f} (turned {np.median(turned_errors[key]):.3f})  FaceNet "
              f"{separation(pairs, embedded[key], embedded[key])}")
    print(f"3. FaceNet crop, pairs of upright photos / first photo turned {TURN_DEGREES:.0f} degrees")
    turned_embedded = {key: templates(group) for key, group in turned_crops.items()}
    rows = ((f"aligned, shift up {SHIFT_UP}", "detector", "aligned"), ("aligned, no shift", "no shift", None),
            ("square box crop", "square box", "square box"))
    for label, key, turned_key in rows:
        turned_result = separation(pairs, turned_embedded[turned_key], embedded[key]) if turned_key else "-"
        print(f"   {label:<28} {separation(pairs, embedded[key], embedded[key])}   /   {turned_result}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
