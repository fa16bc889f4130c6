//! A gzip (RFC 1952) reader over an inflater (RFC 1951, after zlib's `puff.c`), for botocore's
//! gzipped models: one member, the trailer's CRC-32 and length checked, the output capped.

/// Decompresses the first member of a gzip file into at most `limit` bytes.
pub(crate) fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let bad = |what: &str| format!("invalid gzip data: {what}");
    if data.len() < 18 || data[..3] != [0x1f, 0x8b, 8] {
        return Err(bad("not a gzip header"));
    }
    let flags = data[3];
    let mut pos = 10;
    if flags & 4 != 0 {
        let extra = data.get(pos..pos + 2).ok_or_else(|| bad("truncated header"))?;
        pos += 2 + usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }
    for flag in [8, 16] {
        if flags & flag != 0 {
            let end =
                data.get(pos..).and_then(|d| d.iter().position(|&b| b == 0)).ok_or_else(|| bad("truncated header"))?;
            pos += end + 1;
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    let mut bits = Bits { data, pos: pos.min(data.len()), buf: 0, count: 0 };
    let mut out = Vec::new();
    inflate(&mut bits, &mut out, limit).map_err(bad)?;
    let trailer = data.get(bits.pos..bits.pos + 8).ok_or_else(|| bad("truncated trailer"))?;
    let word = |i: usize| u32::from_le_bytes([trailer[i], trailer[i + 1], trailer[i + 2], trailer[i + 3]]);
    if word(0) != crc32fast::hash(&out) || word(4) != out.len() as u32 {
        return Err(bad("checksum mismatch"));
    }
    Ok(out)
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    count: u32,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, &'static str> {
        while self.count < n {
            let byte = *self.data.get(self.pos).ok_or("truncated stream")?;
            self.pos += 1;
            self.buf |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buf & ((1 << n) - 1);
        self.buf >>= n;
        self.count -= n;
        Ok(value)
    }

    /// Decodes one symbol, a bit at a time (canonical codes, shortest first).
    fn decode(&mut self, h: &Huffman) -> Result<usize, &'static str> {
        let (mut code, mut first, mut index) = (0, 0, 0);
        for &count in &h.count[1..] {
            code |= self.bits(1)? as usize;
            let count = usize::from(count);
            if code < first + count {
                return Ok(usize::from(h.symbol[index + code - first]));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid code")
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, &'static str> {
        let mut count = [0u16; 16];
        for &len in lengths {
            count[usize::from(len)] += 1;
        }
        count[0] = 0;
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = (left << 1) - i32::from(c);
            if left < 0 {
                return Err("over-subscribed code");
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + count[len];
        }
        let mut symbol = vec![0; lengths.len()];
        for (sym, &len) in lengths.iter().enumerate() {
            if len != 0 {
                symbol[usize::from(offsets[usize::from(len)])] = sym as u16;
                offsets[usize::from(len)] += 1;
            }
        }
        Ok(Huffman { count, symbol })
    }
}

const LENGTH_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/// The order the code-length code's lengths come in.
const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

fn inflate(bits: &mut Bits<'_>, out: &mut Vec<u8>, limit: usize) -> Result<(), &'static str> {
    loop {
        let last = bits.bits(1)? == 1;
        match bits.bits(2)? {
            0 => {
                // Stored: byte-aligned LEN, NLEN, then the bytes.
                bits.buf = 0;
                bits.count = 0;
                let header = bits.data.get(bits.pos..bits.pos + 4).ok_or("truncated stream")?;
                let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
                if u16::from_le_bytes([header[2], header[3]]) != !(len as u16) {
                    return Err("stored block length mismatch");
                }
                bits.pos += 4;
                let block = bits.data.get(bits.pos..bits.pos + len).ok_or("truncated stream")?;
                if out.len() + len > limit {
                    return Err("too large");
                }
                out.extend_from_slice(block);
                bits.pos += len;
            }
            1 => {
                let mut lengths = [0u8; 288 + 30];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..288].fill(8);
                lengths[288..].fill(5);
                codes(bits, out, limit, &Huffman::new(&lengths[..288])?, &Huffman::new(&lengths[288..])?)?;
            }
            2 => {
                let nlen = bits.bits(5)? as usize + 257;
                let ndist = bits.bits(5)? as usize + 1;
                let ncode = bits.bits(4)? as usize + 4;
                if nlen > 286 || ndist > 30 {
                    return Err("bad counts");
                }
                let mut lengths = [0u8; 286 + 30];
                for &i in &ORDER[..ncode] {
                    lengths[i] = bits.bits(3)? as u8;
                }
                let lencode = Huffman::new(&lengths[..19])?;
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = bits.decode(&lencode)?;
                    let (value, repeat) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => (*lengths[..i].last().ok_or("repeat with no previous length")?, 3 + bits.bits(2)?),
                        17 => (0, 3 + bits.bits(3)?),
                        _ => (0, 11 + bits.bits(7)?),
                    };
                    let end = i + repeat as usize;
                    if end > nlen + ndist {
                        return Err("too many lengths");
                    }
                    lengths[i..end].fill(value);
                    i = end;
                }
                if lengths[256] == 0 {
                    return Err("no end-of-block code");
                }
                let lit = Huffman::new(&lengths[..nlen])?;
                let dist = Huffman::new(&lengths[nlen..nlen + ndist])?;
                codes(bits, out, limit, &lit, &dist)?;
            }
            _ => return Err("invalid block type"),
        }
        if last {
            return Ok(());
        }
    }
}

fn codes(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    limit: usize,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), &'static str> {
    loop {
        let sym = bits.decode(lit)?;
        if sym < 256 {
            if out.len() >= limit {
                return Err("too large");
            }
            out.push(sym as u8);
            continue;
        }
        if sym == 256 {
            return Ok(());
        }
        let sym = sym - 257;
        if sym >= 29 {
            return Err("invalid length code");
        }
        let len = usize::from(LENGTH_BASE[sym]) + bits.bits(u32::from(LENGTH_EXTRA[sym]))? as usize;
        let d = bits.decode(dist)?;
        if d >= 30 {
            return Err("invalid distance code");
        }
        let back = usize::from(DIST_BASE[d]) + bits.bits(u32::from(DIST_EXTRA[d]))? as usize;
        if back > out.len() {
            return Err("distance too far back");
        }
        if out.len() + len > limit {
            return Err("too large");
        }
        let start = out.len() - back;
        for k in 0..len {
            out.push(out[start + k]);
        }
    }
}

/// gzip of `data` in stored (uncompressed) deflate blocks, for tests.
#[cfg(test)]
pub(crate) fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![data] } else { data.chunks(65535).collect() };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend(crc32fast::hash(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn inflates_stored_fixed_and_dynamic_blocks() {
        let text = b"Hello, hello, hello! The quick brown fox jumps over the lazy dog. ".repeat(40);
        assert_eq!(gunzip(&gzip_stored(&text), usize::MAX).unwrap(), text);
        assert_eq!(gunzip(&gzip_stored(b""), usize::MAX).unwrap(), b"");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(gunzip(&gzip_stored(&big), usize::MAX).unwrap(), big);
        // Python's gzip.compress(b"abcabcabc hello hello", mtime=0): fixed Huffman codes.
        let fixed = unhex(FIXED);
        assert_eq!(gunzip(&fixed, usize::MAX).unwrap(), b"abcabcabc hello hello");
        // Python's GzipFile(filename="x.json") over 1321 bytes of random words: a dynamic block,
        // and a file name (FNAME) in the header.
        let dynamic = gunzip(&unhex(DYNAMIC), usize::MAX).unwrap();
        assert_eq!(dynamic.len(), 1321);
        assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&dynamic)), DYNAMIC_SHA256);
        assert!(gunzip(&unhex(DYNAMIC), 1000).is_err(), "over the limit");
        let mut corrupt = gzip_stored(&text);
        let n = corrupt.len();
        corrupt[n - 5] ^= 1;
        assert!(gunzip(&corrupt, usize::MAX).is_err(), "length mismatch");
        corrupt[n - 5] ^= 1;
        corrupt[30] ^= 1;
        assert!(gunzip(&corrupt, usize::MAX).is_err(), "checksum mismatch");
        assert!(gunzip(b"not gzip at all, no", usize::MAX).is_err());
        assert!(gunzip(&fixed[..fixed.len() - 12], usize::MAX).is_err(), "truncated");
    }

    /// A sample of the installed botocore's gzipped models (every 8th file) inflates, trailer
    /// checked, to JSON (skipped without botocore).
    #[test]
    fn inflates_botocore_models() {
        let Ok(models) = crate::Models::discover() else {
            eprintln!("no botocore models installed: skipped");
            return;
        };
        let mut files = Vec::new();
        for service in models.services() {
            for version in models.versions(&service) {
                let dir = models.dir().join(&service).join(&version);
                for entry in std::fs::read_dir(dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.extension().is_some_and(|e| e == "gz") {
                        files.push(path);
                    }
                }
            }
        }
        files.sort();
        assert!(files.len() > 100, "only {} gzipped files", files.len());
        for path in files.iter().step_by(8) {
            let json =
                gunzip(&std::fs::read(path).unwrap(), usize::MAX).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(serde_json::from_slice::<serde_json::Value>(&json).is_ok(), "{}", path.display());
        }
    }

    pub(super) const FIXED: &str = "1f8b08000000000002034b4c4a4e0423858cd49c9c7c0809007e9bfa7815000000";
    pub(super) const DYNAMIC: &str = concat!(
        "1f8b08080000000002ff782e6a736f6e006d53cb6ac4300cbcfb2b8ccffe02df4ae9a1f7d2bb4b43bbb00b854d4fc6ff5e45",
        "334aa46d08c4b29e63697459975bfeeab75bcff7b5afbff7dc72bffe7cf7fcb1ac3da73c205c36bf49d3c89fcb5594ce91c1",
        "3c54051f158719109124937369f259ea295ff0f595864402ebda3fae8b394245a093b6cdb7d144c31405d2e96b88ac9ad900",
        "c0e5e9f9edf5fd452276ec0561344c1354899a882cac5a45723d3880f9c06a3718d997d834a463795c18143ad510562470ca",
        "3fc19f5538bf1d7c319163d6031868a89610d9ab7cb0376d648ac0eb411f2d8520ff5200e70369f0232ecc64cd8336f22a05",
        "d467ad18214b3a02c7235005d5ec866a8e2e10f1379a7a2eb2ec46654f49fce112d66ad808a66f4755645357a03e662e4ae1",
        "7210e1f4f0fd6c67bbe3368d6eee9961afddb867dcaaff6e8929676469630718e037e660f63ec6d30309dc1054acc6e440d2",
        "240a03eadf3c6293cd58761a34e3fc36015b4c17a362d9b38dfc07e979685129050000",
    );
    const DYNAMIC_SHA256: &str = "e75c90d1325446ffa0601d27e7424dd14fd2b2ab2b796554dd9a4bcd06194733";
}

/// Property tests: models are read from disk, but a damaged file must still give an error, never
/// a panic or more output than the limit.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
    }

    /// A gzip header, then any bytes (the deflate stream and trailer).
    fn header_then(rest: Vec<u8>) -> Vec<u8> {
        [vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255], rest].concat()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_streams_never_panic(rest in vec(any::<u8>(), 0..1024), limit in 0usize..4096) {
            if let Ok(out) = gunzip(&header_then(rest), limit) {
                prop_assert!(out.len() <= limit);
            }
        }

        #[test]
        fn damaged_real_streams_never_panic(
            flips in vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
            cut in any::<prop::sample::Index>(),
            limit in 0usize..2048,
        ) {
            // the fixed-code and dynamic-code samples of the unit tests, bits flipped and cut short
            for sample in [tests::FIXED, tests::DYNAMIC] {
                let mut data = tests::unhex(sample);
                for (at, mask) in &flips {
                    let i = at.index(data.len());
                    data[i] ^= mask;
                }
                let keep = data.len() - cut.index(data.len() / 4 + 1);
                if let Ok(out) = gunzip(&data[..keep], limit) {
                    prop_assert!(out.len() <= limit);
                }
            }
        }

        #[test]
        fn stored_blocks_read_back(data in vec(any::<u8>(), 0..70_000)) {
            prop_assert_eq!(gunzip(&gzip_stored(&data), usize::MAX).unwrap(), data);
        }
    }
}
