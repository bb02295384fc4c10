"""Pyramid loader: demo pyramid, YAML/CSV/DHIS2 formats, and clear errors for broken trees."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from ingest.errors import PyramidError
from ingest.pyramid import OrgUnit, Pyramid, load_pyramid, pyramid_from_dhis2, pyramid_from_mapping


def test_demo_pyramid_has_the_size_and_names_of_mali(pyramid):
    levels = Counter(u.level for u in pyramid.units.values())
    assert levels["national"] == 1
    assert levels["region"] >= 5 and levels["district"] >= 12 and levels["health_area"] >= 80
    assert levels["site"] > levels["health_area"]
    names = {u.name for u in pyramid.units.values()}
    for place in ("Mopti", "Djenné", "Bandiagara", "Bankass", "Kadiolo", "Sikasso", "Ségou", "Kayes",
                  "Koulikoro", "Fana", "Commune I"):
        assert place in names
    for area in pyramid.at_level("health_area"):
        assert 5000 <= area.population <= 20000
        assert area.lat is not None and area.lon is not None
    assert pyramid.get("ML").population == sum(a.population for a in pyramid.at_level("health_area"))


def test_queries_walk_the_tree(pyramid):
    site = "ML-MOP-DJENNE-MOUGNA-S1"
    assert [u.level for u in pyramid.ancestors(site)] == ["site", "health_area", "district", "region", "national"]
    assert pyramid.ancestor_at(site, "district").id == "ML-MOP-DJENNE"
    assert pyramid.is_within(site, "ML-MOP") and not pyramid.is_within(site, "ML-SIK")
    assert pyramid.resolve(pyramid.get(site).dhis2_uid).id == site


def units(*rows):
    return [OrgUnit(id=i, name=i, level=lvl, parent_id=p) for i, lvl, p in rows]


@pytest.mark.parametrize("rows, key", [
    ([("N", "national", None), ("R", "region", "N"), ("R", "region", "N")], "pyramid.id.duplicate"),
    ([("N", "national", None), ("R", "region", "X")], "pyramid.parent.unknown"),
    ([("N", "national", None), ("A", "region", "B"), ("B", "district", "A")], "pyramid.cycle"),
    ([("N", "national", None), ("A", "region", "A")], "pyramid.cycle"),
    ([("N", "national", None), ("D", "district", "N")], "pyramid.level.invalid"),
    ([("N", "national", None), ("M", "national", None)], "pyramid.root.invalid"),
    ([("N", "national", None), ("R", "province", "N")], "pyramid.level.unknown"),
])
def test_broken_trees_fail_with_a_stable_key(rows, key):
    with pytest.raises(PyramidError) as exc:
        Pyramid.from_units(units(*rows))
    assert exc.value.key == key


def test_cycle_message_names_the_units():
    with pytest.raises(PyramidError, match="A -> B -> A|B -> A -> B"):
        Pyramid.from_units(units(("N", "national", None), ("A", "region", "B"), ("B", "district", "A")))


def test_levels_are_configuration():
    p = Pyramid.from_units([OrgUnit(id="C", name="Country", level="country"),
                            OrgUnit(id="P", name="Province", level="province", parent_id="C")],
                           levels=("country", "province"))
    assert p.depth("P") == 1


def test_nested_yaml_and_unknown_keys(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("levels: [national, region]\nroot:\n  id: N\n  name: Nation\n  level: national\n"
                 "  children:\n    - {id: R1, name: Region 1, level: region, population: 30000}\n")
    p = load_pyramid(f)
    assert p.get("R1").parent_id == "N" and p.get("R1").population == 30000
    with pytest.raises(PyramidError) as exc:
        pyramid_from_mapping({"levels": ["national"], "root": {"id": "N", "name": "N", "level": "national",
                                                               "colour": "red"}})
    assert exc.value.key == "pyramid.unit.invalid"


def test_csv_loader(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("id,name,level,parent_id,population,lat,lon\nML,Mali,national,,,,\n"
                 "ML-MOP,Mopti,region,ML,2000000,14.49,-4.18\n")
    p = load_pyramid(f)
    assert p.get("ML-MOP").lat == pytest.approx(14.49)
    f.write_text("id,name,level,parent_id,population\nML,Mali,national,,\nR,Mopti,region,ML,-5\n")
    with pytest.raises(PyramidError) as exc:
        load_pyramid(f)
    assert exc.value.key == "pyramid.unit.invalid"


def test_dhis2_export(tmp_path):
    doc = {"organisationUnits": [
        {"id": "ImspTQPwCqd", "name": "Mali", "level": 1},
        {"id": "O6uvpzGd5pu", "name": "Mopti", "level": 2, "parent": {"id": "ImspTQPwCqd"}},
        {"id": "fdc6uOvgoji", "name": "Djenné", "level": 3, "parent": {"id": "O6uvpzGd5pu"},
         "geometry": {"type": "Point", "coordinates": [-4.55, 13.91]}},
    ]}
    f = tmp_path / "ou.json"
    f.write_text(json.dumps(doc))
    p = load_pyramid(f)
    d = p.get("fdc6uOvgoji")
    assert (d.level, d.parent_id, d.lat, d.lon) == ("district", "O6uvpzGd5pu", 13.91, -4.55)
    doc["organisationUnits"][2]["parent"] = {"id": "missing0000"}
    with pytest.raises(PyramidError) as exc:
        pyramid_from_dhis2(doc)
    assert exc.value.key == "pyramid.parent.unknown"
    with pytest.raises(PyramidError):
        pyramid_from_dhis2({"organisationUnits": [{"name": "no id", "level": 1}]})


# DHIS2 ``fields=id,code,name,level,path,parent[id]``: parent and level from ``path`` when absent
PATH_CASES = [  # (the district's fields, its parent, its level, its code)
    ({"parent": {"id": "O6uvpzGd5pu"}, "level": 3, "code": "ML-DJ"}, "O6uvpzGd5pu", "district", "ML-DJ"),
    ({"path": "/ImspTQPwCqd/O6uvpzGd5pu/fdc6uOvgoji", "level": 3}, "O6uvpzGd5pu", "district", None),
    ({"path": "/ImspTQPwCqd/O6uvpzGd5pu/fdc6uOvgoji"}, "O6uvpzGd5pu", "district", None),
    ({"path": "/ImspTQPwCqd/O6uvpzGd5pu/fdc6uOvgoji", "parent": {"id": "O6uvpzGd5pu"}, "code": "DJ"},
     "O6uvpzGd5pu", "district", "DJ"),
]


@pytest.mark.parametrize("fields,parent,level,code", PATH_CASES)
def test_dhis2_export_reads_parent_and_level_from_path_and_keeps_code(fields, parent, level, code):
    doc = {"organisationUnits": [
        {"id": "ImspTQPwCqd", "name": "Mali", "path": "/ImspTQPwCqd", "code": "ML"},
        {"id": "O6uvpzGd5pu", "name": "Mopti", "path": "/ImspTQPwCqd/O6uvpzGd5pu"},
        {"id": "fdc6uOvgoji", "name": "Djenné", **fields},
    ]}
    p = pyramid_from_dhis2(doc)
    d = p.get("fdc6uOvgoji")
    assert (d.parent_id, d.level, d.code) == (parent, level, code)
    assert p.get("ImspTQPwCqd").code == "ML" and p.resolve("fdc6uOvgoji").id == "fdc6uOvgoji"


@pytest.mark.parametrize("bad", [{"id": "fdc6uOvgoji", "name": "x", "path": "/ImspTQPwCqd/other000001"},
                                 ["not", "a", "unit"], {"id": "fdc6uOvgoji", "name": "x"}])
def test_dhis2_export_with_a_path_not_ending_with_the_unit_or_no_level_is_refused(bad):
    doc = {"organisationUnits": [{"id": "ImspTQPwCqd", "name": "Mali", "level": 1}, bad]}
    with pytest.raises(PyramidError) as exc:
        pyramid_from_dhis2(doc)
    assert exc.value.key in ("pyramid.unit.invalid", "pyramid.level.unknown")
