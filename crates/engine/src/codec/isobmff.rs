//! The HEIF container (ISO/IEC 23008-12) as AVIF files use it: which item is the picture, where
//! its bytes are, its alpha item, its transforms (`irot`, `imir`), its colour description
//! (`colr`: ICC or nclx) and its EXIF item. Every read is bounds-checked: a broken file is an
//! error with a reason, never a panic. (HEIC files are read whole by `heic-decoder`.)

use std::collections::BTreeMap;

/// A colour description from an `nclx` box or a sequence header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cicp {
    /// Colour primaries (H.273).
    pub primaries: u16,
    /// Transfer characteristics.
    pub transfer: u16,
    /// Matrix coefficients.
    pub matrix: u16,
    /// Full-range samples.
    pub full_range: bool,
}

/// A transform applied to the decoded picture, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Rotate anti-clockwise by this many quarter turns.
    Rotate(u8),
    /// Mirror: mode 0 exchanges top and bottom, mode 1 left and right.
    Mirror(u8),
}

/// What an AVIF file holds, with the bytes of its items.
#[derive(Debug, Clone, Default)]
pub struct Still {
    /// The primary item's type (`av01`, `grid`, …).
    pub kind: [u8; 4],
    /// The primary item's data (AV1 OBUs for `av01`).
    pub data: Vec<u8>,
    /// The alpha item's data.
    pub alpha: Option<Vec<u8>>,
    /// Colour is premultiplied by alpha (`prem` reference).
    pub premultiplied: bool,
    /// Transforms, in the order the file lists them.
    pub transforms: Vec<Transform>,
    /// The ICC profile (`colr` of type `prof` or `rICC`).
    pub icc: Option<Vec<u8>>,
    /// The nclx colour description.
    pub cicp: Option<Cicp>,
    /// The EXIF block from its TIFF header on.
    pub exif: Option<Vec<u8>>,
    /// Width and height from `ispe`, before transforms.
    pub size: Option<(u32, u32)>,
}

/// Why the container could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoxError {
    /// The file ends inside a box or an item's data lies past its end.
    #[error("the file ends early ({0})")]
    Truncated(&'static str),
    /// A box says something impossible.
    #[error("{0}")]
    Malformed(String),
}

type Result<T> = std::result::Result<T, BoxError>;

/// A cursor over a box body.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(BoxError::Truncated("box"))?;
        let out = self
            .data
            .get(self.at..end)
            .ok_or(BoxError::Truncated("box"))?;
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// An unsigned number of `size` bytes (0, 4 or 8; also 2 for 16-bit ids).
    fn uint(&mut self, size: u8) -> Result<u64> {
        match size {
            0 => Ok(0),
            2 => Ok(u64::from(self.u16()?)),
            4 => Ok(u64::from(self.u32()?)),
            8 => {
                let b = self.bytes(8)?;
                let mut a = [0; 8];
                a.copy_from_slice(b);
                Ok(u64::from_be_bytes(a))
            }
            n => Err(BoxError::Malformed(format!("a {n}-byte field in iloc"))),
        }
    }
    fn fourcc(&mut self) -> Result<[u8; 4]> {
        let b = self.bytes(4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }
    /// A full box's version and flags.
    fn full(&mut self) -> Result<(u8, u32)> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }
    fn c_string(&mut self) -> Result<&'a [u8]> {
        let rest = self.data.get(self.at..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(BoxError::Truncated("string"))?;
        self.at += len + 1;
        Ok(&rest[..len])
    }
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.at..).unwrap_or_default()
    }
}

/// The boxes in `data`, as (type, body).
fn boxes(data: &[u8]) -> Result<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let mut r = Reader::new(&data[at..]);
        let size = r.u32()?;
        let kind = r.fourcc()?;
        let (header, size) = match size {
            0 => (8, (data.len() - at) as u64),
            1 => (16, r.uint(8)?),
            n => (8, u64::from(n)),
        };
        let size = usize::try_from(size).map_err(|_| BoxError::Truncated("box"))?;
        if size < header {
            return Err(BoxError::Malformed(format!(
                "a '{}' box of {size} bytes",
                String::from_utf8_lossy(&kind)
            )));
        }
        let body = data
            .get(at + header..at + size)
            .ok_or(BoxError::Truncated("box"))?;
        out.push((kind, body));
        at += size;
    }
    Ok(out)
}

fn child<'a>(list: &[([u8; 4], &'a [u8])], kind: &[u8; 4]) -> Option<&'a [u8]> {
    list.iter().find(|(k, _)| k == kind).map(|(_, b)| *b)
}

/// Where an item's bytes are.
#[derive(Debug, Clone, Default)]
struct Location {
    construction: u8,
    base: u64,
    extents: Vec<(u64, u64)>,
}

fn parse_iloc(body: &[u8]) -> Result<BTreeMap<u32, Location>> {
    let mut r = Reader::new(body);
    let (version, _) = r.full()?;
    let sizes = r.u16()?;
    let (offset_size, length_size) = ((sizes >> 12) as u8, ((sizes >> 8) & 15) as u8);
    let base_size = ((sizes >> 4) & 15) as u8;
    let index_size = if version >= 1 { (sizes & 15) as u8 } else { 0 };
    let count = if version < 2 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    let mut out = BTreeMap::new();
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let construction = if version >= 1 {
            (r.u16()? & 15) as u8
        } else {
            0
        };
        let _data_reference = r.u16()?;
        let base = r.uint(base_size)?;
        let extents = r.u16()?;
        // With no length field every extent runs to the end of the data, and with no offset,
        // index or length field an extent takes no bytes of the box: thousands of them would
        // cost memory the file never paid for. One such extent is all a real file has.
        if extents > 1 && (length_size == 0 || offset_size + length_size + index_size == 0) {
            return Err(BoxError::Malformed(format!(
                "item {id} has {extents} extents that each run to the end of the data"
            )));
        }
        let mut loc = Location {
            construction,
            base,
            extents: Vec::new(),
        };
        for _ in 0..extents {
            let _index = r.uint(index_size)?;
            let offset = r.uint(offset_size)?;
            let length = r.uint(length_size)?;
            loc.extents.push((offset, length));
        }
        out.insert(id, loc);
    }
    Ok(out)
}

fn parse_iinf(body: &[u8]) -> Result<BTreeMap<u32, [u8; 4]>> {
    let mut r = Reader::new(body);
    let (version, _) = r.full()?;
    let _count = if version == 0 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    let mut out = BTreeMap::new();
    for (kind, infe) in boxes(r.rest())? {
        if &kind != b"infe" {
            continue;
        }
        let mut r = Reader::new(infe);
        let (version, _) = r.full()?;
        if version < 2 {
            continue; // versions 0 and 1 carry no item type
        }
        let id = if version == 2 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let _protection = r.u16()?;
        out.insert(id, r.fourcc()?);
    }
    Ok(out)
}

/// (from, type, to) references.
fn parse_iref(body: &[u8]) -> Result<Vec<(u32, [u8; 4], u32)>> {
    let mut r = Reader::new(body);
    let (version, _) = r.full()?;
    let mut out = Vec::new();
    for (kind, b) in boxes(r.rest())? {
        let mut r = Reader::new(b);
        let id = |r: &mut Reader| -> Result<u32> {
            if version == 0 {
                Ok(u32::from(r.u16()?))
            } else {
                r.u32()
            }
        };
        let from = id(&mut r)?;
        for _ in 0..r.u16()? {
            out.push((from, kind, id(&mut r)?));
        }
    }
    Ok(out)
}

/// Each item's property indices (1-based into `ipco`), in order.
fn parse_ipma(body: &[u8]) -> Result<BTreeMap<u32, Vec<usize>>> {
    let mut r = Reader::new(body);
    let (version, flags) = r.full()?;
    let mut out = BTreeMap::new();
    for _ in 0..r.u32()? {
        let id = if version < 1 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let mut list = Vec::new();
        for _ in 0..r.u8()? {
            let index = if flags & 1 == 1 {
                usize::from(r.u16()? & 0x7FFF)
            } else {
                usize::from(r.u8()? & 0x7F)
            };
            list.push(index);
        }
        out.entry(id).or_insert_with(Vec::new).extend(list);
    }
    Ok(out)
}

/// Reads the container of an AVIF file and copies out its primary item (and alpha, EXIF).
pub fn read(file: &[u8]) -> Result<Still> {
    let top = boxes(file)?;
    match child(&top, b"ftyp") {
        Some(_) => {}
        None => return Err(BoxError::Malformed("no 'ftyp' box: not a HEIF file".into())),
    }
    let meta = child(&top, b"meta").ok_or(BoxError::Truncated("no 'meta' box"))?;
    let meta = boxes(meta.get(4..).ok_or(BoxError::Truncated("meta"))?)?;
    let primary = {
        let body = child(&meta, b"pitm").ok_or_else(|| no("pitm"))?;
        let mut r = Reader::new(body);
        let (version, _) = r.full()?;
        if version == 0 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        }
    };
    let types = parse_iinf(child(&meta, b"iinf").ok_or_else(|| no("iinf"))?)?;
    let locations = parse_iloc(child(&meta, b"iloc").ok_or_else(|| no("iloc"))?)?;
    let idat = child(&meta, b"idat").unwrap_or_default();
    let refs = match child(&meta, b"iref") {
        Some(b) => parse_iref(b)?,
        None => Vec::new(),
    };
    let (properties, associations) = match child(&meta, b"iprp") {
        Some(iprp) => {
            let iprp = boxes(iprp)?;
            let ipco = child(&iprp, b"ipco").ok_or_else(|| no("ipco"))?;
            let mut assoc = BTreeMap::new();
            for (kind, body) in &iprp {
                if kind == b"ipma" {
                    for (id, list) in parse_ipma(body)? {
                        assoc.entry(id).or_insert_with(Vec::new).extend(list);
                    }
                }
            }
            (boxes(ipco)?, assoc)
        }
        None => (Vec::new(), BTreeMap::new()),
    };
    let item_data = |id: u32| -> Result<Vec<u8>> {
        let loc = locations
            .get(&id)
            .ok_or_else(|| BoxError::Malformed(format!("item {id} has no location")))?;
        let source = match loc.construction {
            0 => file,
            1 => idat,
            n => {
                return Err(BoxError::Malformed(format!(
                    "item {id} is built by method {n}, which is not read"
                )));
            }
        };
        // An item's extents together can never hold more than the data they point into: a
        // file that says otherwise (thousands of extents each "to the end") is refused before
        // anything is copied, so an 8 KiB file can never ask for a gigabyte.
        let mut total = 0usize;
        let mut spans = Vec::with_capacity(loc.extents.len().min(64));
        for &(offset, length) in &loc.extents {
            let start = loc
                .base
                .checked_add(offset)
                .and_then(|s| usize::try_from(s).ok())
                .ok_or(BoxError::Truncated("item data"))?;
            let end = if length == 0 {
                source.len()
            } else {
                usize::try_from(length)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .ok_or(BoxError::Truncated("item data"))?
            };
            let span = source.get(start..end).ok_or(BoxError::Truncated(
                "item data lies past the end of the file",
            ))?;
            total = total.saturating_add(span.len());
            if total > source.len() {
                return Err(BoxError::Malformed(format!(
                    "item {id}'s {} extents add up to more than the file holds",
                    loc.extents.len()
                )));
            }
            spans.push(span);
        }
        let mut out = Vec::new();
        out.try_reserve_exact(total).map_err(|_| {
            BoxError::Malformed(format!("item {id} is too large to hold in memory"))
        })?;
        for span in spans {
            out.extend_from_slice(span);
        }
        Ok(out)
    };
    // Each property once per item, in the order first linked: a file linking one `irot` to
    // its image hundreds of times gets it applied once, not hundreds of times.
    let props_of = |id: u32| -> Vec<([u8; 4], &[u8])> {
        let mut seen = std::collections::BTreeSet::new();
        associations
            .get(&id)
            .map(|list| {
                list.iter()
                    .filter(|&&i| seen.insert(i))
                    .filter_map(|&i| i.checked_sub(1).and_then(|i| properties.get(i)).copied())
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = *types
        .get(&primary)
        .ok_or_else(|| BoxError::Malformed(format!("the primary item {primary} is not listed")))?;
    let mut still = Still {
        kind,
        data: item_data(primary)?,
        ..Still::default()
    };
    for (kind, body) in props_of(primary) {
        let mut r = Reader::new(body);
        match &kind {
            b"ispe" => {
                r.full()?;
                still.size = Some((r.u32()?, r.u32()?));
            }
            // One rotation and one mirror at most (HEIF allows each once per image); a second
            // of either kind is ignored.
            b"irot"
                if !still
                    .transforms
                    .iter()
                    .any(|t| matches!(t, Transform::Rotate(_))) =>
            {
                still.transforms.push(Transform::Rotate(r.u8()? & 3));
            }
            b"imir"
                if !still
                    .transforms
                    .iter()
                    .any(|t| matches!(t, Transform::Mirror(_))) =>
            {
                still.transforms.push(Transform::Mirror(r.u8()? & 1));
            }
            b"colr" => match &r.fourcc()? {
                b"nclx" => {
                    still.cicp = Some(Cicp {
                        primaries: r.u16()?,
                        transfer: r.u16()?,
                        matrix: r.u16()?,
                        full_range: r.u8()? >> 7 == 1,
                    });
                }
                b"prof" | b"rICC" => still.icc = Some(r.rest().to_vec()),
                _ => {}
            },
            _ => {}
        }
    }
    // The alpha item is an auxiliary image of the primary whose auxC names alpha.
    for &(from, kind, to) in &refs {
        if &kind == b"auxl" && to == primary {
            let is_alpha = props_of(from).iter().any(|(k, body)| {
                k == b"auxC" && {
                    let mut r = Reader::new(body);
                    r.full().is_ok()
                        && r.c_string().is_ok_and(|urn| {
                            urn == b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"
                                || urn == b"urn:mpeg:hevc:2015:auxid:1"
                        })
                }
            });
            if is_alpha {
                still.alpha = Some(item_data(from)?);
            }
        }
        if &kind == b"prem" && from == primary {
            still.premultiplied = true;
        }
        if &kind == b"cdsc" && to == primary && types.get(&from) == Some(b"Exif") {
            let block = item_data(from)?;
            let mut r = Reader::new(&block);
            let offset = r.u32()? as usize;
            still.exif = r.rest().get(offset..).map(<[u8]>::to_vec);
        }
    }
    Ok(still)
}

/// A box's type, where it starts, its header length and where it ends.
type Span = ([u8; 4], usize, usize, usize);

/// The [`Span`] of each box in `data`.
fn spans(data: &[u8]) -> Option<Vec<Span>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let head = data.get(at..at + 8)?;
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if size < 8 {
            return None; // 64-bit and to-the-end sizes are not written by ravif
        }
        let kind = [head[4], head[5], head[6], head[7]];
        let end = at.checked_add(size).filter(|&e| e <= data.len())?;
        out.push((kind, at, 8, end));
        at = end;
    }
    Some(out)
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Option<Vec<u8>> {
    let mut out = u32::try_from(body.len() + 8).ok()?.to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    Some(out)
}

/// `file` (an AVIF as ravif writes it: ftyp, meta, mdat; iloc version 0 with 4-byte offsets)
/// with `icc` added as a `colr` property of its primary item. `None` when the file is not laid
/// out that way: the caller then keeps the file without a profile.
pub fn with_icc(file: &[u8], icc: &[u8]) -> Option<Vec<u8>> {
    let top = spans(file)?;
    let (_, meta_start, _, meta_end) = *top.iter().find(|(k, ..)| k == b"meta")?;
    let mdat = top.iter().find(|(k, ..)| k == b"mdat")?;
    if mdat.1 < meta_end {
        return None;
    }
    let meta_body = file.get(meta_start + 8..meta_end)?;
    let (full, children) = meta_body.split_at_checked(4)?;
    let primary = {
        let pitm = spans(children)?.into_iter().find(|(k, ..)| k == b"pitm")?;
        let b = children.get(pitm.1 + 8..pitm.3)?;
        if b.first()? != &0 {
            return None;
        }
        u32::from(u16::from_be_bytes([*b.get(4)?, *b.get(5)?]))
    };
    let mut colr = b"prof".to_vec();
    colr.extend_from_slice(icc);
    let colr = boxed(b"colr", &colr)?;
    // The new children of meta: iprp rebuilt, the rest as they were.
    let mut new_children = Vec::new();
    for (kind, start, _, end) in spans(children)? {
        let whole = children.get(start..end)?;
        if &kind != b"iprp" {
            new_children.push((kind, whole.to_vec()));
            continue;
        }
        let iprp = whole.get(8..)?;
        let parts = spans(iprp)?;
        let ipco = parts.iter().find(|(k, ..)| k == b"ipco")?;
        let count = spans(iprp.get(ipco.1 + 8..ipco.3)?)?.len();
        let mut body = Vec::new();
        for (k, s, _, e) in &parts {
            let part = iprp.get(*s..*e)?;
            match k {
                b"ipco" => {
                    let mut inner = part.get(8..)?.to_vec();
                    inner.extend_from_slice(&colr);
                    body.extend(boxed(b"ipco", &inner)?);
                }
                b"ipma" => body.extend(ipma_with(part.get(8..)?, primary, count + 1)?),
                _ => body.extend_from_slice(part),
            }
        }
        new_children.push((kind, boxed(b"iprp", &body)?));
    }
    let mut meta = full.to_vec();
    for (_, b) in &new_children {
        meta.extend_from_slice(b);
    }
    let mut meta = boxed(b"meta", &meta)?;
    let delta = meta.len().checked_sub(meta_end - meta_start)?;
    // Every extent lies in mdat, after meta: move it by what meta grew.
    let iloc_at = {
        let body = meta.get(12..)?;
        let iloc = spans(body)?.into_iter().find(|(k, ..)| k == b"iloc")?;
        12 + iloc.1 + 8
    };
    let iloc = meta.get_mut(iloc_at..)?;
    if iloc.first()? != &0 || iloc.get(4..6)? != [0x44, 0x00] {
        return None; // not version 0 with 4-byte offsets and lengths and no base offset
    }
    let items = usize::from(u16::from_be_bytes([*iloc.get(6)?, *iloc.get(7)?]));
    let mut at = 8;
    for _ in 0..items {
        at += 4; // item id, data reference index
        let extents = usize::from(u16::from_be_bytes([*iloc.get(at)?, *iloc.get(at + 1)?]));
        at += 2;
        for _ in 0..extents {
            let field = iloc.get_mut(at..at + 4)?;
            let offset = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            let moved = offset.checked_add(u32::try_from(delta).ok()?)?;
            field.copy_from_slice(&moved.to_be_bytes());
            at += 8;
        }
    }
    let mut out = file.get(..meta_start)?.to_vec();
    out.append(&mut meta);
    out.extend_from_slice(file.get(meta_end..)?);
    Some(out)
}

/// An `ipma` box (its body given) with property `index` (1-based) associated with `item`.
fn ipma_with(body: &[u8], item: u32, index: usize) -> Option<Vec<u8>> {
    let mut r = Reader::new(body);
    let (version, flags) = r.full().ok()?;
    let wide = flags & 1 == 1;
    if (!wide && index > 0x7F) || index > 0x7FFF {
        return None;
    }
    let mut out = body.get(..8)?.to_vec();
    let entries = r.u32().ok()?;
    let mut found = false;
    for _ in 0..entries {
        let id = if version < 1 {
            let v = r.u16().ok()?;
            out.extend_from_slice(&v.to_be_bytes());
            u32::from(v)
        } else {
            let v = r.u32().ok()?;
            out.extend_from_slice(&v.to_be_bytes());
            v
        };
        let n = r.u8().ok()?;
        let list = r.bytes(usize::from(n) * if wide { 2 } else { 1 }).ok()?;
        if id == item {
            found = true;
            out.push(n.checked_add(1)?);
            out.extend_from_slice(list);
            if wide {
                out.extend_from_slice(&u16::try_from(index).ok()?.to_be_bytes());
            } else {
                out.push(u8::try_from(index).ok()?);
            }
        } else {
            out.push(n);
            out.extend_from_slice(list);
        }
    }
    if !found || !r.rest().is_empty() {
        return None;
    }
    boxed(b"ipma", &out)
}

fn no(kind: &str) -> BoxError {
    BoxError::Malformed(format!("no '{kind}' box"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn boxes_that_run_past_the_end_are_errors_not_panics() {
        let mut data = bx(b"ftyp", b"avif\0\0\0\0");
        data.extend_from_slice(&100u32.to_be_bytes());
        data.extend_from_slice(b"meta\0\0");
        assert!(matches!(read(&data), Err(BoxError::Truncated(_))));
        assert!(read(&data[..5]).is_err());
        assert!(read(b"").is_err());
        // A box shorter than its own header.
        let mut bad = bx(b"ftyp", b"mif1");
        bad.extend_from_slice(&[0, 0, 0, 4, b'm', b'e', b't', b'a']);
        assert!(matches!(read(&bad), Err(BoxError::Malformed(_))));
    }
}
