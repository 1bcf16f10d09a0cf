//! Characters to tokens, as GitHub's lexer cuts them: a token runs until a
//! boundary character, so `1 =2` fails on `=2` and `a@b` on `a@b` as a whole.

use crate::error::{at, Error};
use crate::number::parse_number;

/// GitHub refuses longer expressions.
pub const MAX_EXPRESSION_LENGTH: usize = 21_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Bang,
    BangEq,
    EqEq,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Star,
    Number(f64),
    String(String),
    Ident,
    True,
    False,
    Null,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token<'s> {
    pub kind: TokenKind,
    /// As written.
    pub text: &'s str,
    /// Character offset of the first character.
    pub offset: usize,
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token<'_>>, Error> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    if chars.len() > MAX_EXPRESSION_LENGTH {
        return Err(Error::lexing(
            MAX_EXPRESSION_LENGTH,
            format!(
                "expression is {} characters long; the maximum is {MAX_EXPRESSION_LENGTH}",
                chars.len()
            ),
        ));
    }
    let mut lexer = Lexer {
        src,
        chars: &chars,
        pos: 0,
        start: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

/// Positions count characters; `chars` also holds each one's byte offset,
/// to slice the text of tokens out of `src`.
struct Lexer<'s, 'c> {
    src: &'s str,
    chars: &'c [(usize, char)],
    pos: usize,
    start: usize,
    tokens: Vec<Token<'s>>,
}

impl<'s> Lexer<'s, '_> {
    fn char_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c)| c)
    }

    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.src.len(), |&(b, _)| b)
    }

    fn run(&mut self) -> Result<(), Error> {
        while self.pos < self.chars.len() {
            self.start = self.pos;
            let c = self.chars[self.pos].1;
            self.pos += 1;
            match c {
                '(' => self.push(TokenKind::LParen),
                ')' => self.push(TokenKind::RParen),
                '[' => self.push(TokenKind::LBracket),
                ']' => self.push(TokenKind::RBracket),
                ',' => self.push(TokenKind::Comma),
                '.' => {
                    // After something that can be dereferenced a dot is an
                    // operator; elsewhere it starts a number (`.5`).
                    if matches!(
                        self.previous(),
                        Some(
                            TokenKind::Ident
                                | TokenKind::RBracket
                                | TokenKind::RParen
                                | TokenKind::Star
                        )
                    ) {
                        self.push(TokenKind::Dot);
                    } else {
                        self.number()?;
                    }
                }
                '-' | '+' => self.number()?,
                '!' => {
                    let kind = if self.eat('=') {
                        TokenKind::BangEq
                    } else {
                        TokenKind::Bang
                    };
                    self.push(kind);
                }
                '=' => {
                    if self.eat('=') {
                        self.push(TokenKind::EqEq);
                    } else {
                        self.identifier()?;
                    }
                }
                '<' => {
                    let kind = if self.eat('=') {
                        TokenKind::Le
                    } else {
                        TokenKind::Lt
                    };
                    self.push(kind);
                }
                '>' => {
                    let kind = if self.eat('=') {
                        TokenKind::Ge
                    } else {
                        TokenKind::Gt
                    };
                    self.push(kind);
                }
                '&' => {
                    if self.eat('&') {
                        self.push(TokenKind::And);
                    } else {
                        self.identifier()?;
                    }
                }
                '|' => {
                    if self.eat('|') {
                        self.push(TokenKind::Or);
                    } else {
                        self.identifier()?;
                    }
                }
                '*' => self.push(TokenKind::Star),
                ' ' | '\t' | '\r' | '\n' => {}
                '\'' => self.string()?,
                c if c.is_ascii_digit() => self.number()?,
                _ => self.identifier()?,
            }
        }
        self.start = self.pos;
        self.push(TokenKind::Eof);
        Ok(())
    }

    fn previous(&self) -> Option<&TokenKind> {
        self.tokens.last().map(|t| &t.kind)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.char_at(self.pos) == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn text(&self) -> &'s str {
        &self.src[self.byte(self.start)..self.byte(self.pos)]
    }

    fn push(&mut self, kind: TokenKind) {
        self.tokens.push(Token {
            kind,
            text: self.text(),
            offset: self.start,
        });
    }

    fn unexpected(&self) -> Error {
        Error::lexing(
            self.start,
            format!("unexpected symbol `{}` {}", self.text(), at(self.start)),
        )
    }

    fn number(&mut self) -> Result<(), Error> {
        while let Some(c) = self.char_at(self.pos) {
            if is_boundary(c) && c != '.' {
                break;
            }
            self.pos += 1;
        }
        let value = parse_number(self.text());
        if value.is_nan() {
            return Err(self.unexpected());
        }
        self.push(TokenKind::Number(value));
        Ok(())
    }

    fn string(&mut self) -> Result<(), Error> {
        let mut value = String::new();
        loop {
            match self.char_at(self.pos) {
                None => {
                    return Err(Error::lexing(
                        self.start,
                        format!("unterminated string `{}` {}", self.text(), at(self.start)),
                    ))
                }
                Some('\'') if self.char_at(self.pos + 1) == Some('\'') => {
                    value.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        self.push(TokenKind::String(value));
        Ok(())
    }

    fn identifier(&mut self) -> Result<(), Error> {
        while let Some(c) = self.char_at(self.pos) {
            if is_boundary(c) {
                break;
            }
            self.pos += 1;
        }
        let text = self.text();
        // After a dot every word is a property name, even `true` or `NaN`.
        let kind = if self.previous() == Some(&TokenKind::Dot) {
            TokenKind::Ident
        } else {
            match text {
                "true" => TokenKind::True,
                "false" => TokenKind::False,
                "null" => TokenKind::Null,
                "NaN" => TokenKind::Number(f64::NAN),
                "Infinity" => TokenKind::Number(f64::INFINITY),
                _ => TokenKind::Ident,
            }
        };
        if !is_identifier(text) {
            return Err(self.unexpected());
        }
        self.push(kind);
        Ok(())
    }
}

fn is_boundary(c: char) -> bool {
    matches!(
        c,
        '(' | '[' | ')' | ']' | ',' | '.' | '!' | '>' | '<' | '=' | '&' | '|'
    ) || c.is_whitespace()
}

/// A letter or `_`, then letters, digits, `_` or `-` (ASCII only).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn kinds(src: &str) -> Vec<TokenKind> {
        lex(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_and_dots() {
        use TokenKind::*;
        assert_eq!(kinds(".5"), vec![Number(0.5), Eof]);
        assert_eq!(kinds("a.b"), vec![Ident, Dot, Ident, Eof]);
        assert_eq!(kinds("a.*.b"), vec![Ident, Dot, Star, Dot, Ident, Eof]);
        assert_eq!(kinds("-Infinity"), vec![Number(f64::NEG_INFINITY), Eof]);
        assert_eq!(kinds("a.true"), vec![Ident, Dot, Ident, Eof]);
        assert_eq!(kinds("1 -1"), vec![Number(1.0), Number(-1.0), Eof]);
    }

    #[test]
    fn strings_unescape_every_doubled_quote() {
        assert_eq!(
            kinds("'a''b''c'"),
            vec![TokenKind::String("a'b'c".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("'}}'"),
            vec![TokenKind::String("}}".into()), TokenKind::Eof]
        );
    }

    #[test]
    fn errors_name_the_whole_symbol() {
        for (src, symbol, offset) in [
            ("1 =2 =3", "=2", 2),
            ("1 @abc 2", "@abc", 2),
            ("-0xFF", "-0xFF", 0),
            ("..github/workflow.md", "..github/workflow.md", 0),
            ("github/workflow.md", "github/workflow", 0),
            ("😊 x", "😊", 0),
        ] {
            let e = lex(src).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Lexing, "{src}");
            assert_eq!(e.offset, offset, "{src}");
            assert!(
                e.message.contains(&format!("`{symbol}`")),
                "{src}: {}",
                e.message
            );
        }
        let e = lex("'foo").unwrap_err();
        assert!(
            e.message.starts_with("unterminated string"),
            "{}",
            e.message
        );
    }

    #[test]
    fn length_limit() {
        assert!(lex(&"1".repeat(MAX_EXPRESSION_LENGTH)).is_ok());
        let e = lex(&"1".repeat(MAX_EXPRESSION_LENGTH + 1)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Lexing);
    }
}
