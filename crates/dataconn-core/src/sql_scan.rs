//! Stepping over what a database does not read as SQL code: quoted strings and names, line and
//! block comments, PostgreSQL's dollar quotes. Shared by the parameter lexer (`params.rs`) and
//! the read-only check (`read_only.rs`), so both skip the same text the same way.

/// The index after the quoted text that starts at `open` (its closing quote; a doubled quote
/// stays inside; a backslash escapes the next byte when `backslash_escapes`), or the end.
pub(crate) fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if backslash_escapes && b == b'\\' {
            i += 2;
        } else if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2; // doubled quote inside the literal
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The index after the line that holds `at` (a `--` or `#` comment).
pub(crate) fn skip_line(bytes: &[u8], at: usize) -> usize {
    bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| at + p + 1)
}

/// The index after the block comment that starts at `open`; `nested` when `/*` inside one
/// opens another (PostgreSQL).
pub(crate) fn skip_block_comment(bytes: &[u8], open: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' && (nested || depth == 0) {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Skip `$tag$ ... $tag$` when `open` starts a dollar quote (tag bytes are those `tag_byte`
/// accepts); otherwise step over the `$` (a `$1` placeholder, or a `$` inside a name).
pub(crate) fn skip_dollar_quote(bytes: &[u8], open: usize, tag_byte: fn(u8) -> bool) -> usize {
    if open > 0 && tag_byte(bytes[open - 1]) {
        return open + 1;
    }
    let tag_end = bytes[open + 1..]
        .iter()
        .position(|&b| !tag_byte(b))
        .map(|p| open + 1 + p);
    let Some(tag_end) = tag_end else {
        return open + 1;
    };
    let tag = &bytes[open..=tag_end];
    if bytes[tag_end] != b'$' || tag.get(1).is_some_and(u8::is_ascii_digit) {
        return open + 1;
    }
    let body = tag_end + 1;
    bytes[body..]
        .windows(tag.len())
        .position(|w| w == tag)
        .map_or(bytes.len(), |p| body + p + tag.len())
}
