//! Borsh, the little of it this program needs: fixed-size little-endian fields and `Vec<T>` as a u32 count
//! followed by the items. Reading never panics; running off the end is `InstructionDidNotDeserialize` for
//! instruction data and `AccountDidNotDeserialize` for account data, as in Anchor.

use crate::error::AnchorLangError;

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    on_short: AnchorLangError,
}

impl<'a> Reader<'a> {
    pub const fn new(data: &'a [u8], on_short: AnchorLangError) -> Self {
        Self { data, pos: 0, on_short }
    }

    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], AnchorLangError> {
        let end = self.pos.checked_add(len).ok_or(self.on_short)?;
        let out = self.data.get(self.pos..end).ok_or(self.on_short)?;
        self.pos = end;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], AnchorLangError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, AnchorLangError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, AnchorLangError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, AnchorLangError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, AnchorLangError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, AnchorLangError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A `Vec<u64>` left in place: its raw bytes and count, read lazily with [`u64_at`].
    pub fn vec_u64(&mut self, max_len: usize) -> Result<(&'a [u8], usize), AnchorLangError> {
        let len = self.u32()? as usize;
        if len > max_len {
            return Err(self.on_short);
        }
        Ok((self.bytes(len * 8)?, len))
    }

    /// Trailing bytes mean the caller and the program disagree on the layout: refuse rather than guess.
    pub fn finish(&self) -> Result<(), AnchorLangError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(self.on_short)
        }
    }
}

/// The `index`th u64 of a slice of little-endian u64s; the caller keeps `index` in bounds.
pub fn u64_at(raw: &[u8], index: usize) -> u64 {
    let mut out = [0u8; 8];
    out.copy_from_slice(&raw[index * 8..index * 8 + 8]);
    u64::from_le_bytes(out)
}

/// Writes into a fixed buffer; the buffers are sized by the layouts' constant lengths, so running out of room is
/// a programming error reported as `AccountDidNotSerialize`.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn bytes(&mut self, data: &[u8]) -> Result<(), AnchorLangError> {
        let end = self.pos + data.len();
        self.buf.get_mut(self.pos..end).ok_or(AnchorLangError::AccountDidNotSerialize)?.copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    pub fn u8(&mut self, v: u8) -> Result<(), AnchorLangError> {
        self.bytes(&[v])
    }

    pub fn u16(&mut self, v: u16) -> Result<(), AnchorLangError> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u32(&mut self, v: u32) -> Result<(), AnchorLangError> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> Result<(), AnchorLangError> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn i64(&mut self, v: i64) -> Result<(), AnchorLangError> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.u8(7).unwrap();
        w.u16(513).unwrap();
        w.u64(u64::MAX - 1).unwrap();
        w.i64(-5).unwrap();
        w.u32(2).unwrap();
        w.u64(10).unwrap();
        w.u64(20).unwrap();
        let len = w.len();
        let mut r = Reader::new(&buf[..len], AnchorLangError::InstructionDidNotDeserialize);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u16().unwrap(), 513);
        assert_eq!(r.u64().unwrap(), u64::MAX - 1);
        assert_eq!(r.i64().unwrap(), -5);
        let (raw, n) = r.vec_u64(16).unwrap();
        assert_eq!((n, u64_at(raw, 0), u64_at(raw, 1)), (2, 10, 20));
        r.finish().unwrap();
    }

    #[test]
    fn short_long_and_oversized_input_are_refused() {
        let data = [1u8, 2, 3];
        let mut r = Reader::new(&data, AnchorLangError::InstructionDidNotDeserialize);
        assert_eq!(r.u64(), Err(AnchorLangError::InstructionDidNotDeserialize));
        let mut r = Reader::new(&data, AnchorLangError::InstructionDidNotDeserialize);
        r.u8().unwrap();
        assert!(r.finish().is_err());
        let vec = [3u8, 0, 0, 0];
        let mut r = Reader::new(&vec, AnchorLangError::InstructionDidNotDeserialize);
        assert!(r.vec_u64(2).is_err());
        let mut w_buf = [0u8; 2];
        assert_eq!(Writer::new(&mut w_buf).u32(1), Err(AnchorLangError::AccountDidNotSerialize));
    }
}
