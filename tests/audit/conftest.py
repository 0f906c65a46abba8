import pytest

from tests.audit.fakes import write_manifest


@pytest.fixture()
def manifest_path(tmp_path):
    return write_manifest(tmp_path)
