//! Table-driven (slice-by-8) CRC-32 (IEEE), to verify the full-object checksums S3 reports for
//! objects uploaded with it, and the combination of CRCs of parts fetched in parallel. CRC32C and
//! CRC-64/NVME (S3's default since 2025) use the hardware-accelerated `crc32c` and
//! `crc64fast-nvme` crates instead (PCLMULQDQ: about 5x the slice-by-8 table for CRC-64/NVME).

/// The slice-by-8 tables of a reflected CRC with polynomial `poly`. A CRC-32's polynomial fits
/// in the low 32 bits, and so does every entry of its tables (the state only ever shifts right).
fn tables(poly: u64) -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    for (i, entry) in t[0].iter_mut().enumerate() {
        let mut c = i as u64;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
        }
        *entry = c;
    }
    for s in 1..8 {
        for i in 0..256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
        }
    }
    t
}

// Built on first use (a few microseconds) rather than stored in the binary: 8 KiB less for
// programs that never verify a CRC-32 checksum.
static CRC32: std::sync::LazyLock<Box<[[u32; 256]; 8]>> =
    std::sync::LazyLock::new(|| Box::new(tables(CRC32_POLY).map(|row| row.map(|v| v as u32))));

/// Continues a CRC-32 (IEEE): `state` starts at `!0` and the result is `!state`.
pub(crate) fn crc32_update(mut state: u32, data: &[u8]) -> u32 {
    let t: &[[u32; 256]; 8] = &CRC32;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = state ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        state = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        state = (state >> 8) ^ t[0][((state ^ b as u32) & 0xff) as usize];
    }
    state
}

/// The reflected polynomial of CRC-32 (IEEE).
pub(crate) const CRC32_POLY: u64 = 0xEDB8_8320;
/// The reflected polynomial of CRC-32C (Castagnoli).
pub(crate) const CRC32C_POLY: u64 = 0x82F6_3B78;
/// The reflected polynomial of CRC-64/NVME.
pub(crate) const CRC64NVME_POLY: u64 = 0x9A6C_9329_AC4B_C9B5;

/// `crc(A ‖ B)` from `crc(A)`, `crc(B)` and the length of `B`, for a reflected CRC of `width`
/// bits (32 or 64) with the (reflected) polynomial `poly` whose register starts at all ones and is
/// inverted at the end (CRC-32, CRC-32C, CRC-64/NVME). This is how the parts of a download fetched
/// in parallel are checked against one full-object checksum without reading them again in order
/// (zlib's `crc32_combine`, in GF(2) arithmetic: `crc(A) · x^(8·|B|) + crc(B)` modulo the
/// polynomial).
pub(crate) fn crc_combine(poly: u64, width: u32, crc1: u64, crc2: u64, len2: u64) -> u64 {
    // Bit `width - 1` is x^0, bit `width - 2` is x^1, … (reflected representation).
    let one = 1u64 << (width - 1);
    let multiply = |a: u64, mut b: u64| -> u64 {
        let mut product = 0u64;
        let mut m = one;
        while m != 0 {
            if a & m != 0 {
                product ^= b;
            }
            m >>= 1;
            b = if b & 1 != 0 { (b >> 1) ^ poly } else { b >> 1 };
        }
        product
    };
    // x^(8·len2) by square and multiply.
    let mut exponent = u128::from(len2) * 8;
    let mut power = one >> 1; // x^1
    let mut acc = one; // x^0
    while exponent > 0 {
        if exponent & 1 == 1 {
            acc = multiply(acc, power);
        }
        power = multiply(power, power);
        exponent >>= 1;
    }
    multiply(acc, crc1) ^ crc2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_crcs_equal_the_crc_of_the_concatenation() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0, 1, 7, 8, 4096, 65_537, data.len()] {
            let (a, b) = data.split_at(split);
            let len = b.len() as u64;
            let crc32 = |d: &[u8]| u64::from(!crc32_update(!0, d));
            assert_eq!(crc_combine(CRC32_POLY, 32, crc32(a), crc32(b), len), crc32(&data), "crc32 split {split}");
            let crc32c = |d: &[u8]| u64::from(crc32c::crc32c(d));
            assert_eq!(crc_combine(CRC32C_POLY, 32, crc32c(a), crc32c(b), len), crc32c(&data), "crc32c {split}");
            let crc64 = |d: &[u8]| {
                let mut h = crc64fast_nvme::Digest::new();
                h.write(d);
                h.sum64()
            };
            assert_eq!(crc_combine(CRC64NVME_POLY, 64, crc64(a), crc64(b), len), crc64(&data), "crc64 {split}");
        }
    }

    /// CRC-64/NVME one bit at a time, the definition the accelerated crate must agree with.
    fn crc64nvme_bitwise(data: &[u8]) -> u64 {
        let mut c = !0u64;
        for &b in data {
            c ^= u64::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ CRC64NVME_POLY } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn accelerated_crc64nvme_matches_the_definition_in_any_chunking() {
        use crate::checksum::{ChecksumAlgorithm, Hasher};
        use cloudkit_core::RunningChecksum;
        let data: Vec<u8> = (0..70_001u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let expected = crc64nvme_bitwise(&data);
        for chunk in [1, 7, 16, 63, 4096, data.len()] {
            let mut h = Hasher::new(ChecksumAlgorithm::Crc64Nvme);
            for c in data.chunks(chunk) {
                h.update(c);
            }
            assert_eq!(h.crc(), Some(expected), "chunks of {chunk}");
        }
        assert_eq!(crc64nvme_bitwise(b"123456789"), 0xAE8B_1486_0A79_9888);
    }

    #[test]
    fn check_values() {
        assert_eq!(!crc32_update(!0, b"123456789"), 0xCBF4_3926);
        // incremental == one shot, across chunk boundaries
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        let (a, b) = data.split_at(13);
        assert_eq!(crc32_update(crc32_update(!0, a), b), crc32_update(!0, &data));
    }
}
