"""Writing images: pixels only, every format, atomic; reading: upright and in sRGB."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.media.camera_files import camera_jpeg, device_profile
from unseen.errors import ConfigError
from unseen.media.image import OutputFormat, decode, encode, load, output_format_for, save, visible_pixels


def _gradient(height=48, width=64):
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 4 % 256, y * 5 % 256, (x + y) * 2 % 256]).astype(np.uint8)


@pytest.mark.parametrize("file_format", list(OutputFormat))
def test_every_format_round_trips_and_keeps_alpha_where_it_can(file_format):
    rgb = _gradient()
    alpha = np.full(rgb.shape[:2], 77, np.uint8)
    alpha[:, :10] = 255
    back_rgb, back_alpha = decode(encode(rgb, alpha=alpha, file_format=file_format))
    assert back_rgb.shape == rgb.shape
    shown = rgb if file_format.keeps_alpha else visible_pixels(rgb, alpha, keeps_alpha=False)  # over black
    assert np.abs(back_rgb.astype(int) - shown).mean() < 12
    if file_format.keeps_alpha:
        assert back_alpha is not None and np.abs(back_alpha.astype(int) - alpha).max() <= 2
    else:
        assert back_alpha is None


def test_save_writes_atomically_and_leaves_no_partial_file(tmp_path):
    target = save(tmp_path / "out.jpg", _gradient())
    assert target.is_file() and Image.open(target).format == "JPEG"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rgb": np.zeros((4, 4), np.uint8)}, "rgb: expected a uint8 array"),
        ({"rgb": np.zeros((4, 4, 3), np.float32)}, "rgb: expected a uint8 array"),
        ({"rgb": np.zeros((4, 4, 3), np.uint8), "alpha": np.zeros((5, 4), np.uint8)}, "alpha: expected"),
        ({"rgb": np.zeros((4, 4, 3), np.uint8), "file_format": "gif"}, "unknown value 'gif'"),
        ({"rgb": np.zeros((4, 4, 3), np.uint8), "quality": 0}, "quality"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, message):
    kwargs.setdefault("file_format", "png")
    rgb = kwargs.pop("rgb")
    with pytest.raises(ConfigError, match=message):
        encode(rgb, **kwargs)


@pytest.mark.parametrize(("source", "expected"), [
    ("JPEG", OutputFormat.JPEG), ("MPO", OutputFormat.JPEG), ("HEIF", OutputFormat.HEIF),
    ("GIF", OutputFormat.PNG), ("PNG", OutputFormat.PNG), ("WEBP", OutputFormat.WEBP), ("XYZ", OutputFormat.PNG),
])
def test_output_format_follows_the_source(source, expected):
    assert output_format_for(source) is expected


def test_portrait_phone_photo_loads_upright(tmp_path):
    sensor = _gradient(60, 100)  # stored landscape, tagged "rotate 90 clockwise to view"
    sensor[:10, :10] = (255, 0, 0)  # a red mark at the stored top-left
    path = tmp_path / "portrait.jpg"
    path.write_bytes(camera_jpeg(sensor, orientation=6))
    image = load(path)
    assert (image.height, image.width) == (100, 60)
    assert image.rgb[:10, -10:, 0].mean() > 200 and image.rgb[:10, -10:, 2].mean() < 60  # now top-right


def test_a_colour_profile_is_applied_to_the_pixels_not_carried(tmp_path):
    rgb = _gradient()
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", icc_profile=device_profile())
    path = tmp_path / "profiled.png"
    path.write_bytes(buffer.getvalue())
    image = load(path)
    assert np.abs(image.rgb.astype(int) - rgb).max() <= 2  # an sRGB profile changes nothing visible
    assert "icc_profile" not in Image.open(io.BytesIO(encode(image.rgb, file_format="png"))).info


def test_jpeg_is_written_without_chroma_subsampling():
    from PIL import JpegImagePlugin

    with Image.open(io.BytesIO(encode(_gradient(), file_format="jpeg"))) as written:
        assert JpegImagePlugin.get_sampling(written) == 0  # 4:4:4: every channel in 8 x 8 blocks
