//! Tokens to a tree, by recursive descent over GitHub's precedence levels.
//! Nesting is counted the way GitHub counts it, so the depth limit bites at
//! the same expressions.

use crate::ast::{BinaryOp, Expr, Function, Index, LogicalOp, Node};
use crate::error::{at, Error};
use crate::format::validate_format_string;
use crate::lexer::{lex, Token, TokenKind};
use crate::value::Value;

/// GitHub refuses expressions nested deeper than this.
pub const MAX_DEPTH: usize = 50;

/// Parses an expression (the text inside `${{ }}`). Any identifier is
/// accepted as a context name; which contexts exist where is for the
/// caller to check (see [`Expr::references`]), or use
/// [`parse_with_contexts`].
pub fn parse(src: &str) -> Result<Expr, Error> {
    parse_inner(src, None)
}

/// Parses an expression in which only the named contexts exist (compared
/// ignoring case); any other name is a parsing error, as on GitHub.
pub fn parse_with_contexts(src: &str, contexts: &[&str]) -> Result<Expr, Error> {
    parse_inner(src, Some(contexts))
}

fn parse_inner(src: &str, contexts: Option<&[&str]>) -> Result<Expr, Error> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        contexts,
    };
    if p.at_end() {
        return Ok(Expr { root: None });
    }
    let root = p.expression()?;
    if !p.at_end() {
        return Err(p.unexpected(p.peek()));
    }
    Ok(Expr { root: Some(root) })
}

struct Parser<'a, 's> {
    tokens: Vec<Token<'s>>,
    pos: usize,
    depth: usize,
    contexts: Option<&'a [&'a str]>,
}

impl<'s> Parser<'_, 's> {
    fn peek(&self) -> &Token<'s> {
        // The token list always ends with Eof and `pos` never passes it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn previous(&self) -> &Token<'s> {
        &self.tokens[self.pos.saturating_sub(1)]
    }

    fn at_end(&self) -> bool {
        self.peek().kind == TokenKind::Eof
    }

    fn check(&self, kind: &TokenKind) -> bool {
        std::mem::discriminant(&self.peek().kind) == std::mem::discriminant(kind)
    }

    fn advance(&mut self) -> Token<'s> {
        if !self.at_end() {
            self.pos += 1;
        }
        self.previous().clone()
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if !self.at_end() && self.check(kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &TokenKind) -> Result<(), Error> {
        if self.eat(kind) {
            Ok(())
        } else {
            Err(self.unexpected(self.peek()))
        }
    }

    fn unexpected(&self, token: &Token<'_>) -> Error {
        if token.kind == TokenKind::Eof {
            return self.unexpected_end();
        }
        Error::parsing(
            token.offset,
            format!("unexpected symbol `{}` {}", token.text, at(token.offset)),
        )
    }

    /// GitHub points at the last token before the end.
    fn unexpected_end(&self) -> Error {
        let last = self.previous();
        if last.kind == TokenKind::Eof || self.pos == 0 {
            return Error::parsing(last.offset, "unexpected end of expression");
        }
        Error::parsing(
            last.offset,
            format!(
                "unexpected end of expression after `{}` {}",
                last.text,
                at(last.offset)
            ),
        )
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let offset = self.peek().offset;
            return Err(Error::parsing(
                offset,
                format!(
                    "expression nested deeper than the maximum depth of {MAX_DEPTH} {}",
                    at(offset)
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expression(&mut self) -> Result<Node, Error> {
        self.enter()?;
        let node = self.logical(LogicalOp::Or)?;
        self.leave();
        Ok(node)
    }

    fn logical(&mut self, op: LogicalOp) -> Result<Node, Error> {
        let token = match op {
            LogicalOp::Or => TokenKind::Or,
            LogicalOp::And => TokenKind::And,
        };
        let first = self.logical_operand(op)?;
        if !self.check(&token) {
            return Ok(first);
        }
        self.enter()?;
        let mut args = vec![first];
        while self.eat(&token) {
            args.push(self.logical_operand(op)?);
        }
        self.leave();
        Ok(Node::Logical { op, args })
    }

    /// `&&` binds tighter than `||`, `==` tighter than `&&`.
    fn logical_operand(&mut self, op: LogicalOp) -> Result<Node, Error> {
        match op {
            LogicalOp::Or => self.logical(LogicalOp::And),
            LogicalOp::And => self.equality(),
        }
    }

    fn equality(&mut self) -> Result<Node, Error> {
        let first = self.comparison()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek().kind {
                TokenKind::EqEq => BinaryOp::Eq,
                TokenKind::BangEq => BinaryOp::Ne,
                _ => break,
            };
            self.advance();
            rest.push((op, self.comparison()?));
        }
        Ok(chain(first, rest))
    }

    fn comparison(&mut self) -> Result<Node, Error> {
        let first = self.unary()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek().kind {
                TokenKind::Lt => BinaryOp::Lt,
                TokenKind::Le => BinaryOp::Le,
                TokenKind::Gt => BinaryOp::Gt,
                TokenKind::Ge => BinaryOp::Ge,
                _ => break,
            };
            self.advance();
            rest.push((op, self.unary()?));
        }
        Ok(chain(first, rest))
    }

    fn unary(&mut self) -> Result<Node, Error> {
        if self.eat(&TokenKind::Bang) {
            let offset = self.previous().offset;
            self.enter()?;
            let operand = self.unary()?;
            self.leave();
            return Ok(Node::Not {
                operand: Box::new(operand),
                offset,
            });
        }
        self.index()
    }

    fn index(&mut self) -> Result<Node, Error> {
        let mut node = self.call()?;
        if !matches!(
            node,
            Node::Group { .. } | Node::Call { .. } | Node::Context { .. }
        ) {
            return Ok(node);
        }
        // Each access counts one level until the whole chain is read. (An
        // error ends the parse, so the count need not be undone on one.)
        let mut entered = 0;
        loop {
            let index = if self.eat(&TokenKind::LBracket) {
                let index = if self.eat(&TokenKind::Star) {
                    Index::Star
                } else {
                    Index::Expr(Box::new(self.expression()?))
                };
                self.expect(&TokenKind::RBracket)?;
                self.enter()?;
                index
            } else if self.eat(&TokenKind::Dot) {
                self.enter()?;
                if self.eat(&TokenKind::Ident) {
                    Index::Member(self.previous().text.to_string())
                } else if self.eat(&TokenKind::Star) {
                    Index::Star
                } else {
                    return Err(self.unexpected(self.peek()));
                }
            } else {
                break;
            };
            entered += 1;
            node = Node::Index {
                object: Box::new(node),
                index,
            };
        }
        self.depth -= entered;
        Ok(node)
    }

    fn call(&mut self) -> Result<Node, Error> {
        if !self.check(&TokenKind::Ident) {
            return self.primary();
        }
        let ident = self.advance();
        if !self.eat(&TokenKind::LParen) {
            return self.context(ident);
        }
        let mut args = Vec::new();
        while !self.eat(&TokenKind::RParen) {
            args.push(self.expression()?);
            if !self.check(&TokenKind::RParen) {
                self.expect(&TokenKind::Comma)?;
            }
        }
        let func = check_call(&ident, &args)?;
        Ok(Node::Call {
            func,
            name: ident.text.to_string(),
            args,
            offset: ident.offset,
        })
    }

    fn context(&self, ident: Token<'_>) -> Result<Node, Error> {
        if let Some(allowed) = self.contexts {
            if !allowed.iter().any(|c| c.eq_ignore_ascii_case(ident.text)) {
                let mut message = format!("unknown context `{}` {}", ident.text, at(ident.offset));
                if let Some(s) = suggest(ident.text, allowed.iter().copied()) {
                    message.push_str(&format!("; did you mean `{s}`?"));
                }
                return Err(Error::parsing(ident.offset, message));
            }
        }
        Ok(Node::Context {
            name: ident.text.to_string(),
            offset: ident.offset,
        })
    }

    fn primary(&mut self) -> Result<Node, Error> {
        let offset = self.peek().offset;
        let value = match &mut self.tokens[self.pos].kind {
            TokenKind::False => Some(Value::Bool(false)),
            TokenKind::True => Some(Value::Bool(true)),
            TokenKind::Null => Some(Value::Null),
            TokenKind::Number(n) => Some(Value::Number(*n)),
            // Each token is read once: its value can move into the tree.
            TokenKind::String(s) => Some(Value::String(std::mem::take(s))),
            _ => None,
        };
        if let Some(value) = value {
            self.advance();
            return Ok(Node::Literal { value, offset });
        }
        match self.peek().kind {
            TokenKind::LParen => {
                self.advance();
                let inner = self.expression()?;
                if self.at_end() {
                    return Err(self.unexpected_end());
                }
                self.expect(&TokenKind::RParen)?;
                Ok(Node::Group {
                    inner: Box::new(inner),
                    offset,
                })
            }
            TokenKind::Eof => Err(self.unexpected_end()),
            _ => Err(self.unexpected(self.peek())),
        }
    }
}

fn chain(first: Node, rest: Vec<(BinaryOp, Node)>) -> Node {
    if rest.is_empty() {
        first
    } else {
        Node::Chain {
            first: Box::new(first),
            rest,
        }
    }
}

/// The function exists and gets a number of arguments it accepts; a
/// literal `format` string is well-formed and names arguments that exist.
fn check_call(ident: &Token<'_>, args: &[Node]) -> Result<Function, Error> {
    let name = ident.text;
    let where_ = || at(ident.offset);
    let Some(func) = Function::lookup(name) else {
        let mut message = format!("unknown function `{name}` {}", where_());
        if let Some(s) = suggest(name, Function::ALL.iter().map(|f| f.name())) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        return Err(Error::parsing(ident.offset, message));
    };
    let (min, max) = func.arity();
    let n = args.len();
    let expects = || {
        if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        }
    };
    if n < min {
        return Err(Error::parsing(
            ident.offset,
            format!(
                "too few arguments for `{name}` {}: it takes {}, got {n}",
                where_(),
                expects()
            ),
        ));
    }
    if n > max {
        return Err(Error::parsing(
            ident.offset,
            format!(
                "too many arguments for `{name}` {}: it takes {}, got {n}",
                where_(),
                expects()
            ),
        ));
    }
    if func == Function::Case && n % 2 == 0 {
        return Err(Error::parsing(
            ident.offset,
            format!(
                "`{name}` {} takes an odd number of arguments (predicate and value pairs, then a default), got {n}",
                where_()
            ),
        ));
    }
    if func == Function::Format {
        if let Some(Node::Literal {
            value: Value::String(fmt),
            offset,
        }) = args.first()
        {
            match validate_format_string(fmt) {
                None => {
                    return Err(Error::parsing(
                        *offset,
                        format!("invalid format string '{fmt}' {}", at(*offset)),
                    ))
                }
                Some(Some(max_index)) if max_index >= n - 1 => {
                    return Err(Error::parsing(
                        *offset,
                        format!(
                            "format string {} references {{{max_index}}} but only {} argument(s) follow it",
                            at(*offset),
                            n - 1
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(func)
}

/// The closest known name, when it is close enough to be a likely typo.
fn suggest<'n>(name: &str, known: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    let lower = name.to_ascii_lowercase();
    known
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d > 0 && *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn err(src: &str) -> Error {
        parse(src).expect_err(src)
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = err("1 < )");
        assert_eq!((e.kind, e.offset), (ErrorKind::Parsing, 4));
        assert_eq!(e.message, "unexpected symbol `)` at position 5");
        let e = err("1 <");
        assert_eq!(
            e.message,
            "unexpected end of expression after `<` at position 3"
        );
        let e = err("foo[1");
        assert!(
            e.message.starts_with("unexpected end of expression"),
            "{}",
            e.message
        );
        let e = err("startsWith('a')");
        assert_eq!(
            e.message,
            "too few arguments for `startsWith` at position 1: it takes 2, got 1"
        );
        let e = err("contans('a', 'b')");
        assert_eq!(
            e.message,
            "unknown function `contans` at position 1; did you mean `contains`?"
        );
        let e = parse_with_contexts("githb.sha", &["github", "env"]).unwrap_err();
        assert_eq!(
            e.message,
            "unknown context `githb` at position 1; did you mean `github`?"
        );
        let e = err("format('{0}{1}', 'a')");
        assert_eq!(e.kind, ErrorKind::Parsing);
        assert_eq!(e.offset, 7);
        let e = err("format('{0', 'a')");
        assert!(
            e.message.starts_with("invalid format string"),
            "{}",
            e.message
        );
        let e = err("case(true, 1, false, 2)");
        assert!(e.message.contains("odd number"), "{}", e.message);
    }

    #[test]
    fn literals_cannot_be_indexed() {
        assert_eq!(err("'abc'[0]").offset, 5);
        assert!(parse("('abc')[0]").is_ok());
    }

    #[test]
    fn depth_counts_like_github() {
        let ok = format!("{}true", "!".repeat(49));
        let too_deep = format!("{}true", "!".repeat(50));
        assert!(parse(&ok).is_ok());
        let e = err(&too_deep);
        assert!(e.message.contains("maximum depth of 50"), "{}", e.message);
    }

    #[test]
    fn long_comparison_chains_stay_flat() {
        let src = vec!["1"; 5000].join(" < ");
        let expr = parse(&src).unwrap();
        assert!(matches!(expr.root, Some(Node::Chain { ref rest, .. }) if rest.len() == 4999));
    }

    #[test]
    fn trailing_comma_in_arguments_is_accepted_like_github() {
        assert!(parse("format('a',)").is_ok());
        assert!(parse("format(,)").is_err());
    }
}
