//! A progressive JPEG at a reduced scale: every scan is entropy-decoded (JPEG's G.1.2: DC
//! first and refinement scans, AC first scans with end-of-band runs, AC refinement scans), but
//! only the coefficients the reduced IDCT reads are kept, with one bit per coefficient saying
//! whether it is nonzero yet (what a refinement scan needs of the others). jpeg-decoder keeps
//! all 64 coefficients of every block until the last scan, 72 MB for a 5640x3172 4:2:2 photo;
//! at 1/2 scale this keeps 18 MB of coefficients and 4.5 MB of bits.
//!
//! The IDCT, upsampling and colour conversion are the baseline path's, so the pixels are
//! jpeg-decoder's (tests compare every byte). Data this module does not follow (a second
//! frame, new quantisation tables between scans, a code or a run that leaves its band, a scan
//! cut short) gives `None`, and the caller lets jpeg-decoder decide what the file is.

use super::{Bits, Huffman, LOOKUP_BITS, LOOKUP_MASK, Plan, Planes, ZIGZAG, extend, idct};

/// A zig-zag position the reduced IDCT does not read.
const DROPPED: u8 = u8::MAX;

/// The most scans read (libjpeg-turbo's suggested scan limit). Every scan walks every block of
/// its components, even one whose data is a few bytes of end-of-band runs, so a file of many
/// tiny scans could hold a worker for minutes; real files have about ten.
const MAX_SCANS: usize = 500;

/// The kept coefficients of every block of one component, and which coefficients are nonzero.
struct Component {
    /// Blocks a row and rows of blocks, padded to whole MCUs.
    blocks_x: usize,
    blocks_y: usize,
    /// Blocks a row and rows that a scan of this component alone covers (its own size).
    own_x: usize,
    own_y: usize,
    /// `kept` coefficients a block, in the order of the reduced IDCT's s x s corner.
    values: Vec<i16>,
    /// Bit k: the coefficient at zig-zag position k is nonzero.
    nonzero: Vec<u64>,
}

/// One scan's parameters.
struct Scan {
    /// Indices into the frame's components, with their DC and AC table slots.
    components: Vec<(usize, usize, usize)>,
    start: usize,
    end: usize,
    high: u32,
    low: u32,
}

/// Decodes every scan of `plan` (its `scan` is the first scan's header) into planes.
pub(super) fn decode(mut plan: Plan<'_>) -> Option<Planes> {
    let s = plan.eighths;
    let kept = s * s;
    let (h_max, v_max) = plan.max_factors();
    let (mcus_x, mcus_y) = plan.mcus();
    let mut components: Vec<Component> = plan
        .components
        .iter()
        .map(|c| {
            let (blocks_x, blocks_y) = (mcus_x * c.h, mcus_y * c.v);
            // The component's own size (JPEG's A.1.1), in blocks.
            let own_x = (plan.width * c.h).div_ceil(h_max).div_ceil(8);
            let own_y = (plan.height * c.v).div_ceil(v_max).div_ceil(8);
            Component {
                blocks_x,
                blocks_y,
                own_x,
                own_y,
                values: vec![0; blocks_x * blocks_y * kept],
                nonzero: vec![0; blocks_x * blocks_y],
            }
        })
        .collect();
    // Where each zig-zag position's coefficient is kept, if it is.
    let slot: [u8; 64] = std::array::from_fn(|k| {
        let natural = usize::from(ZIGZAG[k]);
        let (row, column) = (natural / 8, natural % 8);
        if row < s && column < s {
            (row * s + column) as u8
        } else {
            DROPPED
        }
    });
    let data = plan.data;
    let mut at = plan.scan;
    let mut scans = 0usize;
    loop {
        let marker;
        (at, marker) = super::marker_at(data, at)?;
        if marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
        if len < 2 {
            return None;
        }
        let body = data.get(at + 4..at + 2 + len)?;
        match marker {
            0xDA => {
                if scans == MAX_SCANS {
                    return None;
                }
                let scan = read_scan(&plan, body)?;
                at = decode_scan(&plan, &scan, at + 2 + len, &slot, &mut components)?;
                scans += 1;
                continue;
            }
            0xC4 => plan.read_huffman(body)?,
            0xDD => {
                plan.restart_interval =
                    usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
            }
            // New quantisation tables, another frame, a marker that is not a segment: left to
            // jpeg-decoder.
            0xDB | 0xC0..=0xCF | 0xD0..=0xD8 | 0x01 => return None,
            _ => {}
        }
        at += 2 + len;
    }
    if scans == 0 {
        return None;
    }
    // The reduced IDCT of every block, from the kept coefficients.
    let mut strides = Vec::with_capacity(components.len());
    let mut planes = Vec::with_capacity(components.len());
    let mut block = [0i16; 65];
    for (c, frame) in components.iter().zip(&plan.components) {
        let quant = &plan.quant[frame.quant];
        let stride = c.blocks_x * s;
        let mut plane = vec![0u8; stride * c.blocks_y * s];
        for by in 0..c.blocks_y {
            for bx in 0..c.blocks_x {
                let coefficients = c.values.get((by * c.blocks_x + bx) * kept..)?.get(..kept)?;
                for (i, &v) in coefficients.iter().enumerate() {
                    block[(i / s) * 8 + i % s] = v;
                }
                let out = plane.get_mut(by * s * stride + bx * s..)?;
                idct(s, &block, quant, stride, out);
            }
        }
        strides.push(stride);
        planes.push(plane);
    }
    Some(plan.planes(strides, planes))
}

/// A scan header (SOS) for this frame; `None` for one this module does not decode.
fn read_scan(plan: &Plan<'_>, body: &[u8]) -> Option<Scan> {
    let count = usize::from(*body.first()?);
    if count == 0 || count > plan.components.len() {
        return None;
    }
    let mut components = Vec::with_capacity(count);
    for i in 0..count {
        let spec = body.get(1 + 2 * i..3 + 2 * i)?;
        let index = plan.ids.iter().position(|&id| id == spec[0])?;
        let (dc, ac) = (usize::from(spec[1] >> 4), usize::from(spec[1] & 15));
        if dc > 3 || ac > 3 || components.iter().any(|&(c, _, _)| c == index) {
            return None;
        }
        components.push((index, dc, ac));
    }
    let params = body.get(1 + 2 * count..4 + 2 * count)?;
    let (start, end) = (usize::from(params[0]), usize::from(params[1]));
    let (high, low) = (u32::from(params[2] >> 4), u32::from(params[2] & 15));
    // DC scans cover the DC alone; AC scans one band of one component (G.1.1.1.1). A
    // refinement scan refines by one bit.
    let band_ok = if start == 0 {
        end == 0
    } else {
        start <= end && end <= 63 && count == 1
    };
    if !band_ok || low > 13 || (high != 0 && high != low + 1) {
        return None;
    }
    // The tables the scan decodes with.
    for &(_, dc, ac) in &components {
        let needs = if start == 0 {
            high == 0 && plan.dc[dc].is_none()
        } else {
            plan.ac[ac].is_none()
        };
        if needs {
            return None;
        }
    }
    Some(Scan {
        components,
        start,
        end,
        high,
        low,
    })
}

/// Decodes one scan's entropy-coded data, which starts at `from`, into `components`; gives
/// where the next marker starts.
fn decode_scan(
    plan: &Plan<'_>,
    scan: &Scan,
    from: usize,
    slot: &[u8; 64],
    components: &mut [Component],
) -> Option<usize> {
    let kept = plan.eighths * plan.eighths;
    let mut state = State {
        plan,
        scan,
        slot,
        bits: Bits::new(plan.data, from),
        predictors: [0; 4],
        eob_run: 0,
    };
    let (mut left, mut next_restart) = (plan.restart_interval, 0u8);
    // An interleaved scan goes MCU by MCU; a scan of one component goes block by block over
    // the component's own size.
    let interleaved = scan.components.len() > 1;
    let (units_x, units_y) = if interleaved {
        plan.mcus()
    } else {
        let c = components.get(scan.components.first()?.0)?;
        (c.own_x, c.own_y)
    };
    for unit_y in 0..units_y {
        for unit_x in 0..units_x {
            if plan.restart_interval > 0 {
                if left == 0 {
                    if !state.bits.restart(next_restart) {
                        return None;
                    }
                    state.predictors = [0; 4];
                    state.eob_run = 0;
                    next_restart = (next_restart + 1) % 8;
                    left = plan.restart_interval;
                }
                left -= 1;
            }
            for (i, &(index, _, _)) in scan.components.iter().enumerate() {
                let frame = &plan.components[index];
                let (across, down) = if interleaved {
                    (frame.h, frame.v)
                } else {
                    (1, 1)
                };
                let c = &mut components[index];
                for by in 0..down {
                    for bx in 0..across {
                        let block = (unit_y * down + by) * c.blocks_x + unit_x * across + bx;
                        let values = c.values.get_mut(block * kept..)?.get_mut(..kept)?;
                        let nonzero = c.nonzero.get_mut(block)?;
                        state.block(i, values, nonzero)?;
                    }
                }
            }
        }
    }
    state.bits.marker_after()
}

/// A scan being decoded.
struct State<'s, 'a> {
    plan: &'s Plan<'a>,
    scan: &'s Scan,
    /// Where each zig-zag position's coefficient is kept, if it is.
    slot: &'s [u8; 64],
    bits: Bits<'a>,
    /// The DC predictor of each of the scan's components.
    predictors: [i32; 4],
    /// Blocks left in the current end-of-band run.
    eob_run: u32,
}

impl State<'_, '_> {
    /// The scan's data for one block of its `i`-th component.
    #[inline(always)]
    fn block(&mut self, i: usize, values: &mut [i16], nonzero: &mut u64) -> Option<()> {
        let (scan, (_, dc, ac)) = (self.scan, *self.scan.components.get(i)?);
        if scan.start > 0 {
            let table = self.plan.ac[ac].as_ref()?;
            return if scan.high == 0 {
                self.ac_first(table, values, nonzero)
            } else {
                self.ac_refine(table, values, nonzero)
            };
        }
        let bits = &mut self.bits;
        bits.refill();
        if scan.high == 0 {
            // DC first (G.1.2.1): the difference from the predictor, at the scan's precision.
            let size = u32::from(bits.symbol(self.plan.dc[dc].as_ref()?)?);
            if size > 11 {
                return None;
            }
            let diff = extend(bits.take(size) as i32, size);
            self.predictors[i] = self.predictors[i].wrapping_add(diff);
            values[0] = self.predictors[i].wrapping_shl(scan.low) as i16;
        } else if bits.take(1) == 1 {
            // DC refinement: the next bit.
            values[0] |= 1 << scan.low;
        }
        Some(())
    }

    /// One block of an AC first scan (G.1.2.2): new coefficients of the band, scaled by the
    /// scan's low bit, or one block of an end-of-band run.
    #[inline(always)]
    fn ac_first(&mut self, table: &Huffman, values: &mut [i16], nonzero: &mut u64) -> Option<()> {
        if self.eob_run > 0 {
            self.eob_run -= 1;
            return Some(());
        }
        let (scan, bits) = (self.scan, &mut self.bits);
        let mut k = scan.start;
        while k <= scan.end {
            if bits.count < 32 {
                bits.refill();
            }
            let fast = table.ac[bits.peek(LOOKUP_BITS) as usize & LOOKUP_MASK];
            let (run, value) = if fast != 0 {
                bits.consume((fast & 0xFF) as u32);
                (((fast >> 8) & 0xFF) as usize, fast >> 16)
            } else {
                let symbol = bits.symbol(table)?;
                let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
                if size == 0 {
                    if run == 15 {
                        k += 16;
                        continue;
                    }
                    // An end-of-band run: this block and 2^run - 1 + (run bits) more.
                    self.eob_run = (1 << run) - 1 + bits.take(run);
                    return Some(());
                }
                if bits.count < size {
                    bits.refill();
                }
                (run as usize, extend(bits.take(size) as i32, size))
            };
            k += run;
            if k > scan.end {
                return None;
            }
            *nonzero |= 1 << k;
            if let Some(v) = values.get_mut(usize::from(self.slot[k])) {
                *v = value.wrapping_shl(scan.low) as i16;
            }
            k += 1;
        }
        Some(())
    }

    /// One block of an AC refinement scan (G.1.2.3, as libjpeg's decode_mcu_AC_refine): a
    /// correction bit for each coefficient already nonzero, and new coefficients of +-1 at the
    /// scan's bit.
    #[inline(always)]
    fn ac_refine(&mut self, table: &Huffman, values: &mut [i16], nonzero: &mut u64) -> Option<()> {
        let (scan, slot, bits) = (self.scan, self.slot, &mut self.bits);
        let bit = 1i32 << scan.low;
        // A correction bit for the nonzero coefficient at `k`: 1 makes it larger by the
        // scan's bit.
        let correct = |bits: &mut Bits<'_>, values: &mut [i16], k: usize| {
            if bits.count < 1 {
                bits.refill();
            }
            if bits.take(1) == 1
                && let Some(v) = values.get_mut(usize::from(slot[k]))
            {
                let x = i32::from(*v);
                if x & bit == 0 {
                    *v = (if x >= 0 { x + bit } else { x - bit }) as i16;
                }
            }
        };
        let mut k = scan.start;
        if self.eob_run == 0 {
            while k <= scan.end {
                if bits.count < 32 {
                    bits.refill();
                }
                let symbol = bits.symbol(table)?;
                let (mut run, size) = (i32::from(symbol >> 4), symbol & 15);
                let mut new = 0i32;
                if size != 0 {
                    // A new coefficient is always +-1 at this bit.
                    if size != 1 {
                        return None;
                    }
                    new = if bits.take(1) == 1 { bit } else { -bit };
                } else if run != 15 {
                    self.eob_run = (1 << run) + bits.take(run as u32);
                    break;
                }
                // Past `run` coefficients that are still zero (correcting the nonzero ones on
                // the way) to the next zero one, where the new coefficient goes.
                while k <= scan.end {
                    if *nonzero & (1 << k) != 0 {
                        correct(bits, values, k);
                    } else {
                        if run == 0 {
                            break;
                        }
                        run -= 1;
                    }
                    k += 1;
                }
                if new != 0 {
                    if k > scan.end {
                        return None;
                    }
                    *nonzero |= 1 << k;
                    if let Some(v) = values.get_mut(usize::from(slot[k])) {
                        *v = new as i16;
                    }
                }
                k += 1;
            }
        }
        if self.eob_run > 0 {
            // In an end-of-band run: only the correction bits of the nonzero coefficients.
            while k <= scan.end {
                if *nonzero & (1 << k) != 0 {
                    correct(bits, values, k);
                }
                k += 1;
            }
            self.eob_run -= 1;
        }
        Some(())
    }
}
