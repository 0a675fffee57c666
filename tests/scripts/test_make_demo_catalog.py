"""scripts/make_demo_catalog.py and scripts/import_catalog.py, run in-process through main()."""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from engine.catalog.store import CatalogStore


def load_script(name: str) -> ModuleType:
    """scripts/ is a namespace package when the repo root is on sys.path (pytest puts it there)."""
    return importlib.import_module(f"scripts.{name}")


@pytest.fixture(scope="module")
def make_demo() -> ModuleType:
    return load_script("make_demo_catalog")


@pytest.fixture(scope="module")
def import_catalog() -> ModuleType:
    return load_script("import_catalog")


@pytest.mark.parametrize("script", ["make_demo_catalog", "import_catalog"])
def test_help(script: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        load_script(script).main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_builds_catalog_and_refuses_to_mix(make_demo: ModuleType, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert make_demo.main(["--n", "12", "--seed", "1", "--data-dir", str(data)]) == 0
    with CatalogStore(data / "catalog.sqlite") as store:
        items = list(store.iter_items())
        first_id = store.catalog_id
        assert len(items) == 12
        assert all(i.image_path.startswith("images/demo/") for i in items)
        assert Image.open(store.resolve_image(items[0])).size == (224, 224)
    assert make_demo.main(["--n", "5", "--data-dir", str(data)]) == 1  # no --force: refused
    assert make_demo.main(["--n", "5", "--data-dir", str(data), "--force"]) == 0
    with CatalogStore(data / "catalog.sqlite") as store:
        assert len(store) == 5 and store.catalog_id != first_id
    assert len(list((data / "images" / "demo").iterdir())) == 5  # stale images removed


def test_default_data_dir_comes_from_settings(
    make_demo: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOPE_DATA_DIR", str(tmp_path / "env-data"))
    assert make_demo.main(["--n", "3"]) == 0
    assert (tmp_path / "env-data" / "catalog.sqlite").is_file()


def test_import_folder_and_csv(import_catalog: ModuleType, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for name in ("shirts/a.jpg", "shirts/b.jpg", "bags/c.jpg"):
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (10, 200, 30)).save(photos / name)
    (tmp_path / "list.csv").write_text(
        "path,title,category,split\nphotos/shirts/a.jpg,A,shirt,train\nphotos/bags/c.jpg,C,bag,test\n"
    )
    data = ["--data-dir", str(tmp_path / "data")]
    assert import_catalog.main(["folder", str(photos), "--limit", "2", *data]) == 0
    assert import_catalog.main(["csv", str(tmp_path / "list.csv"), "--split", "test", *data]) == 0
    assert import_catalog.main(["folder", str(photos), "--split", "test", *data]) == 1
    assert import_catalog.main(["csv", str(tmp_path / "absent.csv"), *data]) == 1
    with CatalogStore(tmp_path / "data" / "catalog.sqlite") as store:
        assert store.category_counts() == {"bags": 1, "shirts": 1, "bag": 1}
