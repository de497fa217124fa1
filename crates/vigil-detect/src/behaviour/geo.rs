//! Geo-IP: where an address is, from a MaxMind-format database (GeoLite2/DB-IP city layouts with
//! coordinates, or the CC0 ip-location-db country layout with a country code only). The bytes
//! come from the caller; this module does no IO.

use std::net::IpAddr;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Where an address is, as precisely as the database knows.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// ISO 3166 country code.
    pub country: String,
    /// Latitude and longitude in degrees, when the database has them.
    pub coordinates: Option<(f64, f64)>,
}

/// Looks addresses up. Private, loopback and link-local addresses have no place.
pub trait GeoLookup: Send + Sync {
    fn locate(&self, ip: IpAddr) -> Option<Place>;
}

/// A MaxMind-format database held in memory.
pub struct MaxMind {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize)]
struct Record {
    country: Option<Country>,
    registered_country: Option<Country>,
    /// The ip-location-db country layout.
    country_code: Option<String>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl MaxMind {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<MaxMind> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| Error::GeoDatabase(e.to_string()))?;
        Ok(MaxMind { reader })
    }
}

/// Whether an address can have a place at all.
pub fn is_routable(ip: IpAddr) -> bool {
    !(vigil_model::address::is_local(ip) || vigil_model::address::is_private(ip))
}

impl GeoLookup for MaxMind {
    fn locate(&self, ip: IpAddr) -> Option<Place> {
        if !is_routable(ip) {
            return None;
        }
        // A corrupt record is treated as unknown: one bad entry must not stop detection.
        let record: Record = self.reader.lookup(ip).ok()?.decode().ok()??;
        let country = record
            .country
            .and_then(|c| c.iso_code)
            .or(record.country_code)
            .or_else(|| record.registered_country.and_then(|c| c.iso_code))?;
        let coordinates = record.location.and_then(|l| Some((l.latitude?, l.longitude?)));
        Some(Place { country, coordinates })
    }
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h =
        ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The test database `scripts/make_test_geo_db.py` writes.
    pub(crate) fn test_db() -> MaxMind {
        MaxMind::from_bytes(include_bytes!("../../fixtures/geo-test.mmdb").to_vec()).expect("test database")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn city_and_country_layouts_are_both_read() {
        let db = test_db();
        let berlin = db.locate(ip("198.51.100.7")).expect("Berlin");
        assert_eq!(berlin.country, "DE");
        assert_eq!(berlin.coordinates, Some((52.52, 13.40)));
        assert_eq!(db.locate(ip("198.18.3.4")), Some(Place { country: "FR".into(), coordinates: None }));
        assert_eq!(db.locate(ip("2001:db8::1")).map(|p| p.country).as_deref(), Some("JP"));
        assert_eq!(db.locate(ip("8.8.8.8")), None);
        assert_eq!(db.locate(ip("10.0.0.1")), None);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        assert!(MaxMind::from_bytes(b"not a database".to_vec()).is_err());
    }

    #[test]
    fn berlin_to_san_francisco_is_about_9100_km() {
        let d = distance_km((52.52, 13.40), (37.77, -122.42));
        assert!((9050.0..9150.0).contains(&d), "{d}");
    }
}
