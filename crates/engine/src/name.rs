//! The naming template (`{stem}-{w}x{h}`): parsed once, which both validates it and renders it.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The tokens a naming template may use (`{n:04}` pads the number with zeros to 4 digits;
/// `{date:%Y-%m-%d_%H%M%S}` writes the date as strftime does).
pub const NAME_TOKENS: &[&str] = &[
    "{stem}",
    "{ext}",
    "{w}",
    "{h}",
    "{n}",
    "{n:04}",
    "{date}",
    "{date:FORMAT}",
    "{camera}",
];

/// How `{date}` without a format is written.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Stem,
    Ext,
    Width,
    Height,
    /// The input's position, padded with zeros to this many digits.
    Number(usize),
    /// When the photo was taken, in this strftime format.
    Date(String),
    Camera,
}

/// What a name or a text is made from: the input's stem and extension, its output size, its
/// 1-based position in the batch, and what the photo says (date, camera).
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The input's file name without its extension.
    pub stem: &'a OsStr,
    /// The input's extension.
    pub ext: &'a OsStr,
    /// The output's size.
    pub size: (u32, u32),
    /// The input's position.
    pub n: usize,
    /// When the photo was taken (or its file changed).
    pub date: Option<chrono::NaiveDateTime>,
    /// The camera's make and model.
    pub camera: Option<&'a str>,
}

/// A text with tokens, parsed: the parts of a naming template or a text watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens(Vec<Part>);

impl Tokens {
    /// Parses `text`; `allowed` names the tokens it may use (without braces).
    pub fn parse(text: &str, allowed: &[&str]) -> Result<Tokens, TemplateError> {
        let list = || {
            allowed
                .iter()
                .map(|t| format!("{{{t}}}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let tail = &rest[open..];
            let close = tail
                .find('}')
                .ok_or_else(|| TemplateError(format!("unclosed '{{' in '{text}'")))?;
            let token = &tail[1..close];
            let (name, spec) = match token.split_once(':') {
                Some((n, s)) => (n, Some(s)),
                None => (token, None),
            };
            if !allowed.contains(&name) {
                return Err(TemplateError(format!(
                    "unknown token {{{token}}} in '{text}'; use {}",
                    list()
                )));
            }
            let bare = |part: Part| match spec {
                None => Ok(part),
                Some(_) => Err(TemplateError(format!(
                    "{{{token}}}: {{{name}}} takes no format"
                ))),
            };
            parts.push(match name {
                "stem" => bare(Part::Stem)?,
                "ext" => bare(Part::Ext)?,
                "w" => bare(Part::Width)?,
                "h" => bare(Part::Height)?,
                "camera" => bare(Part::Camera)?,
                "n" => match spec {
                    None => Part::Number(0),
                    Some(digits) => match digits.parse::<usize>() {
                        Ok(w) if w <= 12 && !digits.starts_with('+') => Part::Number(w),
                        _ => {
                            return Err(TemplateError(format!(
                                "{{{token}}}: write the number's width in digits, e.g. {{n:04}}"
                            )));
                        }
                    },
                },
                _ => {
                    let format = spec.unwrap_or(DATE_FORMAT);
                    check_date_format(format)?;
                    Part::Date(format.to_owned())
                }
            });
            rest = &tail[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Tokens(parts))
    }

    /// Whether rendering needs each image's output size (read from its header).
    pub fn needs_size(&self) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Part::Width | Part::Height))
    }

    /// Whether rendering needs what the photo says (its date or camera).
    pub fn needs_photo(&self) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Part::Date(_) | Part::Camera))
    }

    /// Whether the text carries the input's position (`{n}`).
    pub fn numbered(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Part::Number(_)))
    }

    /// The text for `facts`; `file` makes it a file name's (a date or camera with '/' has
    /// it replaced, an unknown camera is `unknown`). No date: the current time.
    pub fn render(&self, facts: &Facts<'_>, file: bool) -> OsString {
        use std::fmt::Write;
        let mut out = OsString::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push(t),
                Part::Stem => out.push(facts.stem),
                Part::Ext => out.push(facts.ext),
                Part::Width => out.push(facts.size.0.to_string()),
                Part::Height => out.push(facts.size.1.to_string()),
                Part::Number(w) => out.push(format!("{:0w$}", facts.n, w = *w)),
                Part::Date(format) => {
                    let date = facts
                        .date
                        .unwrap_or_else(|| chrono::Local::now().naive_local());
                    let mut text = String::new();
                    // Checked when parsed: writing cannot fail.
                    let _ = write!(text, "{}", date.format(format));
                    out.push(if file { safe(&text) } else { text });
                }
                Part::Camera => match facts.camera {
                    Some(c) if file => out.push(safe(c)),
                    Some(c) => out.push(c),
                    None if file => out.push("unknown"),
                    None => {}
                },
            }
        }
        out
    }
}

/// Refuses a strftime format chrono cannot write (`%Q`), or one with nothing of the date.
fn check_date_format(format: &str) -> Result<(), TemplateError> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(TemplateError(format!(
            "{{date:{format}}}: not a date format chrono knows; use strftime's %Y %m %d %H %M %S              (e.g. {{date:%Y-%m-%d_%H%M%S}})"
        )));
    }
    Ok(())
}

/// A token's text made safe for a file name: separators and control characters become '-'.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// An output file name before its extension, with tokens (see [`NAME_TOKENS`]). Always valid:
/// non-empty, known tokens only, no path separators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct NameTemplate {
    text: String,
    parts: Tokens,
}

/// The longest naming template: with the input's name and the extension it must still fit a
/// file name's 255 bytes.
pub const MAX_TEMPLATE_BYTES: usize = 120;

/// The start of the names Conveyor keeps for its own files in an output folder: its journal
/// (`.conveyor-journal….jsonl`), its temporary files and its write check.
pub const RESERVED_PREFIX: &str = ".conveyor";

/// Whether a file or folder name is one Conveyor keeps for itself.
pub fn is_reserved(name: &str) -> bool {
    name.get(..RESERVED_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_PREFIX))
}

impl NameTemplate {
    /// Parses and checks `text`.
    pub fn parse(text: &str) -> Result<NameTemplate, TemplateError> {
        // Word joiners (U+2060) are invisible: one pasted from `--help` is not part of a name.
        let joined;
        let text = if text.contains('\u{2060}') {
            joined = text.replace('\u{2060}', "");
            joined.as_str()
        } else {
            text
        };
        if text.trim().is_empty() {
            return Err(TemplateError("the naming template is empty".into()));
        }
        if text.contains('/') || text.contains('\\') {
            return Err(TemplateError(
                "the naming template may not contain '/' or '\\'".into(),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(TemplateError(
                "the naming template may not contain control characters (such as a line break \
                 or NUL)"
                    .into(),
            ));
        }
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError(format!(
                "the naming template is {} bytes long; file names end at 255 bytes, so keep it \
                 under {MAX_TEMPLATE_BYTES}",
                text.len()
            )));
        }
        if is_reserved(text) {
            return Err(TemplateError(format!(
                "'{text}' starts with {RESERVED_PREFIX}, which Conveyor keeps for its own files \
                 (its journal and temporary files); choose another name"
            )));
        }
        let parts = Tokens::parse(text, &["stem", "ext", "w", "h", "n", "date", "camera"])?;
        Ok(NameTemplate {
            text: text.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether rendering needs each image's output size (read from its header).
    pub fn needs_size(&self) -> bool {
        self.parts.needs_size()
    }

    /// Whether rendering needs what each photo says (its EXIF date or camera).
    pub fn needs_photo(&self) -> bool {
        self.parts.needs_photo()
    }

    /// Whether names carry the input's position (`{n}`).
    pub fn numbered(&self) -> bool {
        self.parts.numbered()
    }

    /// The name for one input.
    pub fn render(&self, facts: &Facts<'_>) -> OsString {
        self.parts.render(facts, true)
    }
}

impl Default for NameTemplate {
    fn default() -> Self {
        NameTemplate {
            text: "{stem}".into(),
            parts: Tokens(vec![Part::Stem]),
        }
    }
}

impl FromStr for NameTemplate {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NameTemplate::parse(s)
    }
}

impl fmt::Display for NameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<NameTemplate> for String {
    fn from(t: NameTemplate) -> String {
        t.text
    }
}

impl TryFrom<String> for NameTemplate {
    type Error = TemplateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        NameTemplate::parse(&s)
    }
}

/// Compares names as people do: runs of digits by their value (so `img_2` comes before
/// `img_10`), letters ignoring case; names equal that way fall back to plain order.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    natural_cmp_parts(&[a], &[b])
}

/// [`natural_cmp`] of the texts the parts make when joined (`["d01/", "img_2.jpg"]`), without
/// joining them: the scan sorts a million names this way.
pub fn natural_cmp_parts(a: &[&str], b: &[&str]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (Chars::new(a), Chars::new(b));
    loop {
        match (x.peek(), y.peek()) {
            (None, None) => return plain_cmp(a, b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                // Leading zeros skipped, then the longer run is the larger number, then the
                // first differing digit decides.
                x.skip_zeros();
                y.skip_zeros();
                let mut order = Ordering::Equal;
                loop {
                    match (x.digit(), y.digit()) {
                        (Some(m), Some(n)) => {
                            if order == Ordering::Equal {
                                order = m.cmp(&n);
                            }
                        }
                        (Some(_), None) => return Ordering::Greater,
                        (None, Some(_)) => return Ordering::Less,
                        (None, None) => break,
                    }
                }
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(c), Some(d)) => {
                let order = if c.is_ascii() && d.is_ascii() {
                    c.to_ascii_lowercase().cmp(&d.to_ascii_lowercase())
                } else {
                    c.to_lowercase().cmp(d.to_lowercase())
                };
                if order != Ordering::Equal {
                    return order;
                }
                x.next();
                y.next();
            }
        }
    }
}

/// Plain order of the joined texts.
fn plain_cmp(a: &[&str], b: &[&str]) -> std::cmp::Ordering {
    let x = a.iter().flat_map(|p| p.bytes());
    let y = b.iter().flat_map(|p| p.bytes());
    x.cmp(y)
}

/// The characters of several parts, one after another, with a look ahead.
struct Chars<'a> {
    parts: &'a [&'a str],
    part: usize,
    at: usize,
}

impl<'a> Chars<'a> {
    fn new(parts: &'a [&'a str]) -> Chars<'a> {
        let mut c = Chars {
            parts,
            part: 0,
            at: 0,
        };
        c.settle();
        c
    }

    /// Moves past finished parts.
    fn settle(&mut self) {
        while self.part < self.parts.len() && self.at >= self.parts[self.part].len() {
            self.part += 1;
            self.at = 0;
        }
    }

    fn peek(&self) -> Option<char> {
        self.parts.get(self.part)?[self.at..].chars().next()
    }

    fn next(&mut self) {
        if let Some(c) = self.peek() {
            self.at += c.len_utf8();
            self.settle();
        }
    }

    fn skip_zeros(&mut self) {
        while self.peek() == Some('0') {
            self.next();
        }
    }

    /// The next character if it is a digit, consumed.
    fn digit(&mut self) -> Option<char> {
        let c = self.peek().filter(char::is_ascii_digit)?;
        self.next();
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first natural order (allocating), which the one without allocation must equal.
    fn first_natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        fn digits(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
            let mut run = String::new();
            while let Some(&c) = it.peek() {
                if !c.is_ascii_digit() {
                    break;
                }
                run.push(c);
                it.next();
            }
            run
        }
        let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
        loop {
            match (x.peek().copied(), y.peek().copied()) {
                (None, None) => return a.cmp(b),
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                    let (m, n) = (digits(&mut x), digits(&mut y));
                    let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                    let order = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                (Some(c), Some(d)) => {
                    let order = c.to_lowercase().cmp(d.to_lowercase());
                    if order != Ordering::Equal {
                        return order;
                    }
                    x.next();
                    y.next();
                }
            }
        }
    }

    /// The scan compares a folder and a name without joining them: every split of a text
    /// orders as the joined text does, for texts with digit runs, case, leading zeros and
    /// separators.
    #[test]
    fn comparing_parts_is_comparing_the_joined_text() {
        let words = [
            "", "a", "A", "a/", "a.jpg", "a-b.jpg", "img_2", "img_10", "img_010", "IMG_2", "0",
            "00", "01/", "1/", "12", "123.jpg", "é", "É/x", "b", "a0", "a/x.jpg",
        ];
        let mut texts = Vec::new();
        for x in words {
            for y in words {
                texts.push((x, y));
            }
        }
        for &(a0, a1) in &texts {
            for &(b0, b1) in texts.iter().step_by(7) {
                let (a, b) = (format!("{a0}{a1}"), format!("{b0}{b1}"));
                let joined = natural_cmp(&a, &b);
                assert_eq!(joined, first_natural_cmp(&a, &b), "{a} vs {b}");
                assert_eq!(
                    natural_cmp_parts(&[a0, a1], &[b0, b1]),
                    joined,
                    "{a0}|{a1} vs {b0}|{b1}"
                );
            }
        }
        assert!(natural_cmp("img_2", "img_10").is_lt());
        assert!(
            natural_cmp("IMG_2", "img_2").is_lt(),
            "equal but for case: plain order"
        );
        assert!(
            natural_cmp("img_02", "img_2").is_lt(),
            "equal but for zeros: plain order"
        );
        assert!(natural_cmp("a.jpg", "a/x.jpg").is_lt());
    }

    #[test]
    fn parses_once_then_renders() {
        let t = NameTemplate::parse("{n}-{stem}.{ext}-{w}x{h}").expect("valid");
        assert!(t.needs_size());
        let facts = Facts {
            stem: OsStr::new("pic"),
            ext: OsStr::new("orf"),
            size: (30, 20),
            n: 7,
            ..Facts::default()
        };
        assert_eq!(t.render(&facts), "7-pic.orf-30x20");
        assert!(!NameTemplate::default().needs_size());
        assert_eq!(t.to_string(), "{n}-{stem}.{ext}-{w}x{h}");
    }

    #[test]
    fn refuses_bad_templates() {
        assert!("{nope}".parse::<NameTemplate>().is_err());
        assert!("a/{stem}".parse::<NameTemplate>().is_err());
        assert!("{stem".parse::<NameTemplate>().is_err());
        assert!(" ".parse::<NameTemplate>().is_err());
        assert!("{stem}-small".parse::<NameTemplate>().is_ok());
        for bad in ["{n:x}", "{stem:3}", "{date:%Q}", "{camera:x}", "{n:-2}"] {
            assert!(bad.parse::<NameTemplate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_from_the_photo() {
        let t = NameTemplate::parse("{date:%Y-%m-%d_%H%M%S}_{n:04}_{camera}").expect("valid");
        assert!(t.needs_photo() && t.numbered() && !t.needs_size());
        let date =
            chrono::NaiveDate::from_ymd_opt(2024, 7, 14).and_then(|d| d.and_hms_opt(18, 5, 9));
        let facts = Facts {
            stem: OsStr::new("IMG_1"),
            n: 12,
            date,
            camera: Some("Canon EOS/R5"),
            ..Facts::default()
        };
        assert_eq!(t.render(&facts), "2024-07-14_180509_0012_Canon EOS-R5");
        let plain = NameTemplate::parse("{date}-{camera}").expect("valid");
        let unknown = Facts {
            camera: None,
            ..facts
        };
        assert_eq!(plain.render(&unknown), "2024-07-14-unknown");
        let slashes = NameTemplate::parse("{date:%D}").expect("valid");
        assert_eq!(slashes.render(&facts), "07-14-24");
        let text = Tokens::parse("© {date:%Y} {camera}", &["date", "camera"]).expect("valid");
        assert_eq!(text.render(&facts, false), "© 2024 Canon EOS/R5");
        assert!(Tokens::parse("{w}", &["date"]).is_err());
    }
}
