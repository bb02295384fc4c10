"""Generate ``mali_pyramid.yaml``, the demo pyramid shipped with SEBAC (run once, output committed).

Regions, districts and health-area names are real places of Mali; coordinates are approximate
district centres with health areas scattered within ~15 km; populations are plausible (CSCom
5,000–20,000, drawn with a fixed seed) and add up the pyramid. Not an official master facility list.
DHIS2 UIDs are derived deterministically from the ids (11 chars, starting with a letter).

    python ingest/data/make_mali_pyramid.py > ingest/data/mali_pyramid.yaml
"""
from __future__ import annotations

import hashlib
import random
import sys
import unicodedata

import yaml

REGIONS = {
    "Kayes": (14.45, -11.44, {
        "Kayes": (14.45, -11.44, ["Kayes Plateau", "Khasso", "Liberté Dembaya", "Samé", "Diamou"]),
        "Kita": (13.04, -9.49, ["Kita Central", "Sirakoro", "Sébékoro", "Kassaro", "Djidian"]),
        "Bafoulabé": (13.81, -10.83, ["Bafoulabé Central", "Mahina", "Oualia", "Kontéla"]),
    }),
    "Koulikoro": (12.86, -7.56, {
        "Koulikoro": (12.86, -7.56, ["Koulikoro Ba", "Souban", "Dinandougou", "Méguétan", "Tienfala"]),
        "Fana": (12.78, -6.95, ["Fana Central", "Guégnéka", "Niamala", "Ména", "Djoumanzana"]),
        "Kati": (12.74, -8.07, ["Kati Coura", "Kalaban Coro", "Siby", "Ouéléssébougou", "Sanankoroba"]),
    }),
    "Sikasso": (11.32, -5.67, {
        "Sikasso": (11.32, -5.67, ["Wayerma", "Kaboïla", "Kléla", "Danderesso", "Niéna"]),
        "Kadiolo": (10.55, -5.76, ["Kadiolo Central", "Zégoua", "Misséni", "Fourou", "Loulouni"]),
        "Koutiala": (12.39, -5.46, ["Koutiala Central", "Zanfigué", "M'Pessoba", "Molobala", "Kouniana"]),
    }),
    "Ségou": (13.43, -6.26, {
        "Ségou": (13.43, -6.26, ["Pelengana", "Markala", "Dioro", "Sébougou", "Cinzana"]),
        "San": (13.30, -4.90, ["San Central", "Sy", "Kassorola", "Niasso"]),
        "Niono": (14.25, -5.99, ["Niono Central", "Molodo", "Siribala", "Pogo", "Diabaly"]),
    }),
    "Mopti": (14.49, -4.18, {
        "Mopti": (14.49, -4.18, ["Komoguel", "Sévaré", "Fatoma", "Socoura", "Konna", "Sio"]),
        "Djenné": (13.91, -4.55, ["Djenné Central", "Mougna", "Sofara", "Kouakourou", "Fakala", "Taga"]),
        "Bandiagara": (14.35, -3.61, ["Bandiagara Central", "Sangha", "Kani-Kombolé", "Dourou", "Ningari"]),
        "Bankass": (14.08, -3.52, ["Bankass Central", "Baye", "Ségué", "Diallassagou", "Sokoura"]),
    }),
    "Tombouctou": (16.77, -3.01, {
        "Tombouctou": (16.77, -3.01, ["Tombouctou Central", "Bourem-Inaly", "Ber", "Hamabangou", "Lafia"]),
    }),
    "Bamako": (12.64, -8.00, {
        "Commune I": (12.67, -7.97, ["Korofina Nord", "Banconi", "Djélibougou", "Sikoroni"]),
        "Commune II": (12.65, -7.99, ["Bagadadji", "Niaréla", "Bozola", "Hippodrome"]),
        "Commune IV": (12.65, -8.05, ["Lafiabougou", "Djicoroni Para", "Sébénikoro", "Hamdallaye"]),
        "Commune V": (12.60, -8.00, ["Badalabougou", "Sabalibougou", "Kalaban Coura", "Daoudabougou"]),
        "Commune VI": (12.59, -7.93, ["Niamakoro", "Sogoniko", "Faladié", "Yirimadio"]),
    }),
}


def slug(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_.upper() if c.isalnum())


def dhis2_uid(key: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    h = hashlib.sha256(key.encode()).digest()
    return alphabet[h[0] % 52] + "".join(alphabet[b % 62] for b in h[1:11])


def build() -> dict:
    rng = random.Random(2026)
    units: list[dict] = []
    nat = {"id": "ML", "name": "Mali", "level": "national", "parent_id": None, "lat": 17.57, "lon": -4.0}
    units.append(nat)
    totals: dict[str, int] = {}
    for rname, (rlat, rlon, districts) in REGIONS.items():
        rid = f"ML-{slug(rname)[:3]}"
        units.append({"id": rid, "name": rname, "level": "region", "parent_id": "ML", "lat": rlat, "lon": rlon})
        for dname, (dlat, dlon, areas) in districts.items():
            did = f"{rid}-{slug(dname)[:10]}"
            units.append({"id": did, "name": dname, "level": "district", "parent_id": rid, "lat": dlat, "lon": dlon})
            for aname in areas:
                aid = f"{did}-{slug(aname)[:8]}"
                pop = rng.randrange(5000, 20001, 10)
                alat = round(dlat + rng.uniform(-0.12, 0.12), 4)
                alon = round(dlon + rng.uniform(-0.12, 0.12), 4)
                units.append({"id": aid, "name": f"CSCom {aname}", "level": "health_area", "parent_id": did,
                              "population": pop, "lat": alat, "lon": alon})
                n_sites = rng.choice((2, 2, 3))
                shares = [rng.uniform(0.5, 1.5) for _ in range(n_sites)]
                for k in range(n_sites):
                    sid = f"{aid}-S{k + 1}"
                    units.append({"id": sid, "name": f"{aname} site {k + 1}", "level": "site", "parent_id": aid,
                                  "population": int(pop * shares[k] / sum(shares)),
                                  "lat": round(alat + rng.uniform(-0.04, 0.04), 4),
                                  "lon": round(alon + rng.uniform(-0.04, 0.04), 4)})
                for anc in (did, rid, "ML"):
                    totals[anc] = totals.get(anc, 0) + pop
    for u in units:
        if u["id"] in totals:
            u["population"] = totals[u["id"]]
        u["dhis2_uid"] = dhis2_uid(u["id"])
        if u["parent_id"] is None:
            del u["parent_id"]
    return {"levels": ["national", "region", "district", "health_area", "site"], "units": units}


if __name__ == "__main__":
    sys.stdout.write("# Demo health pyramid of Mali for SEBAC (generated by make_mali_pyramid.py; not an\n"
                     "# official facility list: real place names, approximate coordinates, plausible populations).\n")
    yaml.safe_dump(build(), sys.stdout, allow_unicode=True, sort_keys=False, width=120)
