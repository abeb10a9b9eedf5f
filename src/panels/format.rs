//! How values read in the sidebar: money in the record's currency, dates,
//! domains, and how old the data is.

use chrono::{DateTime, NaiveDate, Utc};

/// `1250000.0, "USD"` → `$1,250,000.00`; unknown currencies put the code after.
pub fn money(amount: f64, currency: &str) -> String {
    let (symbol, decimals) = match currency {
        "USD" => ("$", 2),
        "EUR" => ("€", 2),
        "GBP" => ("£", 2),
        "JPY" => ("¥", 0),
        "INR" => ("₹", 2),
        "AUD" => ("A$", 2),
        "CAD" => ("CA$", 2),
        _ => ("", 2),
    };
    let negative = amount < 0.0;
    let rounded = format!("{:.*}", decimals, amount.abs());
    let (int, frac) = rounded.split_once('.').unwrap_or((&rounded, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = if frac.is_empty() {
        grouped
    } else {
        format!("{grouped}.{frac}")
    };
    let sign = if negative { "-" } else { "" };
    if symbol.is_empty() {
        format!("{sign}{number} {currency}")
    } else {
        format!("{sign}{symbol}{number}")
    }
}

/// `2026-12-15` → `15 Dec 2026`
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// `https://www.globex.example/about` → `globex.example`
pub fn domain(website: &str) -> String {
    let s = website.trim();
    let s = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
    let host = s.split(['/', '?', '#']).next().unwrap_or(s);
    host.strip_prefix("www.").unwrap_or(host).to_lowercase()
}

/// When data was fetched, as an absolute time (a canvas does not refresh
/// itself, so "2 min ago" would soon be wrong): `14:05 UTC` today,
/// `30 Nov, 14:05 UTC` on another day, `30 Nov 2025, 14:05 UTC` in another
/// year. In UTC, said so: a Canvas Kit request carries no time zone (the
/// teammate's `admin` has none and `context.locale` is a Messenger field).
pub fn clock(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M UTC").to_string()
    } else if at.format("%Y").to_string() == now.format("%Y").to_string() {
        at.format("%-d %b, %H:%M UTC").to_string()
    } else {
        at.format("%-d %b %Y, %H:%M UTC").to_string()
    }
}

/// `Updated just now`, `Updated 4 min ago`, `Updated 2 h ago`.
pub fn age(fetched_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - fetched_at).num_seconds().max(0);
    match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn money_in_the_records_currency() {
        assert_eq!(money(120000.0, "USD"), "$120,000.00");
        assert_eq!(money(48500.5, "EUR"), "€48,500.50");
        assert_eq!(money(1250.0, "JPY"), "¥1,250");
        assert_eq!(money(999.999, "USD"), "$1,000.00");
        assert_eq!(money(100.0, "CHF"), "100.00 CHF");
        assert_eq!(money(-5.0, "GBP"), "-£5.00");
        assert_eq!(money(0.0, "USD"), "$0.00");
    }

    #[test]
    fn dates_domains_and_ages() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()),
            "5 Dec 2026"
        );
        assert_eq!(domain("https://www.globex.example/about"), "globex.example");
        assert_eq!(domain("umbrella-health.example"), "umbrella-health.example");
        assert_eq!(domain("HTTP://Stark.example?x"), "stark.example");
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        assert_eq!(age(t, t), "just now");
        assert_eq!(age(t, t + chrono::Duration::seconds(150)), "2 min ago");
        assert_eq!(age(t, t + chrono::Duration::hours(3)), "3 h ago");
        assert_eq!(age(t + chrono::Duration::seconds(5), t), "just now");
        assert_eq!(clock(t, t + chrono::Duration::hours(3)), "10:00 UTC");
        assert_eq!(clock(t, t + chrono::Duration::days(1)), "24 Nov, 10:00 UTC");
        assert_eq!(
            clock(t, t + chrono::Duration::days(60)),
            "24 Nov 2026, 10:00 UTC"
        );
    }
}
