from __future__ import annotations

from pathlib import Path

import yaml

from gavel_operator import crds

CRDS = Path(__file__).resolve().parents[3] / "crds"


def test_crds_folder_matches_the_schema_source() -> None:
    for name, crd in crds.all_crds().items():
        on_disk = yaml.safe_load((CRDS / name).read_text())
        assert on_disk == crd, f"crds/{name} is stale: run gavel operator crds --write crds/"
    assert sorted(p.name for p in CRDS.glob("*.yaml")) == sorted(crds.all_crds())


def test_both_have_status_subresource_short_names_and_columns() -> None:
    for crd in crds.all_crds().values():
        version = crd["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert crd["spec"]["names"]["shortNames"]
        assert version["additionalPrinterColumns"]


def test_every_property_is_described() -> None:
    def walk(schema: dict[str, object], path: str) -> list[str]:
        missing = []
        props = schema.get("properties", {})
        assert isinstance(props, dict)
        for key, sub in props.items():
            assert isinstance(sub, dict)
            if key not in {"apiVersion", "kind", "metadata"} and "description" not in sub:
                missing.append(f"{path}.{key}")
            missing += walk(sub, f"{path}.{key}")
        items = schema.get("items")
        if isinstance(items, dict):
            missing += walk(items, f"{path}[]")
        return missing

    for crd in crds.all_crds().values():
        root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert walk(root, crd["spec"]["names"]["kind"]) == []
