//! EXIF into TIFF outputs. A TIFF file keeps EXIF as ordinary tags: the descriptive ones (Make,
//! Model, DateTime, Orientation, Artist, Copyright…) in the image's own directory (IFD0), the
//! rest in an Exif sub-directory and a GPS one it points to. The `tiff` crate writes none of
//! them, so after it has written the image, a new IFD0 (its own entries plus the EXIF block's)
//! and copies of the Exif and GPS directories are appended and the header pointed at them. The
//! image data and its offsets stay where they were.

/// Reads integers and directories of a TIFF structure in its byte order.
pub struct TiffReader<'a> {
    /// The whole structure, from its byte-order mark.
    pub data: &'a [u8],
    /// Little-endian ("II").
    pub little: bool,
}

/// One directory entry with its value bytes (in the byte order of the file it is written to).
#[derive(Debug, Clone)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value: Vec<u8>,
}

/// Bytes per value of a TIFF field type, and the size of the units whose byte order matters.
fn type_size(kind: u16) -> Option<(usize, usize)> {
    Some(match kind {
        1 | 2 | 6 | 7 => (1, 1),
        3 | 8 => (2, 2),
        4 | 9 | 11 | 13 => (4, 4),
        5 | 10 => (8, 4),
        12 => (8, 8),
        _ => return None,
    })
}

impl TiffReader<'_> {
    /// A reader over `data`, or `None` if it does not start with a TIFF header.
    pub fn new(data: &[u8]) -> Option<TiffReader<'_>> {
        let little = match data.get(0..4)? {
            [b'I', b'I', 42, 0] => true,
            [b'M', b'M', 0, 42] => false,
            _ => return None,
        };
        Some(TiffReader { data, little })
    }

    /// The u16 at `at`.
    pub fn u16_at(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.data.get(at..at + 2)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }

    /// The u32 at `at`.
    pub fn u32_at(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.data.get(at..at + 4)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    /// Offset of the first directory.
    pub fn first_ifd(&self) -> Option<usize> {
        self.u32_at(4).map(|o| o as usize)
    }

    /// Offsets of the entries of the directory at `ifd`.
    pub fn entries(&self, ifd: usize) -> Option<impl DoubleEndedIterator<Item = usize>> {
        let count = usize::from(self.u16_at(ifd)?);
        self.data.get(ifd..ifd + 2 + 12 * count)?;
        Some((0..count).map(move |k| ifd + 2 + 12 * k))
    }

    /// The entry at `at` with its value bytes, converted to the byte order `little`.
    fn entry(&self, at: usize, little: bool) -> Option<Entry> {
        let (tag, kind, count) = (self.u16_at(at)?, self.u16_at(at + 2)?, self.u32_at(at + 4)?);
        let (size, unit) = type_size(kind)?;
        let len = size.checked_mul(count as usize)?;
        let start = if len <= 4 {
            at + 8
        } else {
            self.u32_at(at + 8)? as usize
        };
        let mut value = self.data.get(start..start.checked_add(len)?)?.to_vec();
        if little != self.little && unit > 1 {
            value.chunks_mut(unit).for_each(<[u8]>::reverse);
        }
        Some(Entry {
            tag,
            kind,
            count,
            value,
        })
    }

    /// The entries of the directory at `ifd`, converted to the byte order `little`; unreadable
    /// entries are left out.
    fn directory(&self, ifd: usize, little: bool) -> Vec<Entry> {
        self.entries(ifd)
            .map(|it| it.filter_map(|at| self.entry(at, little)).collect())
            .unwrap_or_default()
    }
}

const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
const INTEROP_IFD: u16 = 0xA005;

/// Tags that describe how the image data is stored (or point elsewhere): they belong to the
/// output, never copied from the source's EXIF.
fn is_structural(tag: u16) -> bool {
    matches!(
        tag,
        0x00FE..=0x0103
            | 0x0106
            | 0x0111
            | 0x0115..=0x0117
            | 0x011C
            | 0x0140
            | 0x0142..=0x0145
            | 0x014A
            | 0x0152
            | 0x0153
            | 0x0201
            | 0x0202
            | 0x0211..=0x0214
            | 0x8773
            | EXIF_IFD
            | GPS_IFD
            | INTEROP_IFD
    )
}

/// `tiff` (a file written by the `tiff` crate) with the tags of the EXIF block `exif` (TIFF
/// structure, no `Exif\0\0` prefix) added. Returns the file unchanged if either cannot be read.
pub fn tiff_with_exif(tiff: Vec<u8>, exif: &[u8]) -> Vec<u8> {
    // Offsets are 32-bit: leave a file near 4 GiB as it is.
    if tiff.len() + exif.len() * 2 >= u32::MAX as usize - 4096 {
        return tiff;
    }
    let (Some(out), Some(src)) = (TiffReader::new(&tiff), TiffReader::new(exif)) else {
        return tiff;
    };
    let little = out.little;
    let Some(ifd0) = out.first_ifd() else {
        return tiff;
    };
    let mut main = out.directory(ifd0, little);
    let next_ifd = out
        .entries(ifd0)
        .and_then(|mut it| it.next_back())
        .and_then(|last| out.u32_at(last + 12))
        .unwrap_or(0);
    let Some(src_ifd0) = src.first_ifd() else {
        return tiff;
    };
    let source = src.directory(src_ifd0, little);
    let sub = |tag: u16| {
        source
            .iter()
            .find(|e| e.tag == tag && e.value.len() == 4)
            .and_then(|e| value_u32(&e.value, little))
            .map(|at| {
                let mut d = src.directory(at as usize, little);
                d.retain(|e| e.tag != INTEROP_IFD);
                d
            })
            .filter(|d| !d.is_empty())
    };
    let (exif_dir, gps_dir) = (sub(EXIF_IFD), sub(GPS_IFD));
    let present: Vec<u16> = main.iter().map(|e| e.tag).collect();
    main.extend(
        source
            .into_iter()
            .filter(|e| !is_structural(e.tag) && !present.contains(&e.tag)),
    );

    let mut file = tiff;
    // Sub-directories first, so IFD0 can point at them.
    for (tag, dir) in [(EXIF_IFD, exif_dir), (GPS_IFD, gps_dir)] {
        if let Some(dir) = dir {
            let at = append_directory(&mut file, dir, little, 0);
            main.push(Entry {
                tag,
                kind: 4,
                count: 1,
                value: to_bytes_u32(at, little).to_vec(),
            });
        }
    }
    // No duplicates: source tags the output already has were left out, and the sub-directory
    // pointers are structural, never copied. append_directory sorts.
    let at = append_directory(&mut file, main, little, next_ifd);
    file[4..8].copy_from_slice(&to_bytes_u32(at, little));
    file
}

/// A u32 held in an entry's `value` (in the byte order `little`).
fn value_u32(value: &[u8], little: bool) -> Option<u32> {
    let s: [u8; 4] = value.get(0..4)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

fn to_bytes_u32_raw(v: u32, little: bool) -> [u8; 4] {
    if little {
        v.to_le_bytes()
    } else {
        v.to_be_bytes()
    }
}

fn to_bytes_u32(v: usize, little: bool) -> [u8; 4] {
    to_bytes_u32_raw(u32::try_from(v).unwrap_or(0), little)
}

/// Appends a directory with `entries` (sorted by the caller where it matters) and the values
/// that do not fit in an entry; returns the directory's offset.
fn append_directory(file: &mut Vec<u8>, mut entries: Vec<Entry>, little: bool, next: u32) -> usize {
    entries.sort_by_key(|e| e.tag);
    if file.len() % 2 == 1 {
        file.push(0);
    }
    let at = file.len();
    let table = 2 + 12 * entries.len() + 4;
    let mut values = Vec::new();
    let mut table_bytes = Vec::with_capacity(table);
    let u16b = |v: u16| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    table_bytes.extend(u16b(entries.len() as u16));
    for e in &entries {
        table_bytes.extend(u16b(e.tag));
        table_bytes.extend(u16b(e.kind));
        table_bytes.extend(to_bytes_u32_raw(e.count, little));
        if e.value.len() <= 4 {
            let mut inline = e.value.clone();
            inline.resize(4, 0);
            table_bytes.extend(inline);
        } else {
            table_bytes.extend(to_bytes_u32(at + table + values.len(), little));
            values.extend_from_slice(&e.value);
            if values.len() % 2 == 1 {
                values.push(0);
            }
        }
    }
    table_bytes.extend(to_bytes_u32_raw(next, little));
    file.extend(table_bytes);
    file.extend(values);
    at
}
