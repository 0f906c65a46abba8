import pytest
from PIL import Image


@pytest.fixture()
def tiny_pack(tmp_path):
    """Three images (one without faces, one in a flat layout) and a faces.csv with labels."""
    images = tmp_path / "pack" / "images"
    (images / "1--Crowd").mkdir(parents=True)
    for name, size in (("1--Crowd/a.jpg", (64, 48)), ("1--Crowd/empty.jpg", (32, 32)), ("flat.png", (40, 30))):
        Image.new("RGB", size, (90, 90, 90)).save(images / name)
    (tmp_path / "pack" / "faces.csv").write_text(
        "image,event,face,x,y,w,h,blur,invalid,easy,medium,hard,skin,gender,region\n"
        "1--Crowd/a.jpg,1--Crowd,1,30,10,12,14,2,0,0,1,1,V,,north\n"
        "1--Crowd/a.jpg,1--Crowd,0,2,3,10,10,0,0,1,1,1,,Female,\n"
        "flat.png,,0,5,5,8,9,,1,0,0,0,Not Sure,Male,south\n")
    return tmp_path / "pack"
