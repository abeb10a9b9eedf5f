//! Recursive-descent SOQL parser covering the subset the app sends (see the module docs).

use super::ast::{Cond, FieldPath, Literal, OrderItem, Query, SelectItem};
use super::lexer::{lex, Pos, Tok};

/// A syntax error: Salesforce reports these as MALFORMED_QUERY.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE",
    "ASC", "DESC", "NULLS", "GROUP", "HAVING", "WITH",
];

pub fn parse(src: &str) -> Result<Query, ParseError> {
    let toks = lex(src).map_err(|e| ParseError {
        pos: e.pos,
        message: e.message,
    })?;
    let mut p = Parser { toks, i: 0 };
    let q = p.query()?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.unexpected());
    }
    Ok(q)
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }

    fn pos(&self) -> Pos {
        self.toks[self.i].1
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].0.clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self) -> ParseError {
        ParseError {
            pos: self.pos(),
            message: format!("unexpected token: '{}'", self.peek().describe()),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn kw_at(&self, offset: usize, kw: &str) -> bool {
        matches!(self.toks.get(self.i + offset), Some((Tok::Ident(s), _)) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<(String, Pos), ParseError> {
        let pos = self.pos();
        match self.peek().clone() {
            Tok::Ident(s) if !RESERVED.iter().any(|k| k.eq_ignore_ascii_case(&s)) => {
                self.bump();
                Ok((s, pos))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<FieldPath, ParseError> {
        let (first, pos) = self.ident()?;
        let mut parts = vec![first];
        while *self.peek() == Tok::Dot {
            self.bump();
            parts.push(self.ident()?.0);
        }
        Ok(FieldPath { parts, pos })
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        self.expect_kw("SELECT")?;
        let mut select = Vec::new();
        loop {
            if *self.peek() == Tok::LParen {
                self.bump();
                let sub = self.query()?;
                self.expect(Tok::RParen)?;
                select.push(SelectItem::Subquery(Box::new(sub)));
            } else if self.is_kw("COUNT")
                && self.toks.get(self.i + 1).map(|t| &t.0) == Some(&Tok::LParen)
            {
                self.bump();
                self.bump();
                self.expect(Tok::RParen)?;
                select.push(SelectItem::CountAll);
            } else {
                select.push(SelectItem::Field(self.path()?));
            }
            if *self.peek() == Tok::Comma {
                self.bump();
            } else {
                break;
            }
        }
        self.expect_kw("FROM")?;
        let (from, from_pos) = self.ident()?;
        let mut q = Query {
            select,
            from,
            from_pos,
            filter: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
        };
        if self.eat_kw("WHERE") {
            q.filter = Some(self.condition()?);
        }
        if self.is_kw("ORDER") {
            self.bump();
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                let nulls_first = if self.eat_kw("NULLS") {
                    if self.eat_kw("FIRST") {
                        Some(true)
                    } else if self.eat_kw("LAST") {
                        Some(false)
                    } else {
                        return Err(self.unexpected());
                    }
                } else {
                    None
                };
                q.order_by.push(OrderItem {
                    path,
                    desc,
                    nulls_first,
                });
                if *self.peek() == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        if self.eat_kw("LIMIT") {
            q.limit = Some(self.integer()?);
        }
        if self.eat_kw("OFFSET") {
            q.offset = Some(self.integer()?);
        }
        Ok(q)
    }

    fn integer(&mut self) -> Result<u64, ParseError> {
        match self.peek().clone() {
            Tok::Num(n) => match n.parse::<u64>() {
                Ok(v) => {
                    self.bump();
                    Ok(v)
                }
                Err(_) => Err(self.unexpected()),
            },
            _ => Err(self.unexpected()),
        }
    }

    /// A chain of conditions joined by one kind of connector: SOQL refuses to mix AND and OR
    /// without parentheses ("unexpected token: 'OR'").
    fn condition(&mut self) -> Result<Cond, ParseError> {
        let first = self.unary()?;
        let mut items = vec![first];
        let mut connector: Option<&'static str> = None;
        loop {
            let this = if self.is_kw("AND") {
                "AND"
            } else if self.is_kw("OR") {
                "OR"
            } else {
                break;
            };
            if connector.is_some_and(|c| c != this) {
                return Err(self.unexpected());
            }
            connector = Some(this);
            self.bump();
            items.push(self.unary()?);
        }
        Ok(match connector {
            None => items.pop().expect("one condition"),
            Some("AND") => Cond::And(items),
            Some(_) => Cond::Or(items),
        })
    }

    fn unary(&mut self) -> Result<Cond, ParseError> {
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if *self.peek() == Tok::LParen {
            self.bump();
            let c = self.condition()?;
            self.expect(Tok::RParen)?;
            return Ok(c);
        }
        let path = self.path()?;
        if self.eat_kw("LIKE") {
            let value = self.literal()?;
            if !matches!(value, Literal::Str(..)) {
                return Err(ParseError {
                    pos: self.toks[self.i.saturating_sub(1)].1,
                    message: "LIKE operator only valid on string fields".into(),
                });
            }
            return Ok(Cond::Like { path, value });
        }
        let negated = self.is_kw("NOT") && self.kw_at(1, "IN");
        if negated {
            self.bump();
        }
        if self.eat_kw("IN") {
            self.expect(Tok::LParen)?;
            if self.is_kw("SELECT") {
                let query = self.query()?;
                self.expect(Tok::RParen)?;
                return Ok(Cond::SemiJoin {
                    path,
                    negated,
                    query: Box::new(query),
                });
            }
            let mut values = vec![self.literal()?];
            while *self.peek() == Tok::Comma {
                self.bump();
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Cond::In {
                path,
                negated,
                values,
            });
        }
        match self.peek().clone() {
            Tok::Op(op) => {
                self.bump();
                let value = self.literal()?;
                Ok(Cond::Cmp { path, op, value })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let lit = match self.peek().clone() {
            Tok::Str(v, p) => Literal::Str(v, p),
            Tok::Num(n) => Literal::Num(n),
            Tok::Date(d) => Literal::Date(d),
            Tok::DateTime(d) => Literal::DateTime(d),
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Ident(s)
                if super::ast::date_range(&s, chrono::Utc::now().date_naive()).is_some() =>
            {
                Literal::DateRange(s.to_ascii_uppercase())
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(lit)
    }
}
