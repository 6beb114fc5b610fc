//! `report merge`, streamed: the shards' reports are read record by record (never whole), each
//! record is written to an unnamed spool file as it is read, and the merged report is the
//! summary counted on the way followed by the spool. What is kept per record is a 64-bit hash
//! of its input (to count distinct inputs and find an input in two reports); inputs whose hash
//! is met twice other than side by side are read once more, by their text, so a hash collision
//! never miscounts or names the wrong file.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::stream::{record_text, write_json_head, write_json_tail};
use super::{FileRecord, Summary};
use crate::job::Status;
use crate::plan::Shard;

/// At most this many "was not converted" lines are listed; the rest are counted.
const UNFINISHED_LISTED: usize = 1000;

/// One report to merge: its name, for messages, and how to read it (at most twice).
pub struct Source<'a> {
    /// Where it came from, as the user named it.
    pub name: String,
    /// Opens it for reading from the start.
    pub open: Box<dyn Fn() -> io::Result<Box<dyn Read>> + 'a>,
}

/// Why a report could not be merged.
#[derive(Debug)]
pub struct MergeError {
    /// The report, as named.
    pub name: String,
    /// What went wrong, for people.
    pub reason: String,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.reason)
    }
}

/// Shard reports joined into one, ready to be written ([`Merged::write`]).
pub struct Merged {
    /// The merged summary, counted from every record.
    pub summary: Summary,
    /// Shards not given, records that did not finish, inputs in two reports, counts that do
    /// not add up: one line each, for people.
    pub missing: Vec<String>,
    /// Failed records: the input and why.
    pub failures: Vec<(String, String)>,
    spool: BufWriter<File>,
    csv: bool,
}

/// No converted record yet (the first reading keeps, per distinct input hash, the input bytes
/// of its first converted record).
const NONE: u64 = u64::MAX;

/// What a report's own summary says, as the merge checks it.
struct Told {
    shard: Option<String>,
    batch_inputs: Option<usize>,
    inputs: usize,
    scan_warnings: Vec<String>,
    elapsed: f64,
    workers: usize,
    outputs: Vec<String>,
    recipes: Vec<String>,
}

/// Joins the reports of a sharded batch, streamed (see the module), for a merged report in CSV
/// when `csv` (else JSON), its spool in `spool_dir`. They must be disjoint (no input and output
/// in two of them) and complete (every shard of the same N, each once; every record finished;
/// the shards' inputs adding up to the batch's): what is not is said in [`Merged::missing`].
/// Failed records stay in the report and are counted in its summary. An error only for a
/// report that cannot be read or is not a Conveyor JSON report.
pub fn merge(sources: &[Source<'_>], csv: bool, spool_dir: &Path) -> Result<Merged, MergeError> {
    let hasher = std::hash::RandomState::new();
    merge_hashed(sources, csv, spool_dir, &|text| hasher.hash_one(text))
}

/// [`merge`] with the inputs' hash `hash`.
fn merge_hashed(
    sources: &[Source<'_>],
    csv: bool,
    spool_dir: &Path,
    hash: &dyn Fn(&str) -> u64,
) -> Result<Merged, MergeError> {
    let mut spool = BufWriter::with_capacity(
        1 << 16,
        tempfile::tempfile_in(spool_dir).map_err(|e| MergeError {
            name: spool_dir.display().to_string(),
            reason: format!("cannot make a spool file: {}", crate::job::io_words(&e)),
        })?,
    );
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let mut suspects: HashSet<u64> = HashSet::new();
    let mut summary = Summary::default();
    let mut told: Vec<Told> = Vec::with_capacity(sources.len());
    let mut unfinished: Vec<String> = Vec::new();
    let mut unfinished_more = 0usize;
    let mut failures = Vec::new();
    let mut written = 0usize;
    let mut spool_error: Option<io::Error> = None;
    for source in sources {
        let mut prev_input = String::new();
        let mut current = 0u64;
        let mut first = true;
        let on_file = |f: FileRecord| -> Result<(), String> {
            summary.total += 1;
            match f.status {
                Status::Ok => {
                    summary.ok += 1;
                    summary.output_bytes += f.output_bytes.unwrap_or(0);
                }
                Status::Skipped => summary.skipped += 1,
                Status::Failed => {
                    summary.failed += 1;
                    failures.push((
                        f.input.clone(),
                        f.error.clone().unwrap_or_else(|| "unknown error".into()),
                    ));
                }
                Status::Cancelled => summary.cancelled += 1,
                Status::Planned => summary.planned += 1,
            }
            if matches!(f.status, Status::Cancelled | Status::Planned) {
                if unfinished.len() < UNFINISHED_LISTED {
                    unfinished.push(format!(
                        "{} was not converted ({} in {})",
                        f.input,
                        f.status.name(),
                        source.name
                    ));
                } else {
                    unfinished_more += 1;
                }
            }
            // An input's records are side by side in its report: a new input is hashed once.
            if first || f.input != prev_input {
                first = false;
                prev_input.clone_from(&f.input);
                current = hash(&f.input);
                match seen.entry(current) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(NONE);
                    }
                    // Met before, not side by side: the same input in another place (or
                    // another input with the same hash), told apart by text below.
                    std::collections::hash_map::Entry::Occupied(_) => {
                        suspects.insert(current);
                    }
                }
            }
            if f.status == Status::Ok
                && let Some(bytes) = seen.get_mut(&current)
                && *bytes == NONE
            {
                *bytes = f.input_bytes;
            }
            let text = record_text(&f, csv).map_err(|e| e.to_string())?;
            let sep: &[u8] = match (csv, written) {
                (true, _) => b"",
                (false, 0) => b"\n",
                (false, _) => b",\n",
            };
            if let Err(e) = spool
                .write_all(sep)
                .and_then(|()| spool.write_all(text.as_bytes()))
            {
                let words = crate::job::io_words(&e);
                spool_error = Some(e);
                return Err(format!("cannot write the spool file: {words}"));
            }
            written += 1;
            Ok(())
        };
        let own = read(source, on_file)?;
        if let Some(e) = spool_error.take() {
            return Err(MergeError {
                name: source.name.clone(),
                reason: format!("cannot write the spool file: {}", crate::job::io_words(&e)),
            });
        }
        told.push(own);
    }
    if unfinished_more > 0 {
        unfinished.push(format!(
            "and {unfinished_more} more records were not converted"
        ));
    }
    summary.inputs = seen.len();
    summary.input_bytes = seen.values().filter(|&&b| b != NONE).sum();
    let mut duplicates = Vec::new();
    if !suspects.is_empty() {
        // Read again, by text, the inputs whose hash was met twice.
        let mut texts: HashMap<String, u64> = HashMap::new();
        let mut owner: HashMap<(String, usize), usize> = HashMap::new();
        for (k, source) in sources.iter().enumerate() {
            read(source, |f| {
                if !suspects.contains(&hash(&f.input)) {
                    return Ok(());
                }
                let bytes = texts.entry(f.input.clone()).or_insert(NONE);
                if f.status == Status::Ok && *bytes == NONE {
                    *bytes = f.input_bytes;
                }
                if let Some(first) = owner.insert((f.input.clone(), f.output_index), k)
                    && sources.get(first).map(|s| &s.name) != Some(&source.name)
                {
                    let first = sources.get(first).map_or("", |s| s.name.as_str());
                    duplicates.push(format!(
                        "{} is in two reports: {first} and {}",
                        f.input, source.name
                    ));
                }
                Ok(())
            })?;
        }
        for h in &suspects {
            if let Some(&bytes) = seen.get(h) {
                summary.inputs -= 1;
                if bytes != NONE {
                    summary.input_bytes -= bytes;
                }
            }
        }
        summary.inputs += texts.len();
        summary.input_bytes += texts.values().filter(|&&b| b != NONE).sum::<u64>();
    }
    let shards: Vec<(&str, Option<&str>)> = sources
        .iter()
        .zip(&told)
        .map(|(s, t)| (s.name.as_str(), t.shard.as_deref()))
        .collect();
    let mut missing = shard_problems(&shards);
    missing.append(&mut duplicates);
    missing.append(&mut unfinished);
    let batch: BTreeSet<usize> = told.iter().filter_map(|t| t.batch_inputs).collect();
    let inputs: usize = told.iter().map(|t| t.inputs).sum();
    match batch.iter().collect::<Vec<_>>()[..] {
        [&whole] if whole != inputs && missing.is_empty() => missing.push(format!(
            "the batch has {whole} inputs but the reports hold {inputs}"
        )),
        [_, _, ..] => {
            missing.push("the reports scanned different batches (their input counts differ)".into())
        }
        _ => {}
    }
    let mut warnings: Vec<String> = Vec::new();
    for w in told.iter().flat_map(|t| &t.scan_warnings) {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }
    summary.outputs = told.first().map(|t| t.outputs.clone()).unwrap_or_default();
    summary.recipes = told.first().map(|t| t.recipes.clone()).unwrap_or_default();
    summary.elapsed_seconds = told.iter().map(|t| t.elapsed).fold(0.0, f64::max);
    summary.workers = told.iter().map(|t| t.workers).sum();
    summary.batch_inputs = batch.first().copied();
    summary.scan_warnings = warnings;
    summary.fill_rates();
    Ok(Merged {
        summary,
        missing,
        failures,
        spool,
        csv,
    })
}

/// Shards given twice or not at all, splits that differ, whole batches among shards.
/// `shards`: each report's name and the shard its summary says.
fn shard_problems(shards: &[(&str, Option<&str>)]) -> Vec<String> {
    let mut missing = Vec::new();
    // Shards by (N, K): two reports are the same shard only if they are of the same split.
    let mut by_shard: BTreeMap<(u32, u32), &str> = BTreeMap::new();
    let mut splits: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut unsharded = 0;
    for &(name, shard) in shards {
        match shard.map(str::parse::<Shard>) {
            None => unsharded += 1,
            Some(Err(_)) => missing.push(format!("{name}: its shard is not K/N")),
            Some(Ok(s)) => {
                splits
                    .entry(s.count)
                    .or_default()
                    .push(format!("{name} ({s})"));
                if let Some(first) = by_shard.insert((s.count, s.index), name) {
                    missing.push(format!("shard {s} is given twice: {first} and {name}"));
                }
            }
        }
    }
    let counts: BTreeSet<u32> = splits.keys().copied().collect();
    if unsharded > 0 && (unsharded > 1 || shards.len() > 1) {
        missing.push(format!(
            "{unsharded} of the reports are of a whole batch, not a shard"
        ));
    }
    if counts.len() > 1 {
        let described: Vec<String> = splits
            .iter()
            .map(|(n, names)| format!("{n} parts: {}", names.join(", ")))
            .collect();
        missing.push(format!(
            "the reports are of different splits ({})",
            described.join("; ")
        ));
    } else if let Some(&n) = counts.first() {
        let absent: Vec<String> = (1..=n)
            .filter(|k| !by_shard.contains_key(&(n, *k)))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !absent.is_empty() {
            missing.push(format!("shards not given: {}", absent.join(", ")));
        }
    }
    missing
}

impl Merged {
    /// Writes the merged report: the summary, then every record in the order read.
    pub fn write(&mut self, out: &mut dyn Write) -> io::Result<()> {
        self.spool.flush()?;
        let mut file = self.spool.get_ref().try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        let empty = self.summary.total == 0;
        if self.csv {
            out.write_all(super::CSV_HEADER.as_bytes())?;
        } else {
            write_json_head(out, &self.summary)?;
        }
        io::copy(&mut BufReader::with_capacity(1 << 16, file), out)?;
        if !self.csv {
            write_json_tail(out, empty)?;
        }
        Ok(())
    }
}

/// Reads `source`'s report, calling `on_file` with each record as it is read; returns what its
/// summary says.
fn read(
    source: &Source<'_>,
    mut on_file: impl FnMut(FileRecord) -> Result<(), String>,
) -> Result<Told, MergeError> {
    let fail = |reason: String| MergeError {
        name: source.name.clone(),
        reason,
    };
    let reader = (source.open)().map_err(|e| fail(crate::job::io_words(&e)))?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, reader));
    let mut summary = None;
    let seed = ReportSeed {
        summary: &mut summary,
        on_file: &mut on_file,
    };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| {
            fail(format!(
                "not a Conveyor JSON report ({e}); merge reads the JSON reports"
            ))
        })?;
    let s: Summary = summary.ok_or_else(|| {
        fail("not a Conveyor JSON report (it has no summary); merge reads the JSON reports".into())
    })?;
    Ok(Told {
        shard: s.shard,
        batch_inputs: s.batch_inputs,
        inputs: s.inputs,
        scan_warnings: s.scan_warnings,
        elapsed: s.elapsed_seconds,
        workers: s.workers,
        outputs: s.outputs,
        recipes: s.recipes,
    })
}

/// A report's `{"summary": …, "files": [...]}`, its records handed on one at a time.
struct ReportSeed<'a> {
    summary: &'a mut Option<Summary>,
    on_file: &'a mut dyn FnMut(FileRecord) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for ReportSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ReportSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a report: {\"summary\": …, \"files\": […]}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut files = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "summary" => *self.summary = Some(map.next_value()?),
                "files" => {
                    map.next_value_seed(Files {
                        on_file: &mut *self.on_file,
                    })?;
                    files = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if self.summary.is_none() {
            return Err(de::Error::missing_field("summary"));
        }
        if !files {
            return Err(de::Error::missing_field("files"));
        }
        Ok(())
    }
}

/// A report's `files`, each handed on as read.
struct Files<'a> {
    on_file: &'a mut dyn FnMut(FileRecord) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Files<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Files<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of file records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<FileRecord>()? {
            (self.on_file)(record).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;

    fn record(input: &str, index: usize, status: Status) -> FileRecord {
        FileRecord {
            input: input.into(),
            output: format!("{input}.{index}.webp"),
            status,
            error: (status == Status::Failed).then(|| "broken".into()),
            error_kind: None,
            input_bytes: 100 + input.len() as u64,
            output_bytes: (status == Status::Ok).then_some(7),
            width: None,
            height: None,
            quality: None,
            score: None,
            millis: 3,
            worker: None,
            note: None,
            warnings: Vec::new(),
            output_index: index,
            output_name: None,
        }
    }

    fn shard(k: u32, n: u32, inputs: &[&str], batch: usize) -> Report {
        let statuses = [
            Status::Ok,
            Status::Ok,
            Status::Failed,
            Status::Skipped,
            Status::Ok,
        ];
        let mut files = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            for index in 0..2 {
                files.push(record(input, index, statuses[(i + index) % statuses.len()]));
            }
        }
        let summary = Summary {
            shard: Some(format!("{k}/{n}")),
            batch_inputs: Some(batch),
            workers: 2,
            elapsed_seconds: f64::from(k),
            scan_warnings: vec![format!("w{}", k % 2)],
            ..Summary::default()
        };
        Report::new(files, summary)
    }

    /// The streamed merge writes what the in-memory merge (the code before #41, kept here)
    /// wrote, JSON and CSV, and says the same: whole shards, a shard twice, an input in two
    /// reports, unfinished records; also when every input's hash is the same.
    #[test]
    fn the_streamed_merge_is_the_merge_made_in_memory() {
        let mut unfinished = shard(3, 3, &["e", "f"], 6);
        unfinished.files[1].status = Status::Cancelled;
        let cases: Vec<Vec<(String, Report)>> = vec![
            vec![
                ("one".into(), shard(1, 3, &["a", "b"], 6)),
                ("two".into(), shard(2, 3, &["c", "d"], 6)),
                ("three".into(), shard(3, 3, &["e", "f"], 6)),
            ],
            vec![
                ("one".into(), shard(1, 3, &["a", "b"], 6)),
                ("again".into(), shard(2, 3, &["b", "c", "a"], 6)),
                ("one".into(), shard(1, 3, &["a", "b"], 6)),
                ("three".into(), unfinished),
            ],
            vec![("whole".into(), Report::new(Vec::new(), Summary::default()))],
        ];
        let tmp = tempfile::tempdir().expect("tmp");
        for reports in &cases {
            let want = reference(reports);
            if reports.len() == 4 {
                let said = want.missing.join("\n");
                for m in ["is in two reports", "given twice", "was not converted"] {
                    assert!(said.contains(m), "{said}");
                }
            }
            let texts: Vec<Vec<u8>> = reports
                .iter()
                .map(|(_, r)| r.to_json().into_bytes())
                .collect();
            let sources: Vec<Source<'_>> = reports
                .iter()
                .zip(&texts)
                .map(|((name, _), text)| Source {
                    name: name.clone(),
                    open: Box::new(move || {
                        Ok(Box::new(io::Cursor::new(text.clone())) as Box<dyn Read>)
                    }),
                })
                .collect();
            let plain = std::hash::RandomState::new();
            let hashes: [&dyn Fn(&str) -> u64; 2] = [&|t| plain.hash_one(t), &|_| 7];
            for hash in hashes {
                for csv in [false, true] {
                    let mut merged = merge_hashed(&sources, csv, tmp.path(), hash).expect("merge");
                    assert_eq!(merged.summary, want.report.summary);
                    assert_eq!(merged.missing, want.missing);
                    let mut out = Vec::new();
                    merged.write(&mut out).expect("write");
                    let text = if csv {
                        want.report.to_csv()
                    } else {
                        want.report.to_json()
                    };
                    assert_eq!(String::from_utf8(out).expect("utf-8"), text);
                }
            }
        }
    }

    #[test]
    fn a_report_that_is_not_one_is_named() {
        let tmp = tempfile::tempdir().expect("tmp");
        let source = Source {
            name: "bad.json".into(),
            open: Box::new(|| {
                Ok(Box::new(io::Cursor::new(b"{\"files\": [1]}".to_vec())) as Box<dyn Read>)
            }),
        };
        let Err(e) = merge(&[source], false, tmp.path()) else {
            panic!("merged a report that is not one");
        };
        assert_eq!(e.name, "bad.json");
        assert!(
            e.reason.starts_with("not a Conveyor JSON report"),
            "{}",
            e.reason
        );
    }

    /// Shard reports joined into one, and what keeps the batch from being whole.
    struct Reference {
        /// Every record of every report, in the order given; the summary counted again.
        pub report: Report,
        /// Shards not given, records that did not finish, inputs in two reports, counts that do
        /// not add up: one line each, for people.
        pub missing: Vec<String>,
    }

    /// Joins the reports of a sharded batch (`name` says where each came from, for messages).
    /// They must be disjoint (no input and output in two of them) and complete (every shard of
    /// the same N, each once; every record finished; the shards' inputs adding up to the batch's).
    /// Failed records stay in the report and are counted in its summary.
    fn reference(reports: &[(String, Report)]) -> Reference {
        let shards: Vec<(&str, Option<&str>)> = reports
            .iter()
            .map(|(n, r)| (n.as_str(), r.summary.shard.as_deref()))
            .collect();
        let mut missing = shard_problems(&shards);
        // Disjoint: an input's output appears in one report only.
        let mut owner: std::collections::HashMap<(&str, usize), &str> =
            std::collections::HashMap::new();
        for (name, r) in reports {
            for f in &r.files {
                if let Some(first) = owner.insert((f.input.as_str(), f.output_index), name)
                    && first != name.as_str()
                {
                    missing.push(format!("{} is in two reports: {first} and {name}", f.input));
                }
            }
        }
        // Complete: every record finished, and the shards hold the whole batch's inputs.
        for (name, r) in reports {
            for f in &r.files {
                if matches!(f.status, Status::Cancelled | Status::Planned) {
                    missing.push(format!(
                        "{} was not converted ({} in {name})",
                        f.input,
                        f.status.name()
                    ));
                }
            }
        }
        let batch: std::collections::BTreeSet<usize> = reports
            .iter()
            .filter_map(|(_, r)| r.summary.batch_inputs)
            .collect();
        let inputs: usize = reports.iter().map(|(_, r)| r.summary.inputs).sum();
        match batch.iter().collect::<Vec<_>>()[..] {
            [&whole] if whole != inputs && missing.is_empty() => missing.push(format!(
                "the batch has {whole} inputs but the reports hold {inputs}"
            )),
            [_, _, ..] => missing
                .push("the reports scanned different batches (their input counts differ)".into()),
            _ => {}
        }
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        let mut elapsed: f64 = 0.0;
        let mut workers = 0;
        for (_, r) in reports {
            files.extend(r.files.iter().cloned());
            for w in &r.summary.scan_warnings {
                if !warnings.contains(w) {
                    warnings.push(w.clone());
                }
            }
            elapsed = elapsed.max(r.summary.elapsed_seconds);
            workers += r.summary.workers;
        }
        let first = reports.first().map(|(_, r)| &r.summary);
        let summary = Summary {
            outputs: first.map(|s| s.outputs.clone()).unwrap_or_default(),
            recipes: first.map(|s| s.recipes.clone()).unwrap_or_default(),
            elapsed_seconds: elapsed,
            workers,
            batch_inputs: batch.first().copied(),
            scan_warnings: warnings,
            ..Summary::default()
        };
        Reference {
            report: Report::new(files, summary),
            missing,
        }
    }
}
