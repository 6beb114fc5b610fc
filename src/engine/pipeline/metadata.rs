//! Metadata carried from source to output.

/// Sets the EXIF orientation tag (0x0112) in IFD0 to 1 ("as stored"), since the pixels have
/// already been turned. Accepts a block with or without the `Exif\0\0` prefix. Leaves a block
/// it cannot parse unchanged and returns false.
pub fn reset_orientation(exif: &mut [u8]) -> bool {
    let base = if exif.starts_with(b"Exif\0\0") { 6 } else { 0 };
    let Some(tiff) = exif.get_mut(base..) else {
        return false;
    };
    let little = match tiff.get(0..4) {
        Some([b'I', b'I', 42, 0]) => true,
        Some([b'M', b'M', 0, 42]) => false,
        _ => return false,
    };
    let u16_at = |b: &[u8], i: usize| -> Option<u16> {
        let s: [u8; 2] = b.get(i..i + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |b: &[u8], i: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let Some(ifd) = u32_at(tiff, 4).map(|o| o as usize) else {
        return false;
    };
    let Some(count) = u16_at(tiff, ifd) else {
        return false;
    };
    for k in 0..usize::from(count) {
        let entry = ifd + 2 + 12 * k;
        if u16_at(tiff, entry) == Some(0x0112) {
            let one: [u8; 2] = if little { [1, 0] } else { [0, 1] };
            if let Some(value) = tiff.get_mut(entry + 8..entry + 10) {
                value.copy_from_slice(&one);
                return true;
            }
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_orientation_in_both_byte_orders() {
        // II header, IFD at 8, one entry: tag 0x0112 SHORT count 1 value 6.
        let mut le = vec![
            b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0,
        ];
        assert!(reset_orientation(&mut le));
        assert_eq!(&le[18..20], &[1, 0]);
        let mut be = b"Exif\0\0".to_vec();
        be.extend_from_slice(&[
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0,
        ]);
        assert!(reset_orientation(&mut be));
        assert_eq!(&be[6 + 18..6 + 20], &[0, 1]);
        assert!(!reset_orientation(&mut [1, 2, 3]));
    }
}
