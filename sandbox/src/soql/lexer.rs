//! SOQL tokens. String literals are decoded here, with Salesforce's exact escape rules, so that an
//! escaped quote can never end a literal early (the injection tests depend on this).

use chrono::{DateTime, FixedOffset, NaiveDate};

/// 1-based row and column of a token, as Salesforce reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub row: usize,
    pub col: usize,
}

/// One element of a LIKE pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum Pat {
    Char(char),
    AnyOne,
    AnyMany,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    /// Decoded value plus its LIKE reading (`%`/`_` wildcards unless escaped).
    Str(String, Vec<Pat>),
    Num(String),
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
    Comma,
    LParen,
    RParen,
    Dot,
    Op(&'static str),
    Eof,
}

impl Tok {
    /// The token as Salesforce quotes it in "unexpected token" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Num(s) => s.clone(),
            Tok::Str(s, _) => s.clone(),
            Tok::Date(d) => d.to_string(),
            Tok::DateTime(d) => d.to_rfc3339(),
            Tok::Comma => ",".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Dot => ".".into(),
            Tok::Op(o) => (*o).into(),
            Tok::Eof => "<EOF>".into(),
        }
    }
}

/// A lexing failure: position and message (turned into MALFORMED_QUERY by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    pub pos: Pos,
    pub message: String,
}

/// Reads the four hex digits after `\u` (and a low surrogate's `\uXXXX` after a high one).
fn unicode_escape(chars: &[char], i: &mut usize) -> Option<char> {
    let hex = |at: usize| -> Option<u32> {
        let s: String = chars.get(at..at + 4)?.iter().collect();
        s.chars()
            .all(|c| c.is_ascii_hexdigit())
            .then(|| u32::from_str_radix(&s, 16).ok())
            .flatten()
    };
    let hi = hex(*i)?;
    *i += 4;
    if (0xD800..0xDC00).contains(&hi) {
        if chars.get(*i) != Some(&'\\') || chars.get(*i + 1) != Some(&'u') {
            return None;
        }
        let lo = hex(*i + 2)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        *i += 6;
        return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
    }
    char::from_u32(hi)
}

pub fn lex(src: &str) -> Result<Vec<(Tok, Pos)>, LexError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut row, mut col) = (0usize, 1usize, 1usize);
    let advance = |i: &mut usize, row: &mut usize, col: &mut usize, c: char| {
        *i += 1;
        if c == '\n' {
            *row += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { row, col };
        if c.is_whitespace() {
            advance(&mut i, &mut row, &mut col, c);
            continue;
        }
        match c {
            ',' | '(' | ')' | '.' => {
                out.push((
                    match c {
                        ',' => Tok::Comma,
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        _ => Tok::Dot,
                    },
                    pos,
                ));
                advance(&mut i, &mut row, &mut col, c);
            }
            '=' => {
                out.push((Tok::Op("="), pos));
                advance(&mut i, &mut row, &mut col, c);
            }
            '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let op = match (c, next) {
                    ('!', Some('=')) => "!=",
                    ('<', Some('>')) => "<>",
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    ('>', _) => ">",
                    _ => {
                        return Err(LexError {
                            pos,
                            message: format!("unexpected token: '{c}'"),
                        })
                    }
                };
                for _ in 0..op.len() {
                    {
                        let ch = chars[i];
                        advance(&mut i, &mut row, &mut col, ch);
                    }
                }
                out.push((Tok::Op(if op == "<>" { "!=" } else { op }), pos));
            }
            '\'' => {
                advance(&mut i, &mut row, &mut col, c);
                let mut value = String::new();
                let mut pat = Vec::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err(LexError {
                            pos,
                            message: "line 1:0 no viable alternative at character ' '".into(),
                        });
                    };
                    let here = Pos { row, col };
                    advance(&mut i, &mut row, &mut col, ch);
                    match ch {
                        '\'' => break,
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err(LexError {
                                    pos: here,
                                    message: "Invalid string literal: unterminated escape".into(),
                                });
                            };
                            advance(&mut i, &mut row, &mut col, e);
                            let decoded = match e {
                                '\'' => '\'',
                                '"' => '"',
                                '\\' => '\\',
                                'n' | 'N' => '\n',
                                'r' | 'R' => '\r',
                                't' | 'T' => '\t',
                                'b' | 'B' => '\u{8}',
                                'f' | 'F' => '\u{c}',
                                '_' => '_',
                                '%' => '%',
                                // `\uXXXX`: a UTF-16 code unit; a surrogate pair makes one
                                // character beyond the BMP.
                                'u' => {
                                    let before = i;
                                    let decoded = unicode_escape(&chars, &mut i);
                                    col += i - before;
                                    let Some(c) = decoded else {
                                        return Err(LexError {
                                            pos: here,
                                            message: "Invalid string literal '\\u'. Illegal character sequence '\\u' in string literal.".into(),
                                        });
                                    };
                                    c
                                }
                                other => {
                                    return Err(LexError {
                                        pos: here,
                                        message: format!(
                                            "Invalid string literal '\\{other}'. Illegal character sequence '\\{other}' in string literal."
                                        ),
                                    })
                                }
                            };
                            value.push(decoded);
                            pat.push(Pat::Char(decoded));
                        }
                        '%' => {
                            value.push('%');
                            pat.push(Pat::AnyMany);
                        }
                        '_' => {
                            value.push('_');
                            pat.push(Pat::AnyOne);
                        }
                        other => {
                            value.push(other);
                            pat.push(Pat::Char(other));
                        }
                    }
                }
                out.push((Tok::Str(value, pat), pos));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
                || (c == '+' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric()
                        || matches!(chars[j], '.' | ':' | '-' | '+'))
                {
                    // A sign only continues a literal inside a date-time offset or date.
                    if matches!(chars[j], '-' | '+')
                        && chars[start..j]
                            .iter()
                            .filter(|c| c.is_ascii_digit())
                            .count()
                            < 4
                    {
                        break;
                    }
                    j += 1;
                }
                let text: String = chars[start..j].iter().collect();
                let tok = classify_number(&text).ok_or_else(|| LexError {
                    pos,
                    message: format!("unexpected token: '{text}'"),
                })?;
                while i < j {
                    {
                        let ch = chars[i];
                        advance(&mut i, &mut row, &mut col, ch);
                    }
                }
                out.push((tok, pos));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    {
                        let ch = chars[i];
                        advance(&mut i, &mut row, &mut col, ch);
                    }
                }
                // A date literal with a count: `LAST_N_DAYS:30`.
                if chars.get(i) == Some(&':') && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                {
                    advance(&mut i, &mut row, &mut col, ':');
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        let ch = chars[i];
                        advance(&mut i, &mut row, &mut col, ch);
                    }
                }
                out.push((Tok::Ident(chars[start..i].iter().collect()), pos));
            }
            other => {
                return Err(LexError {
                    pos,
                    message: format!("unexpected token: '{other}'"),
                })
            }
        }
    }
    out.push((Tok::Eof, Pos { row, col }));
    Ok(out)
}

fn classify_number(text: &str) -> Option<Tok> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if text.len() == 10 {
            return Some(Tok::Date(d));
        }
    }
    if text.contains('T') {
        return parse_datetime(text).map(Tok::DateTime);
    }
    let numeric = text.trim_start_matches(['-', '+']);
    if !numeric.is_empty()
        && numeric.chars().all(|c| c.is_ascii_digit() || c == '.')
        && numeric.matches('.').count() <= 1
        && !numeric.ends_with('.')
    {
        return Some(Tok::Num(text.to_string()));
    }
    None
}

/// Parses SOQL / stored date-times: `2026-11-23T22:38:03Z`, `...+01:00`, `...000+0000`.
pub fn parse_datetime(text: &str) -> Option<DateTime<FixedOffset>> {
    let fixed = if let Some(stripped) = text.strip_suffix('Z') {
        format!("{stripped}+00:00")
    } else {
        text.to_string()
    };
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%:z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&fixed, fmt) {
            return Some(d);
        }
    }
    None
}
