//! Structural checks of a PyTorch `.pth` archive before candle's reader sees it.
//!
//! candle trusts the lengths written in the file: a pickle string that claims 4 GiB, or a
//! tensor whose shape claims more bytes than its storage holds, makes it allocate that much
//! before reading a byte (found by fuzzing, `tests/fuzz/regressions/pth/`). A checkpoint of a
//! few kilobytes must not be able to ask for gigabytes, so every length is compared with what
//! the file can actually hold first.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// State-dict pickles are kilobytes; anything near this is not a checkpoint.
const MAX_PICKLE_BYTES: u64 = 64 * 1024 * 1024;
/// The most a deflated zip entry can expand (deflate's ratio limit is about 1032:1).
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Sizes of the archive's entries: how many bytes each can really yield.
pub struct EntrySizes(HashMap<String, u64>);

impl EntrySizes {
    /// Whether `entry` can hold `bytes` bytes.
    pub fn holds(&self, entry: &str, bytes: u64) -> bool {
        self.0.get(entry).is_some_and(|&available| bytes <= available)
    }
}

/// Checks the archive and its pickles; returns the real capacity of every entry.
pub fn check(path: &Path) -> Result<EntrySizes, String> {
    let file_len = std::fs::metadata(path).map_err(|e| crate::error::describe_io(&e))?.len();
    let file = std::fs::File::open(path).map_err(|e| crate::error::describe_io(&e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| format!("not a valid zip archive: {e}"))?;
    let mut sizes = HashMap::new();
    let mut pickles = Vec::new();
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(|e| format!("unreadable zip entry: {e}"))?;
        let compressed = entry.compressed_size().min(file_len);
        let capacity = match entry.compression() {
            zip::CompressionMethod::Stored => compressed,
            _ => compressed.saturating_mul(MAX_DEFLATE_RATIO),
        }
        .min(entry.size());
        let name = entry.name().map_err(|e| format!("unreadable zip entry name: {e}"))?.into_owned();
        if name.ends_with("data.pkl") {
            pickles.push(index);
        }
        sizes.insert(name, capacity);
    }
    for index in pickles {
        let entry = zip.by_index(index).map_err(|e| format!("unreadable zip entry: {e}"))?;
        let name = entry.name().map_err(|e| format!("unreadable zip entry name: {e}"))?.into_owned();
        let mut pickle = Vec::new();
        entry.take(MAX_PICKLE_BYTES + 1).read_to_end(&mut pickle).map_err(|e| format!("{name}: {e}"))?;
        if pickle.len() as u64 > MAX_PICKLE_BYTES {
            return Err(format!("{name} is larger than {} MiB; not a state_dict", MAX_PICKLE_BYTES >> 20));
        }
        check_pickle_lengths(&pickle).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(EntrySizes(sizes))
}

/// Objects candle may build from one pickle: state dicts hold thousands, not millions.
const MAX_PICKLE_OBJECTS: u64 = 10_000_000;

/// Walks the opcodes candle understands and checks that every length-prefixed argument lies
/// inside the pickle, and that the objects it builds stay countable: candle deep-copies on
/// every memo put and get, so a few hundred bytes that keep doubling a tuple through the memo
/// would build billions of objects. The walk counts objects as candle would build them. An
/// opcode it does not know ends the walk: candle refuses those itself.
fn check_pickle_lengths(pickle: &[u8]) -> Result<(), String> {
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = at.checked_add(n).filter(|&end| end <= pickle.len()).ok_or_else(|| {
            format!("an argument at byte {} claims {n} bytes, past the end of the pickle ({} bytes)", *at, pickle.len())
        })?;
        let bytes = &pickle[*at..end];
        *at = end;
        Ok(bytes)
    };
    let u32_le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    // Object counts of the stack's entries, the marks' positions and the memo's entries.
    let mut stack: Vec<u64> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: HashMap<usize, u64> = HashMap::new();
    let mut built: u64 = 0;
    let count = |n: u64, built: &mut u64| -> Result<u64, String> {
        *built = built.saturating_add(n);
        if *built > MAX_PICKLE_OBJECTS {
            return Err(format!("its objects multiply past {MAX_PICKLE_OBJECTS} (memo copies); not a state_dict"));
        }
        Ok(n)
    };
    // Stack underflows are left to candle, which reports them.
    macro_rules! pop {
        () => {
            match stack.pop() {
                Some(n) => n,
                None => return Ok(()),
            }
        };
    }
    while at < pickle.len() {
        let opcode = pickle[at];
        at += 1;
        match opcode {
            b'.' => return Ok(()), // STOP
            0x80 => drop(take(&mut at, 1)?),
            b'K' => {
                take(&mut at, 1)?;
                stack.push(1);
            }
            b'M' => {
                take(&mut at, 2)?;
                stack.push(1);
            }
            b'J' => {
                take(&mut at, 4)?;
                stack.push(1);
            }
            b'G' => {
                take(&mut at, 8)?;
                stack.push(1);
            }
            b'X' => {
                let len = u32_le(take(&mut at, 4)?);
                take(&mut at, len)?;
                stack.push(1);
            }
            0x8a => {
                let len = take(&mut at, 1)?[0] as usize;
                if len > 8 {
                    return Err(format!("a LONG1 integer of {len} bytes at byte {at}; at most 8 are read"));
                }
                take(&mut at, len)?;
                stack.push(1);
            }
            b'c' => {
                for _ in 0..2 {
                    let line = pickle[at..].iter().position(|&b| b == b'\n').ok_or("a GLOBAL name is not terminated")?;
                    at += line + 1;
                }
                stack.push(1);
            }
            b'N' | 0x88 | 0x89 | b')' | b']' | b'}' => stack.push(1),
            b'q' | b'r' => {
                let id = if opcode == b'q' { take(&mut at, 1)?[0] as usize } else { u32_le(take(&mut at, 4)?) };
                let top = *stack.last().unwrap_or(&1);
                memo.insert(id, count(top, &mut built)?);
            }
            b'h' | b'j' => {
                let id = if opcode == b'h' { take(&mut at, 1)?[0] as usize } else { u32_le(take(&mut at, 4)?) };
                let Some(&n) = memo.get(&id) else { return Ok(()) };
                stack.push(count(n, &mut built)?);
            }
            b'(' => marks.push(stack.len()),
            b't' | b'd' | b'e' | b'u' => {
                let Some(mark) = marks.pop().filter(|&m| m <= stack.len()) else { return Ok(()) };
                let items: u64 = stack.drain(mark..).fold(0u64, |a, b| a.saturating_add(b));
                match opcode {
                    b't' | b'd' => stack.push(count(items.saturating_add(1), &mut built)?),
                    _ => {
                        let Some(top) = stack.last_mut() else { return Ok(()) };
                        *top = top.saturating_add(items);
                    }
                }
            }
            0x85 | 0x86 | 0x87 => {
                let mut items = 1u64;
                for _ in 0..(opcode - 0x84) {
                    items = items.saturating_add(pop!());
                }
                stack.push(count(items, &mut built)?);
            }
            b'a' | b'b' => {
                let item = pop!();
                let Some(top) = stack.last_mut() else { return Ok(()) };
                *top = top.saturating_add(item);
            }
            b's' => {
                let item = pop!().saturating_add(pop!());
                let Some(top) = stack.last_mut() else { return Ok(()) };
                *top = top.saturating_add(item);
            }
            b'R' | 0x81 => {
                let items = pop!().saturating_add(pop!()).saturating_add(1);
                stack.push(count(items, &mut built)?);
            }
            b'Q' => {
                let item = pop!();
                stack.push(count(item.saturating_add(1), &mut built)?);
            }
            _ => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_end_are_refused_and_real_pickles_pass() {
        // PROTO 2, BINUNICODE "ab", STOP.
        assert!(check_pickle_lengths(&[0x80, 2, b'X', 2, 0, 0, 0, b'a', b'b', b'.']).is_ok());
        // The fuzzer's case: a string that claims 4 GiB.
        let err = check_pickle_lengths(&[0x80, 2, b'X', 0xFF, 0xFF, 0xFF, 0xFF, b'a', b'.']).unwrap_err();
        assert!(err.contains("claims 4294967295 bytes"), "{err}");
        assert!(check_pickle_lengths(&[b'c', b'a', b'\n']).is_err(), "unterminated GLOBAL");

        // The reviewer's case: an empty list, then (memo, memo) tuples written back to the
        // memo, doubling 40 times: 200 bytes that would build 2^40 objects.
        let mut doubling = vec![0x80, 2, b']', b'q', 0];
        for _ in 0..40 {
            doubling.extend_from_slice(&[b'h', 0, b'h', 0, 0x86, b'q', 0]);
        }
        doubling.push(b'.');
        let err = check_pickle_lengths(&doubling).unwrap_err();
        assert!(err.contains("multiply"), "{err}");
        assert!(check_pickle_lengths(&[0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'.']).is_err(), "LONG1 over 8 bytes");
    }
}
