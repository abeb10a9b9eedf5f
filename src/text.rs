//! Plain-text helpers shared by the flows.

/// Cuts at a character boundary, marking the cut with `…` (the result has
/// at most `max_chars` characters).
pub fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_characters_and_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("Zoë Łukasiewicz", 4), "Zoë…");
        assert_eq!(truncate("abc", 0), "…");
    }
}
