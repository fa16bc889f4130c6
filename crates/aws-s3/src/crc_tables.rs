//! Table-driven (slice-by-8) CRC-32 (IEEE) and CRC-64/NVME, to verify the full-object checksums
//! S3 reports for objects uploaded with those algorithms (CRC64NVME is S3's default since 2025).
//! CRC32C uses the hardware-accelerated `crc32c` crate instead.

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

// Built on first use (a few microseconds) rather than stored in the binary: 24 KiB less for
// programs that never verify a CRC-32 or CRC-64/NVME checksum.
static CRC32: std::sync::LazyLock<Box<[[u32; 256]; 8]>> =
    std::sync::LazyLock::new(|| Box::new(tables(0xEDB8_8320).map(|row| row.map(|v| v as u32))));
static CRC64NVME: std::sync::LazyLock<Box<[[u64; 256]; 8]>> =
    std::sync::LazyLock::new(|| Box::new(tables(0x9A6C_9329_AC4B_C9B5)));

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

/// Continues a CRC-64/NVME: `state` starts at `!0` and the result is `!state`.
pub(crate) fn crc64nvme_update(mut state: u64, data: &[u8]) -> u64 {
    let t: &[[u64; 256]; 8] = &CRC64NVME;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let x = state ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        state = t[7][(x & 0xff) as usize]
            ^ t[6][((x >> 8) & 0xff) as usize]
            ^ t[5][((x >> 16) & 0xff) as usize]
            ^ t[4][((x >> 24) & 0xff) as usize]
            ^ t[3][((x >> 32) & 0xff) as usize]
            ^ t[2][((x >> 40) & 0xff) as usize]
            ^ t[1][((x >> 48) & 0xff) as usize]
            ^ t[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        state = (state >> 8) ^ t[0][((state ^ b as u64) & 0xff) as usize];
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(!crc32_update(!0, b"123456789"), 0xCBF4_3926);
        assert_eq!(!crc64nvme_update(!0, b"123456789"), 0xAE8B_1486_0A79_9888);
        // incremental == one shot, across chunk boundaries
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        let (a, b) = data.split_at(13);
        assert_eq!(crc64nvme_update(crc64nvme_update(!0, a), b), crc64nvme_update(!0, &data));
        assert_eq!(crc32_update(crc32_update(!0, a), b), crc32_update(!0, &data));
    }
}
