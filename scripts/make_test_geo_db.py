#!/usr/bin/env python3
"""Writes crates/vigil-detect/fixtures/geo-test.mmdb, the MaxMind-format database the
behavioural-detection tests use: a few documentation networks placed in cities (GeoLite2-City
layout) and one with a country only (the layout of the CC0 ip-location-db country databases).

    python3 -m venv /tmp/mmdb && /tmp/mmdb/bin/pip install mmdb-writer==0.2.7
    /tmp/mmdb/bin/python scripts/make_test_geo_db.py
"""
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

CITIES = {
    "198.51.100.0/24": ("DE", "Germany", 52.52, 13.40),  # Berlin
    "192.0.2.0/24": ("DE", "Germany", 53.55, 9.99),  # Hamburg
    "203.0.113.0/24": ("US", "United States", 37.77, -122.42),  # San Francisco
    "2001:db8::/32": ("JP", "Japan", 35.68, 139.69),  # Tokyo
}
COUNTRY_ONLY = {"198.18.0.0/15": "FR"}

writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Vigil-Test-City", languages=["en"],
                    description={"en": "Vigil test networks (documentation ranges only)"})
for network, (iso, name, lat, lon) in CITIES.items():
    writer.insert_network(IPSet([network]), {
        "country": {"iso_code": iso, "names": {"en": name}},
        "location": {"latitude": lat, "longitude": lon},
    })
for network, iso in COUNTRY_ONLY.items():
    writer.insert_network(IPSet([network]), {"country_code": iso})
out = Path(__file__).resolve().parent.parent / "crates/vigil-detect/fixtures/geo-test.mmdb"
writer.to_db_file(str(out))
print(out, out.stat().st_size, "bytes")
