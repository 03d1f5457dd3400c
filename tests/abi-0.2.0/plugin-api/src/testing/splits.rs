//! Feed a parser a message the way the host does, in every split.

/// Calls `parse` with every prefix of `bytes` the host could hand over: the whole message
/// at once, one byte more at a time, and every split into two reads; `parse` answers
/// `None` for "need more" and `Some(answer)` otherwise, and the host stops at the first
/// answer. Returns the answer for the whole message after checking that every split gives
/// the same one (panics, naming the split, when one differs or never answers).
pub fn every_split<T: PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    mut parse: impl FnMut(&[u8]) -> Option<T>,
) -> T {
    let n = bytes.len();
    let mut feed =
        |ends: &[usize]| -> Option<T> { ends.iter().find_map(|&end| parse(&bytes[..end])) };
    let whole = feed(&[n]).expect("no answer after the whole message");
    let one_at_a_time = feed(&(1..=n).collect::<Vec<_>>()).expect("no answer one byte at a time");
    assert_eq!(one_at_a_time, whole, "one byte at a time");
    for split in 1..n {
        let two = feed(&[split, n]).expect("no answer in two reads");
        assert_eq!(two, whole, "split at {split}");
    }
    whole
}
