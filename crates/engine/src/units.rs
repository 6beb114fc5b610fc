//! Byte sizes: one parser and one formatter, both in binary units (1K = 1024 bytes), so a size
//! a user typed reads back the same ("--max-file-size 1G" is reported as "1.0 GiB").

/// Formats a byte count for people in binary units: "512 B", "1.5 MiB", "2.0 GiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Parses a size such as `512M`, `2G`, `1.5GiB`, `200K` or a plain byte count. K, M, G and T are
/// binary (KiB, MiB, …) with or without the `iB`/`B`, as [`human_bytes`] prints them.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (n, unit) = number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not a size; use e.g. 512M or 2G"))?;
    let scale: u64 = match unit
        .trim()
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(format!("'{text}' has an unknown unit; use K, M, G or T")),
    };
    let bytes = n * scale as f64;
    if bytes.is_nan() || bytes < 1.0 {
        return Err(format!("'{text}' is too small a size"));
    }
    Ok(bytes as u64)
}

/// A number and the unit after it (`1.5GiB` → 1.5 and `GiB`); `None` without a number.
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    Some((number.parse().ok()?, unit))
}

/// Parses a duration such as `2s`, `500ms`, `1.5s`, `5m` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not a duration; use e.g. 2s, 500ms or 1m"))?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" | "mins" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{text}' has an unknown unit; use ms, s, m or h")),
    };
    if !seconds.is_finite() || seconds > 86_400.0 * 365.0 {
        return Err(format!("'{text}' is too long a duration"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("200KB"), Ok(200 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(
            parse_size("lots").is_err() && parse_size("5X").is_err() && parse_size("0").is_err()
        );
    }

    #[test]
    fn what_is_printed_parses_back_to_the_same_size() {
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        for n in [1u64 << 30, 3 << 29, 512 << 20, 200 << 10] {
            assert_eq!(parse_size(&human_bytes(n)), Ok(n), "{}", human_bytes(n));
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(super::parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(
            super::parse_duration("500ms"),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(
            super::parse_duration("1.5"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(super::parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(super::parse_duration("soon").is_err());
        assert!(super::parse_duration("3 days").is_err());
    }
}
