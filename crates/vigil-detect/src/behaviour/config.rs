//! Thresholds and windows of the behavioural detectors, as a SOC writes them in `vigil.yml`
//! (`detect.behaviour`). Every field has a default, so an empty section is a valid one.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// A length of time written as `90s`, `15m`, `2h` or `30d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub millis: i64,
}

impl Span {
    pub const fn seconds(s: i64) -> Span {
        Span { millis: s * 1000 }
    }

    pub fn parse(text: &str) -> Option<Span> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = text.split_at(split);
        let n: i64 = number.parse().ok()?;
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return None,
        };
        n.checked_mul(unit_secs * 1000).map(|millis| Span { millis })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.millis / 1000;
        match s {
            s if s % 86_400 == 0 && s > 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 && s > 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 && s > 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let text = String::deserialize(d)?;
        Span::parse(&text)
            .ok_or_else(|| de::Error::custom(format!("{text:?} is not a span like 90s, 15m, 2h or 30d")))
    }
}

/// A time of day, `HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    pub minutes: u32,
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeOfDay, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text.split_once(':').and_then(|(h, m)| {
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(TimeOfDay { minutes: h * 60 + m })
        });
        parsed.ok_or_else(|| de::Error::custom(format!("{text:?} is not a time of day like 07:30")))
    }
}

/// A UTC offset, `+02:00` or `-05:30`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcOffset {
    pub minutes: i32,
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UtcOffset, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = (|| {
            let sign = match text.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = text[1..].split_once(':')?;
            let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 14 && m < 60).then_some(UtcOffset { minutes: sign * (h * 60 + m) })
        })();
        parsed.ok_or_else(|| de::Error::custom(format!("{text:?} is not a UTC offset like +02:00")))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BehaviourConfig {
    /// Account names (case-insensitive, `*` matches any run of characters) that hold
    /// privilege: the dormant-account and off-hours detectors watch these.
    pub privileged_accounts: Vec<String>,
    pub impossible_travel: ImpossibleTravel,
    pub dormant_account: DormantAccount,
    pub mass_file_change: MassFileChange,
    pub off_hours: OffHours,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            privileged_accounts: [
                "administrator",
                "admin",
                "*-adm",
                "adm-*",
                "*_admin",
                "da-*",
                "root",
                "*-da",
            ]
            .map(String::from)
            .to_vec(),
            impossible_travel: ImpossibleTravel::default(),
            dormant_account: DormantAccount::default(),
            mass_file_change: MassFileChange::default(),
            off_hours: OffHours::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpossibleTravel {
    pub enabled: bool,
    /// Faster than this between two sign-ins is impossible (a long-haul flight is ~900 km/h).
    pub max_speed_kmh: f64,
    /// Sign-ins closer than this are never impossible travel (geo-IP is imprecise).
    pub min_distance_km: f64,
    /// With a country-only database: sign-ins from two countries within this span.
    pub country_change_within: Span,
}

impl Default for ImpossibleTravel {
    fn default() -> Self {
        ImpossibleTravel {
            enabled: true,
            max_speed_kmh: 1000.0,
            min_distance_km: 500.0,
            country_change_within: Span::seconds(2 * 3600),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DormantAccount {
    pub enabled: bool,
    /// An account unseen this long is dormant.
    pub dormant_after: Span,
    /// Only accounts matching `privileged_accounts` (false: every account).
    pub privileged_only: bool,
}

impl Default for DormantAccount {
    fn default() -> Self {
        DormantAccount { enabled: true, dormant_after: Span::seconds(30 * 86_400), privileged_only: true }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MassFileChange {
    pub enabled: bool,
    /// One process changing at least `min_files` distinct files within `window`.
    pub window: Span,
    pub min_files: usize,
    /// Count file creations too (off by default: installers and builds create many files).
    pub count_creates: bool,
}

impl Default for MassFileChange {
    fn default() -> Self {
        MassFileChange { enabled: true, window: Span::seconds(60), min_files: 200, count_creates: false }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OffHours {
    pub enabled: bool,
    /// The SOC's working time: UTC offset, days (`mon` … `sun`), and hours.
    pub utc_offset: UtcOffset,
    pub workdays: Vec<Weekday>,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
    /// Only accounts matching `privileged_accounts` (false: every account).
    pub privileged_only: bool,
}

impl Default for OffHours {
    fn default() -> Self {
        OffHours {
            enabled: true,
            utc_offset: UtcOffset { minutes: 0 },
            workdays: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            start: TimeOfDay { minutes: 7 * 60 },
            end: TimeOfDay { minutes: 20 * 60 },
            privileged_only: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// The weekday of a day number counted from 1970-01-01 (a Thursday).
    pub fn of_day(day: i64) -> Weekday {
        const DAYS: [Weekday; 7] = [
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
        ];
        DAYS[day.rem_euclid(7) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_print() {
        assert_eq!(Span::parse("90s"), Some(Span::seconds(90)));
        assert_eq!(Span::parse("30d").map(|s| s.to_string()).as_deref(), Some("30d"));
        assert_eq!(Span::parse("2h").map(|s| s.millis), Some(7_200_000));
        assert_eq!(Span::parse("5 parsecs"), None);
        assert_eq!(Span::parse("99999999999999999d"), None);
    }

    #[test]
    fn a_config_overrides_what_it_names_and_keeps_the_other_defaults() {
        let text = "off_hours: {utc_offset: '+02:00', start: '08:30', workdays: [mon, tue]}\nmass_file_change: {min_files: 50}\n";
        let config: BehaviourConfig = yaml_serde::from_str(text).expect("valid");
        assert_eq!(config.off_hours.utc_offset.minutes, 120);
        assert_eq!(config.off_hours.start.minutes, 510);
        assert_eq!(config.off_hours.end.minutes, 20 * 60);
        assert_eq!(config.mass_file_change.min_files, 50);
        assert_eq!(config.mass_file_change.window, Span::seconds(60));
        let typo = yaml_serde::from_str::<BehaviourConfig>("mass_file_chnage: {}\n");
        assert!(typo.is_err());
        let bad = yaml_serde::from_str::<BehaviourConfig>("off_hours: {start: '25:00'}\n");
        assert!(bad.err().is_some_and(|e| e.to_string().contains("time of day")));
    }

    #[test]
    fn weekdays_count_from_a_thursday() {
        assert_eq!(Weekday::of_day(0), Weekday::Thu);
        // 2026-12-01 is a Tuesday: 20,788 days after the epoch.
        assert_eq!(Weekday::of_day(20_788), Weekday::Tue);
        assert_eq!(Weekday::of_day(-1), Weekday::Wed);
    }
}
