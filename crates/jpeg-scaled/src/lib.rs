//! The default build's shrink-on-load for the common JPEG: baseline (all components in one
//! scan) or progressive, 8-bit, Huffman-coded, greyscale or YCbCr (component ids 1, 2, 3) with
//! chroma subsampled by 1 or 2 each way, decoded at 1/8, 1/4 or 1/2 scale.
//!
//! The pixels are exactly jpeg-decoder's (its reduced IDCTs, its upsampling and its colour
//! conversion are followed step for step; tests compare every byte), only faster, because a
//! reduced scale needs few coefficients and this decoder is built for that: a 64-bit bit buffer
//! refilled eight bytes at a time where none is 0xFF, Huffman lookup tables whose entry for a
//! short AC code carries its run and value too, and only the coefficients the reduced IDCT
//! reads are stored. A JPEG's entropy decoding is most of a shrink-on-load (W1 in docs/BENCHMARKS.md's
//! speed section).
//!
//! Progressive JPEGs of the same kinds are read too ([`progressive`]): all their scans,
//! keeping only the coefficients the reduced IDCT reads.
//!
//! Anything else — arithmetic coding, 12-bit samples, CMYK, RGB or unusual component ids,
//! other subsampling, a baseline image in several scans — is not read here: [`Plan::read`]
//! gives `None` and the caller uses jpeg-decoder. So does [`Plan::decode`] on data it does not
//! understand (a bad Huffman code, a missing restart marker, a scan that runs into the end of
//! the data), so a damaged file gets jpeg-decoder's handling and errors, never other pixels.

/// The zig-zag order: `ZIGZAG[k]` is the natural (row-major) index of the k-th coefficient.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Bits looked up at once in the Huffman tables.
const LOOKUP_BITS: u32 = 10;
const LOOKUP_MASK: usize = (1 << LOOKUP_BITS) - 1;

/// Bits looked up at once when AC codes are only read past: often two codes with their extra
/// bits in one look.
const SKIP_BITS: u32 = 12;
const SKIP_MASK: usize = (1 << SKIP_BITS) - 1;

/// A slot that takes the coefficients the reduced IDCT does not read.
const UNUSED: usize = 64;

/// A decoded image: `channels` is 1 (grey) or 3 (RGB), rows packed.
#[derive(Debug)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// One Huffman table with its lookup tables.
#[derive(Clone)]
struct Huffman {
    /// For each `LOOKUP_BITS`-bit prefix: `(length << 8) | symbol` of the code it starts with,
    /// or 0 when the code is longer.
    lookup: Box<[u16; 1 << LOOKUP_BITS]>,
    /// For AC tables, each prefix whose code and extra bits both fit: `value << 16 | run << 8 |
    /// bits used`; 0 otherwise.
    ac: Box<[i32; 1 << LOOKUP_BITS]>,
    /// For AC tables, each `SKIP_BITS` prefix that starts with a whole coefficient (code and
    /// extra bits, not an end of block or a run of 16 zeros): its bits and the positions it
    /// advances, and the same for it and the next coefficient together if that fits too
    /// (`bits1 | advance1 << 5 | bits2 << 11 | advance2 << 16`); 0 otherwise.
    skip: Box<[u32; 1 << SKIP_BITS]>,
    /// Largest code of each length (-1 for none), for codes longer than the lookup.
    max_code: [i32; 17],
    /// Index into `symbols` minus the first code of each length.
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    /// Builds the tables from a DHT's counts per length and its symbols (the AC-only lookups
    /// when `for_ac`); `None` for a table whose codes do not fit their lengths.
    fn new(counts: &[u8; 16], symbols: &[u8], for_ac: bool) -> Option<Huffman> {
        let mut lookup = Box::new([0u16; 1 << LOOKUP_BITS]);
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            offset[len as usize] = k as i32 - code;
            for _ in 0..n {
                if code >= 1 << len {
                    return None;
                }
                let symbol = *symbols.get(k)?;
                if len <= LOOKUP_BITS {
                    let shift = LOOKUP_BITS - len;
                    let first = (code as usize) << shift;
                    lookup[first..first + (1 << shift)]
                        .fill(((len as u16) << 8) | u16::from(symbol));
                }
                code += 1;
                k += 1;
            }
            max_code[len as usize] = if n > 0 { code - 1 } else { -1 };
            code <<= 1;
        }
        let mut table = Huffman {
            lookup,
            ac: Box::new([0i32; 1 << LOOKUP_BITS]),
            skip: Box::new([0u32; 1 << SKIP_BITS]),
            max_code,
            offset,
            symbols: symbols.to_vec(),
        };
        if for_ac {
            table.fill_ac_lookups();
        }
        Some(table)
    }

    /// The code of at least `shortest` bits at the top of `bits` (of which `avail` are known):
    /// its length and symbol (JPEG's DECODE, F.16).
    fn canonical(&self, bits: u32, avail: u32, shortest: u32) -> Option<(u32, u8)> {
        for len in shortest..=avail.min(16) {
            let code = (bits >> (avail - len)) as i32;
            if code <= self.max_code[len as usize] {
                let symbol = self
                    .symbols
                    .get((code + self.offset[len as usize]) as usize)?;
                return Some((len, *symbol));
            }
        }
        None
    }

    /// The AC tables' lookups: a coefficient's run and value with its code, and codes to skip.
    fn fill_ac_lookups(&mut self) {
        let (lookup, ac) = (&self.lookup, &mut self.ac);
        for (prefix, slot) in ac.iter_mut().enumerate() {
            let entry = lookup[prefix];
            if entry == 0 {
                continue;
            }
            let len = u32::from(entry >> 8);
            let (run, size) = (u32::from(entry & 0xFF) >> 4, u32::from(entry & 0x0F));
            if size != 0 && len + size <= LOOKUP_BITS {
                let bits = ((prefix as u32) >> (LOOKUP_BITS - len - size)) & ((1 << size) - 1);
                *slot =
                    (extend(bits as i32, size) << 16) | ((run as i32) << 8) | (len + size) as i32;
            }
        }
        // A whole coefficient at the top of `bits` (of which `avail` are known): its bits and
        // the positions it advances.
        let coefficient = |table: &Huffman, bits: u32, avail: u32| -> Option<(u32, u32)> {
            let (len, symbol) = table.canonical(bits, avail, 1)?;
            let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
            (size != 0 && len + size <= avail).then_some((len + size, run + 1))
        };
        for prefix in 0..1u32 << SKIP_BITS {
            let Some((bits1, advance1)) = coefficient(self, prefix, SKIP_BITS) else {
                continue;
            };
            let rest = SKIP_BITS - bits1;
            let second = (rest > 0)
                .then(|| coefficient(self, prefix & ((1 << rest) - 1), rest))
                .flatten();
            let (bits2, advance2) = second.map_or((0, 0), |(b, a)| (bits1 + b, advance1 + a));
            self.skip[prefix as usize] = bits1 | advance1 << 5 | bits2 << 11 | advance2 << 16;
        }
    }
}

/// A value of `size` bits as the signed number it codes (JPEG's EXTEND).
#[inline(always)]
fn extend(bits: i32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if bits < 1 << (size - 1) {
        bits - (1 << size) + 1
    } else {
        bits
    }
}

/// Entropy-coded data read MSB first, with stuffed bytes removed. At a marker or the end of the
/// data it feeds zero bits and counts them, so a scan that uses them is known to be damaged.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    /// Bits in `buf`, from the top.
    count: u32,
    /// Of those, how many (the last ones) are zeros fed at a marker or the end of the data.
    fed: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits {
            data,
            pos,
            buf: 0,
            count: 0,
            fed: 0,
        }
    }

    /// Fills the buffer to at least 56 bits (zeros, counted in `fed`, past a marker or the end).
    #[inline(always)]
    fn refill(&mut self) {
        if self.count > 56 {
            return;
        }
        if self.fed == 0
            && let Some(word) = self.data.get(self.pos..self.pos + 8)
        {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            let word = u64::from_be_bytes(bytes);
            // No 0xFF byte among the eight: take as many whole bytes as fit.
            let inverted = !word;
            let has_ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let take = (63 - self.count) / 8;
                if take > 0 {
                    self.buf |= (word >> (64 - 8 * take)) << (64 - self.count - 8 * take);
                    self.count += 8 * take;
                    self.pos += take as usize;
                }
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) if self.fed == 0 => match self.data.get(self.pos + 1) {
                    Some(0x00) => {
                        self.pos += 2;
                        Some(0xFF)
                    }
                    _ => None,
                },
                Some(&b) if self.fed == 0 => {
                    self.pos += 1;
                    Some(b)
                }
                _ => None,
            };
            match byte {
                Some(b) => self.buf |= u64::from(b) << (56 - self.count),
                None => self.fed += 8,
            }
            self.count += 8;
        }
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.count -= n;
    }

    /// `n` (at most 16) bits; the buffer must hold them.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// One Huffman symbol; the buffer must hold 16 bits. `None` for a code the table lacks.
    #[inline(always)]
    fn symbol(&mut self, table: &Huffman) -> Option<u8> {
        let entry = table.lookup[self.peek(LOOKUP_BITS) as usize & LOOKUP_MASK];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Some((entry & 0xFF) as u8);
        }
        let (len, symbol) = table.canonical(self.peek(16), 16, LOOKUP_BITS + 1)?;
        self.consume(len);
        Some(symbol)
    }

    /// Whether only real bits have been used so far.
    fn intact(&self) -> bool {
        self.fed <= self.count
    }

    /// At a restart interval's end: the rest of the byte is padding, the marker must be RSTn.
    fn restart(&mut self, n: u8) -> bool {
        self.at_marker(0xD0 + n)
    }

    /// Whether the scan ends here (only padding bits left) and `marker` comes next; then reading
    /// starts again after it.
    fn at_marker(&mut self, marker: u8) -> bool {
        match self.marker_after() {
            Some(at) if self.data.get(at + 1) == Some(&marker) => {
                *self = Bits::new(self.data, at + 2);
                true
            }
            _ => false,
        }
    }

    /// Where the scan ends (only padding bits left): the position of the marker that follows
    /// (after any fill bytes), or `None` when real bits are left or no marker follows.
    fn marker_after(&self) -> Option<usize> {
        if !self.intact() || self.count - self.fed >= 8 {
            return None;
        }
        let (at, code) = marker_at(self.data, self.pos)?;
        (code != 0).then_some(at)
    }
}

mod progressive;

/// The marker at `at` (after any fill bytes): where it starts and its code; `None` when no
/// marker is there.
fn marker_at(data: &[u8], mut at: usize) -> Option<(usize, u8)> {
    while *data.get(at)? == 0xFF && *data.get(at + 1)? == 0xFF {
        at += 1;
    }
    if *data.get(at)? != 0xFF {
        return None;
    }
    Some((at, *data.get(at + 1)?))
}

/// A frame component.
#[derive(Clone, Copy, Default)]
struct Component {
    h: usize,
    v: usize,
    quant: usize,
    dc: usize,
    ac: usize,
}

/// A JPEG this module can decode, read up to its scan.
pub struct Plan<'a> {
    data: &'a [u8],
    scan: usize,
    width: usize,
    height: usize,
    eighths: usize,
    components: Vec<Component>,
    quant: [[u16; 64]; 4],
    dc: [Option<Huffman>; 4],
    ac: [Option<Huffman>; 4],
    restart_interval: usize,
    /// A progressive frame: `scan` is then where its first scan's header starts.
    progressive: bool,
    /// The components' ids, in frame order.
    ids: Vec<u8>,
}

impl<'a> Plan<'a> {
    /// Reads the headers of `data` for a decode at `eighths`/8 scale (1, 2 or 4); `None` when
    /// this module does not decode it.
    pub fn read(data: &'a [u8], eighths: u32) -> Option<Plan<'a>> {
        if !matches!(eighths, 1 | 2 | 4) || data.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut plan = Plan {
            data,
            scan: 0,
            width: 0,
            height: 0,
            eighths: eighths as usize,
            components: Vec::new(),
            quant: [[0; 64]; 4],
            dc: [None, None, None, None],
            ac: [None, None, None, None],
            restart_interval: 0,
            progressive: false,
            ids: Vec::new(),
        };
        let mut quant_seen = [false; 4];
        let mut ids = Vec::new();
        let (mut jfif, mut adobe) = (false, None);
        let mut at = 2;
        loop {
            let marker;
            (at, marker) = marker_at(data, at)?;
            let len = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
            let body = data.get(at + 4..(at + 2 + len).max(at + 4))?;
            if len < 2 {
                return None;
            }
            match marker {
                // Baseline, extended sequential and progressive, Huffman-coded.
                0xC0..=0xC2 => {
                    if !plan.components.is_empty() || *body.first()? != 8 {
                        return None;
                    }
                    plan.progressive = marker == 0xC2;
                    plan.height = usize::from(u16::from_be_bytes([*body.get(1)?, *body.get(2)?]));
                    plan.width = usize::from(u16::from_be_bytes([*body.get(3)?, *body.get(4)?]));
                    let count = usize::from(*body.get(5)?);
                    if plan.width == 0 || plan.height == 0 || !matches!(count, 1 | 3) {
                        return None;
                    }
                    for i in 0..count {
                        let c = body.get(6 + 3 * i..9 + 3 * i)?;
                        ids.push(c[0]);
                        plan.components.push(Component {
                            h: usize::from(c[1] >> 4),
                            v: usize::from(c[1] & 15),
                            quant: usize::from(c[2]),
                            ..Component::default()
                        });
                    }
                    let chroma_ok = |c: &Component| c.h == 1 && c.v == 1;
                    let luma = plan.components[0];
                    let supported = if count == 1 {
                        chroma_ok(&luma)
                    } else {
                        (1..=2).contains(&luma.h)
                            && (1..=2).contains(&luma.v)
                            && plan.components[1..].iter().all(chroma_ok)
                    };
                    if !supported || plan.components.iter().any(|c| c.quant > 3) {
                        return None;
                    }
                }
                // Any other frame type: lossless, arithmetic, hierarchical.
                0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xCC => return None,
                0xC4 => plan.read_huffman(body)?,
                0xDB => {
                    let mut i = 0;
                    while i < body.len() {
                        let (precision, id) = (body[i] >> 4, usize::from(body[i] & 15));
                        if id > 3 || precision > 1 {
                            return None;
                        }
                        i += 1;
                        for &natural in &ZIGZAG {
                            let q = if precision == 0 {
                                i += 1;
                                u16::from(*body.get(i - 1)?)
                            } else {
                                i += 2;
                                u16::from_be_bytes([*body.get(i - 2)?, *body.get(i - 1)?])
                            };
                            plan.quant[id][usize::from(natural)] = q;
                        }
                        quant_seen[id] = true;
                    }
                }
                // JFIF and Adobe markers: what jpeg-decoder reads the colour space from.
                0xE0 => jfif |= body.starts_with(b"JFIF\0"),
                0xEE if body.len() >= 12 && body.starts_with(b"Adobe\0") => adobe = Some(body[11]),
                0xDD => {
                    plan.restart_interval =
                        usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
                }
                0xDA if plan.progressive => {
                    // Each scan is read as it comes (`progressive`); the tables must be there.
                    let n = plan.components.len();
                    if (n == 3 && !ycbcr(&ids, jfif, adobe))
                        || plan.components.iter().any(|c| !quant_seen[c.quant])
                    {
                        return None;
                    }
                    plan.scan = at;
                    plan.ids = ids;
                    return Some(plan);
                }
                0xDA => {
                    let count = usize::from(*body.first()?);
                    if plan.components.is_empty()
                        || count != plan.components.len()
                        || (count == 3 && !ycbcr(&ids, jfif, adobe))
                    {
                        return None;
                    }
                    for (i, (c, &id)) in plan.components.iter_mut().zip(&ids).enumerate() {
                        let s = body.get(1 + 2 * i..3 + 2 * i)?;
                        if s[0] != id {
                            return None;
                        }
                        (c.dc, c.ac) = (usize::from(s[1] >> 4), usize::from(s[1] & 15));
                        if c.dc > 3
                            || c.ac > 3
                            || plan.dc[c.dc].is_none()
                            || plan.ac[c.ac].is_none()
                            || !quant_seen[c.quant]
                        {
                            return None;
                        }
                    }
                    // Spectral selection 0..63, no successive approximation.
                    if body.get(1 + 2 * count..4 + 2 * count)? != [0, 63, 0] {
                        return None;
                    }
                    plan.scan = at + 2 + len;
                    return Some(plan);
                }
                // Start or end of image, restart markers, DNL: not where headers are.
                0xD0..=0xD9 | 0xDC | 0x01 => return None,
                _ => {}
            }
            at += 2 + len;
        }
    }

    /// A DHT segment's tables, into the plan's slots.
    fn read_huffman(&mut self, body: &[u8]) -> Option<()> {
        let mut i = 0;
        while i < body.len() {
            let (class, id) = (body[i] >> 4, usize::from(body[i] & 15));
            let mut counts = [0u8; 16];
            counts.copy_from_slice(body.get(i + 1..i + 17)?);
            let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let table = Huffman::new(&counts, body.get(i + 17..i + 17 + n)?, class == 1)?;
            match (class, id) {
                (0, 0..=3) => self.dc[id] = Some(table),
                (1, 0..=3) => self.ac[id] = Some(table),
                _ => return None,
            }
            i += 17 + n;
        }
        Some(())
    }

    /// Bytes the decode holds besides the planes: a progressive frame's coefficients (those
    /// the reduced IDCT reads, and a bit per coefficient saying whether it is zero yet).
    pub fn working_bytes(&self) -> u64 {
        if !self.progressive {
            return 0;
        }
        let (mcus_x, mcus_y) = self.mcus();
        let mcus = (mcus_x * mcus_y) as u64;
        let blocks: u64 = self.components.iter().map(|c| (c.h * c.v) as u64).sum();
        let per_block = (2 * self.eighths * self.eighths + 8) as u64;
        mcus * blocks * per_block
    }

    fn max_factors(&self) -> (usize, usize) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (h, v)
    }

    /// MCUs a row and rows of MCUs.
    fn mcus(&self) -> (usize, usize) {
        let (h_max, v_max) = self.max_factors();
        (
            self.width.div_ceil(8 * h_max),
            self.height.div_ceil(8 * v_max),
        )
    }

    /// The decoded image's size: each side times the scale, rounded up (as jpeg-decoder).
    pub fn size(&self) -> (u32, u32) {
        let side = |len: usize| (len * self.eighths).div_ceil(8) as u32;
        (side(self.width), side(self.height))
    }

    /// Decodes the scan into pixels (the tests' way in; the pipeline takes the planes). `None`
    /// for entropy-coded data this module does not follow.
    pub fn decode(self) -> Option<Pixels> {
        self.decode_planes()?.into_pixels()
    }

    /// Decodes the scan into its components' planes at the reduced scale, before upsampling
    /// and colour conversion. `None` for entropy-coded data this module does not follow (the
    /// caller then lets jpeg-decoder decide what the file is).
    // Not inlined into its caller: there the entropy loop was compiled worse and W1 lost what
    // the colour tables gained (measured: 12 % of a one-worker W1 with both, 0-1 % with either).
    #[inline(never)]
    pub fn decode_planes(self) -> Option<Planes> {
        if self.progressive {
            return progressive::decode(self);
        }
        let s = self.eighths;
        let (mcus_x, mcus_y) = self.mcus();
        // Each component's samples at the reduced scale: a whole number of blocks per row.
        let strides: Vec<usize> = self.components.iter().map(|c| mcus_x * c.h * s).collect();
        let mut planes: Vec<Vec<u8>> = self
            .components
            .iter()
            .zip(&strides)
            .map(|(c, stride)| vec![0u8; stride * mcus_y * c.v * s])
            .collect();
        // Where each zig-zag position's coefficient goes: the IDCT at scale s reads the top-left
        // s x s coefficients only.
        let slot: [usize; 64] = std::array::from_fn(|k| {
            let natural = usize::from(ZIGZAG[k]);
            if natural / 8 < s && natural % 8 < s {
                natural
            } else {
                UNUSED
            }
        });
        // The last zig-zag position the IDCT reads.
        let last = (0..64).rfind(|&k| slot[k] != UNUSED).unwrap_or(0);
        let mut block = [0i16; 65];
        let mut predictors = [0i16; 3];
        let mut bits = Bits::new(self.data, self.scan);
        let (mut left, mut next_restart) = (self.restart_interval, 0u8);
        for mcu_y in 0..mcus_y {
            for mcu_x in 0..mcus_x {
                if self.restart_interval > 0 {
                    if left == 0 {
                        if !bits.restart(next_restart) {
                            return None;
                        }
                        predictors = [0; 3];
                        next_restart = (next_restart + 1) % 8;
                        left = self.restart_interval;
                    }
                    left -= 1;
                }
                for (i, c) in self.components.iter().enumerate() {
                    let dc = self.dc[c.dc].as_ref()?;
                    let ac = self.ac[c.ac].as_ref()?;
                    let quant = &self.quant[c.quant];
                    for by in 0..c.v {
                        for bx in 0..c.h {
                            bits.refill();
                            let size = u32::from(bits.symbol(dc)?);
                            if size > 11 {
                                return None;
                            }
                            let diff = extend(bits.take(size) as i32, size) as i16;
                            predictors[i] = predictors[i].wrapping_add(diff);
                            block[0] = predictors[i];
                            ac_coefficients(&mut bits, ac, &mut block, &slot, last)?;
                            let x = (mcu_x * c.h + bx) * s;
                            let y = (mcu_y * c.v + by) * s;
                            let stride = strides[i];
                            let out = planes[i].get_mut(y * stride + x..)?;
                            idct(s, &block, quant, stride, out);
                            for r in 0..s {
                                block[r * 8..r * 8 + s].fill(0);
                            }
                        }
                    }
                }
            }
        }
        // One scan, then the end of the image (anything else: jpeg-decoder's business).
        if !bits.at_marker(0xD9) {
            return None;
        }
        Some(self.planes(strides, planes))
    }

    /// The planes decoded (whole blocks, `strides[i]` samples a row) as [`Planes`].
    fn planes(&self, strides: Vec<usize>, planes: Vec<Vec<u8>>) -> Planes {
        let s = self.eighths;
        let (h_max, v_max) = self.max_factors();
        let (width, height) = self.size();
        // Each component's own size at this scale, as jpeg-decoder computes it.
        let sizes: Vec<(usize, usize)> = self
            .components
            .iter()
            .map(|c| {
                (
                    (self.width * c.h * s).div_ceil(h_max * 8),
                    (self.height * c.v * s).div_ceil(v_max * 8),
                )
            })
            .collect();
        Planes {
            width,
            height,
            s,
            factors: self.components.iter().map(|c| (c.h, c.v)).collect(),
            h_max,
            v_max,
            sizes,
            strides,
            planes,
        }
    }
}

/// A scan's components decoded at a reduced scale: each its own plane of samples, in rows of
/// `strides[i]` (whole blocks), `sizes[i]` of them meaningful.
#[derive(Clone)]
pub struct Planes {
    width: u32,
    height: u32,
    s: usize,
    /// Each component's sampling factors.
    factors: Vec<(usize, usize)>,
    h_max: usize,
    v_max: usize,
    sizes: Vec<(usize, usize)>,
    strides: Vec<usize>,
    planes: Vec<Vec<u8>>,
}

/// One component's samples: `height` rows of `width` at the start of each `stride`.
#[derive(Clone, Copy)]
pub struct Plane<'p> {
    pub data: &'p [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

impl Planes {
    /// The image's size at this scale.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Bytes the planes hold.
    pub fn bytes(&self) -> usize {
        self.planes.iter().map(Vec::len).sum()
    }

    /// Y, Cb and Cr when this is a YCbCr image with both chroma planes at half the luma's
    /// width and height (4:2:0, chroma centred on 2x2 luma pixels as JFIF has it).
    pub fn ycbcr420(&self) -> Option<[Plane<'_>; 3]> {
        if self.factors != [(2, 2), (1, 1), (1, 1)] {
            return None;
        }
        let plane = |i: usize| Plane {
            data: &self.planes[i],
            stride: self.strides[i],
            width: self.sizes[i].0,
            height: self.sizes[i].1,
        };
        Some([plane(0), plane(1), plane(2)])
    }

    /// Upsampled and converted to grey or RGB pixels, as jpeg-decoder makes them.
    pub fn into_pixels(self) -> Option<Pixels> {
        let Planes {
            width,
            height,
            s,
            factors,
            h_max,
            v_max,
            sizes,
            strides,
            planes,
        } = self;
        let (w, h) = (width as usize, height as usize);
        if factors.len() == 1 {
            let mut data = Vec::with_capacity(w * h);
            for row in planes[0].chunks_exact(strides[0]).take(h) {
                data.extend_from_slice(&row[..w]);
            }
            return Some(Pixels {
                width,
                height,
                channels: 1,
                data,
            });
        }
        // Rows are made in `row` and appended, so `data` is written once (not zeroed first).
        let mut data = Vec::with_capacity(w * h * 3);
        let mut row = vec![0u8; w * 3];
        let mut lines = vec![vec![0u8; w + 2 * s * 8]; 3];
        let mut scratch = Vec::new();
        let colour = Colour::new();
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        let ssse3 = std::arch::is_x86_feature_detected!("ssse3");
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        let ssse3 = false;
        for y in 0..h {
            for (i, &(ch, cv)) in factors.iter().enumerate() {
                let up = Upsample {
                    by: (h_max / ch, v_max / cv),
                    input: sizes[i],
                    stride: strides[i],
                    output: (w, h),
                };
                up.row(&planes[i], y, &mut lines[i], &mut scratch);
            }
            // jpeg-decoder converts a row's first pixels with SSSE3 where the CPU has it, in
            // 16-bit steps that round a little differently; the same pixels go the same way here.
            let simd = if ssse3 {
                (w / 8).saturating_sub(1) * 8
            } else {
                0
            };
            let (head, tail) = row.split_at_mut(simd * 3);
            colour.ssse3.row(head, &lines[0], &lines[1], &lines[2]);
            colour.scalar.row(
                tail,
                lines[0].get(simd..)?,
                lines[1].get(simd..)?,
                lines[2].get(simd..)?,
            );
            data.extend_from_slice(&row);
        }
        Some(Pixels {
            width,
            height,
            channels: 3,
            data,
        })
    }
}

/// A block's AC coefficients: those up to zig-zag position `last` stored through `slot`, the
/// rest only read past (most of a block at a reduced scale). `None` for codes that run past
/// the block or that a baseline scan cannot have.
#[inline(always)]
fn ac_coefficients(
    bits: &mut Bits<'_>,
    table: &Huffman,
    block: &mut [i16; 65],
    slot: &[usize; 64],
    last: usize,
) -> Option<()> {
    let mut k = 1usize;
    while k <= last {
        if bits.count < 32 {
            bits.refill();
        }
        let fast = table.ac[bits.peek(LOOKUP_BITS) as usize & LOOKUP_MASK];
        let (run, value) = if fast != 0 {
            bits.consume((fast & 0xFF) as u32);
            (((fast >> 8) & 0xFF) as usize, (fast >> 16) as i16)
        } else {
            let symbol = u32::from(bits.symbol(table)?);
            let (run, size) = ((symbol >> 4) as usize, symbol & 15);
            if size == 0 {
                match run {
                    15 => {
                        k += 16;
                        continue;
                    }
                    0 => return Some(()),
                    _ => return None,
                }
            }
            if bits.count < size {
                bits.refill();
            }
            (run, extend(bits.take(size) as i32, size) as i16)
        };
        k += run;
        *block.get_mut(*slot.get(k)?)? = value;
        k += 1;
    }
    // Past what the IDCT reads: only the codes' lengths matter, two at a time where they fit.
    while k < 64 {
        if bits.count < 32 {
            bits.refill();
        }
        let skip = table.skip[bits.peek(SKIP_BITS) as usize & SKIP_MASK];
        if skip != 0 {
            let advance1 = ((skip >> 5) & 63) as usize;
            // The second coefficient is this block's only if the first did not end it.
            if skip >> 16 != 0 && k + advance1 < 64 {
                bits.consume((skip >> 11) & 31);
                k += (skip >> 16) as usize;
            } else {
                bits.consume(skip & 31);
                k += advance1;
            }
            continue;
        }
        let symbol = u32::from(bits.symbol(table)?);
        let (run, size) = ((symbol >> 4) as usize, symbol & 15);
        if size == 0 {
            match run {
                15 => k += 16,
                0 => return Some(()),
                _ => return None,
            }
            continue;
        }
        if bits.count < size {
            bits.refill();
        }
        bits.consume(size);
        k += run + 1;
    }
    // The last coefficient was at position 63 at most.
    (k <= 64).then_some(())
}

/// Whether jpeg-decoder reads three components with these ids as YCbCr (its rule, after
/// <https://entropymine.wordpress.com/2018/10/22/how-is-a-jpeg-images-color-type-determined/>):
/// ids 1, 2, 3; other ids that name no other space, unless an Adobe marker (and no JFIF one)
/// says RGB or YCCK.
fn ycbcr(ids: &[u8], jfif: bool, adobe: Option<u8>) -> bool {
    match ids {
        [1, 2, 3] => true,
        [1, 34, 35] | [82, 71, 66] | [114, 103, 98] => false,
        _ => jfif || matches!(adobe, None | Some(1)),
    }
}

/// jpeg-decoder's reduced IDCT at `s`/8 (4x4 and 2x2 after Dugad and Ahuja, 1x1 the DC).
fn idct(s: usize, c: &[i16; 65], q: &[u16; 64], stride: usize, out: &mut [u8]) {
    let dq = |i: usize| i32::from(c[i]).wrapping_mul(i32::from(q[i]));
    let clamp = |x: i32| x.clamp(0, 255) as u8;
    match s {
        1 => {
            if let Some(o) = out.first_mut() {
                *o = clamp(dq(0).wrapping_add(128 * 8) / 8);
            }
        }
        2 => {
            const SCALE_BITS: u32 = 3;
            let (x0, x2) = (dq(0).wrapping_add(dq(8)), dq(0).wrapping_sub(dq(8)));
            let (x1, x3) = (dq(1).wrapping_add(dq(9)), dq(1).wrapping_sub(dq(9)));
            let bias = (1 << (SCALE_BITS - 1)) + (128 << SCALE_BITS);
            let (x0, x2) = (x0.wrapping_add(bias), x2.wrapping_add(bias));
            if let Some(o) = out.get_mut(..2) {
                o[0] = clamp(x0.wrapping_add(x1) >> SCALE_BITS);
                o[1] = clamp(x0.wrapping_sub(x1) >> SCALE_BITS);
            }
            if let Some(o) = out.get_mut(stride..stride + 2) {
                o[0] = clamp(x2.wrapping_add(x3) >> SCALE_BITS);
                o[1] = clamp(x2.wrapping_sub(x3) >> SCALE_BITS);
            }
        }
        _ => idct4x4(c, q, stride, out),
    }
}

/// jpeg-decoder's `stbi_f2f`: a constant in 12-bit fixed point.
fn f2f(x: f32) -> i32 {
    (x * 4096.0 + 0.5) as i32
}

fn idct4x4(c: &[i16; 65], q: &[u16; 64], stride: usize, out: &mut [u8]) {
    const CONST_BITS: u32 = 12;
    const PASS1_BITS: u32 = 2;
    const FINAL_BITS: u32 = CONST_BITS + PASS1_BITS + 3;
    let dq = |i: usize| i32::from(c[i]).wrapping_mul(i32::from(q[i]));
    let (k1, k2, k3) = (f2f(0.541_196_1), f2f(-1.847_759), f2f(0.765_366_85));
    let mut temp = [0i32; 16];
    for i in 0..4 {
        let (s0, s1, s2, s3) = (dq(i), dq(i + 8), dq(i + 16), dq(i + 24));
        let x0 = s0.wrapping_add(s2) << PASS1_BITS;
        let x2 = s0.wrapping_sub(s2) << PASS1_BITS;
        let p1 = s1.wrapping_add(s3).wrapping_mul(k1);
        let t0 =
            p1.wrapping_add(s3.wrapping_mul(k2)).wrapping_add(512) >> (CONST_BITS - PASS1_BITS);
        let t2 =
            p1.wrapping_add(s1.wrapping_mul(k3)).wrapping_add(512) >> (CONST_BITS - PASS1_BITS);
        temp[i] = x0.wrapping_add(t2);
        temp[i + 12] = x0.wrapping_sub(t2);
        temp[i + 4] = x2.wrapping_add(t0);
        temp[i + 8] = x2.wrapping_sub(t0);
    }
    let clamp = |x: i32| x.clamp(0, 255) as u8;
    for i in 0..4 {
        let (s0, s1, s2, s3) = (
            temp[i * 4],
            temp[i * 4 + 1],
            temp[i * 4 + 2],
            temp[i * 4 + 3],
        );
        let x0 = s0.wrapping_add(s2) << CONST_BITS;
        let x2 = s0.wrapping_sub(s2) << CONST_BITS;
        let p1 = s1.wrapping_add(s3).wrapping_mul(k1);
        let t0 = p1.wrapping_add(s3.wrapping_mul(k2));
        let t2 = p1.wrapping_add(s1.wrapping_mul(k3));
        let bias = (1 << (FINAL_BITS - 1)) + (128 << FINAL_BITS);
        let (x0, x2) = (x0.wrapping_add(bias), x2.wrapping_add(bias));
        if let Some(o) = out.get_mut(i * stride..i * stride + 4) {
            o[0] = clamp(x0.wrapping_add(t2) >> FINAL_BITS);
            o[3] = clamp(x0.wrapping_sub(t2) >> FINAL_BITS);
            o[1] = clamp(x2.wrapping_add(t0) >> FINAL_BITS);
            o[2] = clamp(x2.wrapping_sub(t0) >> FINAL_BITS);
        }
    }
}

/// How one component is upsampled to the output: jpeg-decoder's upsamplers (triangle filters),
/// step for step.
struct Upsample {
    /// 1 or 2 each way.
    by: (usize, usize),
    /// The component's size at this scale.
    input: (usize, usize),
    stride: usize,
    /// The image's size at this scale.
    output: (usize, usize),
}

impl Upsample {
    /// Output row `row` into `line` (at least the output's width).
    fn row(&self, plane: &[u8], row: usize, line: &mut [u8], scratch: &mut Vec<u32>) {
        let (in_w, in_h) = self.input;
        let (width, height) = self.output;
        let at = |r: usize| plane.get(r * self.stride..).unwrap_or_default();
        // jpeg-decoder takes the nearer source row and the one on the other side (clamped).
        let rows = || {
            let near = row as f32 / 2.0;
            let far = (near + near.fract() * 3.0 - 0.25).min(in_h.saturating_sub(1) as f32);
            (at(near as usize), at(far as usize))
        };
        scratch.clear();
        match (self.by.0 == 1 || width == 1, self.by.1 == 1 || height == 1) {
            (true, true) => {
                let src = at(row);
                let n = width.min(src.len()).min(line.len());
                line[..n].copy_from_slice(&src[..n]);
            }
            (false, true) => {
                scratch.extend(at(row).iter().take(in_w).map(|&v| u32::from(v) * 4));
                double(scratch, line);
            }
            (true, false) => {
                let (near, far) = rows();
                for ((o, &n), &f) in line.iter_mut().take(width).zip(near).zip(far) {
                    *o = ((3 * u32::from(n) + u32::from(f) + 2) >> 2) as u8;
                }
            }
            (false, false) => {
                let (near, far) = rows();
                scratch.extend(
                    near.iter()
                        .zip(far)
                        .take(in_w)
                        .map(|(&n, &f)| 3 * u32::from(n) + u32::from(f)),
                );
                double(scratch, line);
            }
        }
    }
}

/// Doubles a row of samples given times 4 (jpeg-decoder's H2V1 and H2V2 horizontal step: the
/// ends kept, each inner output 3/4 of its sample and 1/4 of the neighbour).
fn double(t: &[u32], line: &mut [u8]) {
    let n = t.len();
    if n == 0 || line.len() < 2 * n {
        return;
    }
    line[0] = ((t[0] + 2) >> 2) as u8;
    if n == 1 {
        line[1] = line[0];
        return;
    }
    for i in 1..n {
        let (t0, t1) = (t[i - 1], t[i]);
        line[i * 2 - 1] = ((3 * t0 + t1 + 8) >> 4) as u8;
        line[i * 2] = ((3 * t1 + t0 + 8) >> 4) as u8;
    }
    line[n * 2 - 1] = ((t[n - 1] + 2) >> 2) as u8;
}

/// jpeg-decoder's two YCbCr to RGB conversions as tables. Neither ever saturates or overflows
/// in between, so each channel is `y` plus a term of cb and/or cr shifted down; the tables hold
/// those terms (the red and blue ones already shifted), and the pixels come out the same.
struct Colour {
    ssse3: Terms,
    scalar: Terms,
}

/// One conversion's terms: red from cr, blue from cb, green from both before the shift.
struct Terms {
    red: [i16; 256],
    blue: [i16; 256],
    green_cb: [i32; 256],
    green_cr: [i32; 256],
    shift: u32,
}

impl Colour {
    fn new() -> Colour {
        // jpeg-decoder's SSSE3 lanes (`tests::ycbcr_to_rgb_16`): y' = 64y + 32, the products
        // rounded by `_mm_mulhrs_epi16`; every sum stays within -14,500..30,800, so its
        // saturating adds never saturate, and (64y + 32 + t) >> 6 = y + ((32 + t) >> 6).
        let mulhrs = |a: i32, b: i32| (((a * b) >> 14) + 1) >> 1;
        let c16 = |v: usize| ((v as i32) << 6) - (128 << 6);
        let ssse3 = Terms {
            red: std::array::from_fn(|v| ((32 + mulhrs(c16(v), 13173) + c16(v)) >> 6) as i16),
            blue: std::array::from_fn(|v| ((32 + mulhrs(c16(v), 25297) + c16(v)) >> 6) as i16),
            green_cb: std::array::from_fn(|v| 32 - mulhrs(c16(v), 11276)),
            green_cr: std::array::from_fn(|v| -mulhrs(c16(v), 23401)),
            shift: 6,
        };
        // Its scalar path (`tests::ycbcr_to_rgb`): y << 20 plus a half and products of 20-bit
        // constants, all far inside an i32.
        const SHIFT: i32 = 20;
        let f = |x: f32| (x * (1 << SHIFT) as f32 + 0.5) as i32;
        let c = |v: usize| v as i32 - 128;
        let half = (1 << SHIFT) / 2;
        let scalar = Terms {
            red: std::array::from_fn(|v| ((half + f(1.402) * c(v)) >> SHIFT) as i16),
            blue: std::array::from_fn(|v| ((half + f(1.772) * c(v)) >> SHIFT) as i16),
            green_cb: std::array::from_fn(|v| half - f(0.344_14) * c(v)),
            green_cr: std::array::from_fn(|v| -f(0.714_14) * c(v)),
            shift: SHIFT as u32,
        };
        Colour { ssse3, scalar }
    }
}

impl Terms {
    /// RGB pixels into `out` (3 bytes each) from a row of Y, Cb and Cr samples.
    #[inline(always)]
    fn row(&self, out: &mut [u8], y: &[u8], cb: &[u8], cr: &[u8]) {
        let (t, clamp) = (self, |v: i32| v.clamp(0, 255) as u8);
        for (((px, &y), &cb), &cr) in out.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
            let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
            px[0] = clamp(y + i32::from(t.red[cr]));
            px[1] = clamp(y + ((t.green_cb[cb] + t.green_cr[cr]) >> t.shift));
            px[2] = clamp(y + i32::from(t.blue[cb]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// jpeg-decoder's YCbCr to RGB, 20-bit fixed point.
    #[inline(always)]
    fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
        const SHIFT: i32 = 20;
        let f = |x: f32| (x * (1 << SHIFT) as f32 + 0.5) as i32;
        let y = i32::from(y) * (1 << SHIFT) + (1 << SHIFT) / 2;
        let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
        let clamp = |v: i32| (v >> SHIFT).clamp(0, 255) as u8;
        [
            clamp(y + f(1.402) * cr),
            clamp(y - f(0.344_14) * cb - f(0.714_14) * cr),
            clamp(y + f(1.772) * cb),
        ]
    }

    /// jpeg-decoder's SSSE3 YCbCr to RGB, one lane of it: 6 fractional bits in 16-bit lanes,
    /// saturating adds, `_mm_mulhrs_epi16` for the products.
    #[inline(always)]
    fn ycbcr_to_rgb_16(y: u8, cb: u8, cr: u8) -> [u8; 3] {
        const SHIFT: u32 = 6;
        let mulhrs = |a: i16, b: i16| ((((i32::from(a) * i32::from(b)) >> 14) + 1) >> 1) as i16;
        let y = (i16::from(y) << SHIFT).saturating_add((1 << SHIFT) >> 1);
        let cb = (i16::from(cb) << SHIFT).saturating_sub(128 << SHIFT);
        let cr = (i16::from(cr) << SHIFT).saturating_sub(128 << SHIFT);
        let cr_140200 = mulhrs(cr, 13173).saturating_add(cr);
        let cb_034414 = mulhrs(cb, 11276);
        let cr_071414 = mulhrs(cr, 23401);
        let cb_177200 = mulhrs(cb, 25297).saturating_add(cb);
        let pack = |v: i16| (v >> SHIFT).clamp(0, 255) as u8;
        [
            pack(y.saturating_add(cr_140200)),
            pack(y.saturating_sub(cb_034414.saturating_add(cr_071414))),
            pack(y.saturating_add(cb_177200)),
        ]
    }

    /// Every (Y, Cb, Cr) gives the same RGB from the tables as from jpeg-decoder's formulas,
    /// its SSSE3 lanes and its scalar path alike.
    #[test]
    fn the_colour_tables_give_jpeg_decoders_rgb_for_every_input() {
        let colour = Colour::new();
        let (mut fast, mut slow) = ([0u8; 3 * 256], [0u8; 3 * 256]);
        let ys: Vec<u8> = (0..=255).collect();
        for cb in 0..=255u8 {
            for cr in 0..=255u8 {
                let (cbs, crs) = ([cb; 256], [cr; 256]);
                for (terms, reference) in [
                    (&colour.ssse3, ycbcr_to_rgb_16 as fn(u8, u8, u8) -> [u8; 3]),
                    (&colour.scalar, ycbcr_to_rgb),
                ] {
                    terms.row(&mut fast, &ys, &cbs, &crs);
                    for (px, &y) in slow.chunks_exact_mut(3).zip(&ys) {
                        px.copy_from_slice(&reference(y, cb, cr));
                    }
                    assert_eq!(fast, slow, "cb {cb} cr {cr}");
                }
            }
        }
    }
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// A photo-like test image: smooth gradients, an edge and some noise, so every coefficient
    /// and both chroma channels carry something.
    fn picture(w: usize, h: usize, channels: usize) -> Vec<u8> {
        let mut seed = 0x2545_f491_u32;
        let mut out = Vec::with_capacity(w * h * channels);
        for y in 0..h {
            for x in 0..w {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let noise = (seed % 48) as i32 - 24;
                for c in 0..channels {
                    let base = match c {
                        0 => (x * 255 / w) as i32,
                        1 => (y * 255 / h) as i32,
                        _ => {
                            if (x / 7 + y / 5) % 2 == 0 {
                                40
                            } else {
                                220
                            }
                        }
                    };
                    out.push((base + noise).clamp(0, 255) as u8);
                }
            }
        }
        out
    }

    struct Options {
        sampling: SamplingFactor,
        grey: bool,
        restart: u16,
        optimized: bool,
        progressive: bool,
        /// Scans per component of a progressive file (jpeg-encoder's default: 4).
        scans: u8,
    }

    impl Default for Options {
        fn default() -> Self {
            Options {
                sampling: SamplingFactor::F_2_2,
                grey: false,
                restart: 0,
                optimized: false,
                progressive: false,
                scans: 4,
            }
        }
    }

    fn jpeg(w: usize, h: usize, quality: u8, o: &Options) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, quality);
        encoder.set_sampling_factor(o.sampling);
        encoder.set_restart_interval(o.restart);
        encoder.set_optimized_huffman_tables(o.optimized);
        encoder.set_progressive(o.progressive);
        if o.progressive {
            encoder.set_progressive_scans(o.scans);
        }
        let (channels, colour) = if o.grey {
            (1, ColorType::Luma)
        } else {
            (3, ColorType::Rgb)
        };
        encoder
            .encode(&picture(w, h, channels), w as u16, h as u16, colour)
            .expect("encode");
        out
    }

    /// jpeg-decoder's pixels for `data` at `eighths`/8.
    fn reference(data: &[u8], eighths: u32) -> (u16, u16, Vec<u8>) {
        let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(data));
        d.read_info().expect("info");
        let info = d.info().expect("info");
        let side = |len: u16| (u32::from(len) * eighths).div_ceil(8) as u16;
        let (w, h) = d.scale(side(info.width), side(info.height)).expect("scale");
        (w, h, d.decode().expect("decode"))
    }

    /// Decodes `data` at 1/8, 1/4 and 1/2 and checks every byte against jpeg-decoder's; gives
    /// how many scales could be compared.
    fn same_as_jpeg_decoder(data: &[u8], what: &str) -> usize {
        let mut compared = 0;
        for eighths in [1, 2, 4] {
            let plan = Plan::read(data, eighths).unwrap_or_else(|| panic!("{what}: not read"));
            let ours = plan
                .decode()
                .unwrap_or_else(|| panic!("{what} at {eighths}/8: refused"));
            let (w, h, theirs) = reference(data, eighths);
            if (ours.width, ours.height) != (u32::from(w), u32::from(h)) {
                // jpeg-decoder takes the first scale at which either side reaches the request
                // (a 2x33 image asked for 1x9 comes out 1x5): nothing to compare.
                assert!(
                    u32::from(w) * u32::from(h) < ours.width * ours.height,
                    "{what}"
                );
                continue;
            }
            let differ = ours
                .data
                .iter()
                .zip(&theirs)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(ours.data.len(), theirs.len(), "{what} at {eighths}/8");
            assert_eq!(differ, 0, "{what} at {eighths}/8: {differ} bytes differ");
            compared += 1;
        }
        compared
    }

    #[test]
    fn every_supported_layout_gives_jpeg_decoders_pixels() {
        use SamplingFactor::*;
        // Odd sizes, so partial blocks and MCUs and the upsamplers' edges are all exercised.
        let mut compared = 0;
        for (w, h) in [(203, 149), (64, 48), (17, 9), (1, 1), (2, 33)] {
            for (sampling, name) in [
                (F_2_2, "4:2:0"),
                (F_2_1, "4:2:2"),
                (F_1_2, "4:4:0"),
                (F_1_1, "4:4:4"),
            ] {
                let o = Options {
                    sampling,
                    ..Options::default()
                };
                compared += same_as_jpeg_decoder(&jpeg(w, h, 88, &o), &format!("{w}x{h} {name}"));
            }
            let grey = Options {
                grey: true,
                ..Options::default()
            };
            compared += same_as_jpeg_decoder(&jpeg(w, h, 88, &grey), &format!("{w}x{h} grey"));
        }
        // 5 sizes x 5 layouts x 3 scales, less the few where jpeg-decoder picks another scale.
        assert!(compared >= 60, "only {compared} decodes compared");
    }

    #[test]
    fn restart_intervals_and_every_quality_give_jpeg_decoders_pixels() {
        for quality in [5, 50, 90, 100] {
            for restart in [0, 1, 3, 7] {
                let o = Options {
                    restart,
                    ..Options::default()
                };
                let what = format!("q{quality} restart {restart}");
                assert_eq!(same_as_jpeg_decoder(&jpeg(150, 97, quality, &o), &what), 3);
            }
            // Tables fitted to the image (jpeg-encoder writes one scan then only for grey).
            let grey = Options {
                grey: true,
                optimized: true,
                ..Options::default()
            };
            let what = format!("grey q{quality} optimized tables");
            assert_eq!(
                same_as_jpeg_decoder(&jpeg(150, 97, quality, &grey), &what),
                3
            );
        }
    }

    #[test]
    fn progressive_jpegs_give_jpeg_decoders_pixels() {
        use SamplingFactor::*;
        // jpeg-encoder's progressive files: a DC scan and AC bands per component, spectral
        // selection only (the successive approximation of libjpeg's files is the next test's).
        let mut compared = 0;
        for (w, h) in [(203, 149), (64, 48), (17, 9), (1, 1)] {
            for (sampling, grey, name) in [
                (F_2_2, false, "4:2:0"),
                (F_2_1, false, "4:2:2"),
                (F_1_2, false, "4:4:0"),
                (F_1_1, false, "4:4:4"),
                (F_1_1, true, "grey"),
            ] {
                for (scans, restart) in [(4, 0), (2, 3), (9, 1)] {
                    let o = Options {
                        sampling,
                        grey,
                        restart,
                        progressive: true,
                        scans,
                        ..Options::default()
                    };
                    let data = jpeg(w, h, 88, &o);
                    assert!(Plan::read(&data, 4).expect("read").progressive);
                    compared += same_as_jpeg_decoder(
                        &data,
                        &format!("{w}x{h} {name} progressive, {scans} scans, restart {restart}"),
                    );
                }
            }
        }
        // 4 sizes x 5 layouts x 3 kinds x 3 scales, less where jpeg-decoder picks another scale.
        assert!(compared >= 150, "only {compared} decodes compared");
    }

    /// A picture as a binary PPM (or PGM when grey), for the reference encoders.
    fn netpbm(w: usize, h: usize, grey: bool) -> Vec<u8> {
        let channels = if grey { 1 } else { 3 };
        let mut out = format!("P{}\n{w} {h}\n255\n", if grey { 5 } else { 6 }).into_bytes();
        out.extend_from_slice(&picture(w, h, channels));
        out
    }

    #[test]
    #[ignore = "needs cjpeg (apt-get install libjpeg-turbo-progs)"]
    fn libjpegs_progressive_files_give_jpeg_decoders_pixels() {
        // libjpeg's progressive script: successive approximation (DC and AC first scans at a
        // reduced precision, then refinement scans bit by bit), end-of-band runs across blocks,
        // new Huffman tables between scans; with restart intervals in blocks and MCUs.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut compared = 0;
        for (w, h) in [(203, 149), (64, 48), (17, 9)] {
            for (sample, grey, name) in [
                ("2x2", false, "4:2:0"),
                ("2x1", false, "4:2:2"),
                ("1x2", false, "4:4:0"),
                ("1x1", false, "4:4:4"),
                ("1x1", true, "grey"),
            ] {
                let input = dir.path().join(format!("{w}x{h}-{grey}.pnm"));
                std::fs::write(&input, netpbm(w, h, grey)).expect("write");
                for (quality, restart) in [(88, 0), (50, 1), (97, 3)] {
                    let out = std::process::Command::new("cjpeg")
                        .args(["-progressive", "-quality", &quality.to_string()])
                        .args(["-sample", sample, "-restart", &restart.to_string()])
                        .arg(&input)
                        .output()
                        .expect("cjpeg runs (apt-get install libjpeg-turbo-progs)");
                    assert!(out.status.success(), "cjpeg: {out:?}");
                    let data = out.stdout;
                    let what = format!("{w}x{h} {name} q{quality} restart {restart} (cjpeg)");
                    assert!(Plan::read(&data, 4).expect(&what).progressive, "{what}");
                    compared += same_as_jpeg_decoder(&data, &what);
                }
            }
        }
        // 3 sizes x 5 layouts x 3 settings x 3 scales.
        assert!(compared >= 120, "only {compared} decodes compared");
    }

    #[test]
    #[ignore = "needs mate-backgrounds (apt-get install mate-backgrounds)"]
    fn a_large_progressive_photo_gives_jpeg_decoders_pixels() {
        // A real 5640x3172 4:2:2 progressive JPEG (16 MB): the file W4 spends most on.
        let path = "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg";
        let data = std::fs::read(path).expect("mate-backgrounds");
        assert!(Plan::read(&data, 4).expect("read").progressive);
        assert_eq!(same_as_jpeg_decoder(&data, path), 3);
    }

    #[test]
    fn what_it_does_not_decode_is_left_to_jpeg_decoder() {
        let baseline = jpeg(64, 64, 90, &Options::default());
        assert!(Plan::read(&baseline, 8).is_none(), "full size");
        assert!(Plan::read(&baseline, 3).is_none(), "3/8");
        assert!(Plan::read(b"not a jpeg", 4).is_none());
        // 4:1:1 (luma sampled 4 across) is not among the layouts.
        let wide = Options {
            sampling: SamplingFactor::F_4_1,
            ..Options::default()
        };
        assert!(Plan::read(&jpeg(64, 64, 90, &wide), 4).is_none(), "4:1:1");
        // One scan per component (jpeg-encoder's layout with optimised tables).
        let scans = Options {
            optimized: true,
            ..Options::default()
        };
        assert!(
            Plan::read(&jpeg(64, 64, 90, &scans), 4).is_none(),
            "a scan per component"
        );
    }

    #[test]
    fn damaged_scans_are_refused_or_decoded_never_a_panic() {
        let o = Options {
            restart: 4,
            ..Options::default()
        };
        let good = jpeg(120, 80, 90, &o);
        let scan = Plan::read(&good, 2).expect("read").scan;
        // Cut short anywhere in the scan: the scan runs into the end, so it is refused.
        for cut in (scan + 1..good.len() - 2).step_by(37) {
            let plan = Plan::read(&good[..cut], 2).expect("headers intact");
            assert!(plan.decode().is_none(), "cut at {cut} of {}", good.len());
        }
        // Bytes changed inside the scan: whatever happens, no panic, and a decode that is
        // accepted has the right size.
        decodes_changed_bytes_without_panic(&good, scan, 7);
    }

    /// Changes three bytes after `from` (and before the end marker) 400 times over: each decode
    /// gives `None` or pixels of the right size (a 120x80 picture at 1/4), never a panic.
    fn decodes_changed_bytes_without_panic(good: &[u8], from: usize, mut seed: u32) {
        for _ in 0..400 {
            let mut bad = good.to_vec();
            for _ in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let at = from + (seed as usize >> 8) % (good.len() - 2 - from);
                bad[at] = (seed >> 3) as u8;
            }
            if let Some(plan) = Plan::read(&bad, 2)
                && let Some(p) = plan.decode()
            {
                assert_eq!(p.data.len(), 30 * 20 * 3);
            }
        }
    }

    #[test]
    fn damaged_progressive_scans_are_refused_or_decoded_never_a_panic() {
        let o = Options {
            restart: 3,
            progressive: true,
            scans: 6,
            ..Options::default()
        };
        let good = jpeg(120, 80, 90, &o);
        let first = Plan::read(&good, 2).expect("read").scan;
        assert!(Plan::read(&good, 2).expect("read").decode().is_some());
        // Cut short anywhere after the first scan's header (at most 14 bytes): a scan runs
        // into the end or the end of the image is missing, so it is refused.
        for cut in (first + 14..good.len() - 2).step_by(29) {
            let plan = Plan::read(&good[..cut], 2).expect("headers intact");
            assert!(plan.decode().is_none(), "cut at {cut} of {}", good.len());
        }
        decodes_changed_bytes_without_panic(&good, first, 11);
    }

    #[test]
    fn a_file_of_very_many_scans_is_left_to_jpeg_decoder() {
        let o = Options {
            progressive: true,
            ..Options::default()
        };
        let good = jpeg(64, 48, 90, &o);
        // The last scan (its header and data, up to the end of the image) said again and again:
        // each repeat decodes to the same coefficients.
        let last = (0..good.len() - 1)
            .rev()
            .find(|&i| good[i] == 0xFF && good[i + 1] == 0xDA)
            .expect("a scan");
        let end = good.len() - 2;
        let repeated = |times: usize| {
            let mut data = good[..end].to_vec();
            for _ in 0..times {
                data.extend_from_slice(&good[last..end]);
            }
            data.extend_from_slice(&good[end..]);
            data
        };
        let expected = Plan::read(&good, 4)
            .expect("read")
            .decode()
            .expect("decode");
        let some = Plan::read(&repeated(20), 4).expect("read").decode();
        assert_eq!(some.expect("20 more scans decode").data, expected.data);
        // Past 500 scans it is not read here (each scan walks every block).
        assert!(
            Plan::read(&repeated(600), 4)
                .expect("read")
                .decode()
                .is_none()
        );
    }

    #[test]
    fn a_wrong_restart_marker_is_refused() {
        let o = Options {
            restart: 2,
            ..Options::default()
        };
        let mut data = jpeg(64, 64, 90, &o);
        let scan = Plan::read(&data, 4).expect("read").scan;
        let first_rst = (scan..data.len() - 1)
            .find(|&i| data[i] == 0xFF && data[i + 1] == 0xD0)
            .expect("an RST0");
        data[first_rst + 1] = 0xD5;
        assert!(Plan::read(&data, 4).expect("read").decode().is_none());
    }
}
