//! Helpers for ordered byte-string keys, shared by every layer that iterates a key prefix.

use alloc::vec::Vec;

/// The smallest key greater than every key starting with `prefix`; `None` if there is none
/// (the prefix is empty or all `0xff`), meaning "to the end".
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;
    use alloc::vec;

    #[test]
    fn the_prefix_end_skips_trailing_ff_bytes() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}
