//! The parsed form of an expression, and what can be read off it without
//! evaluating: context references and function calls.

use crate::lexer::is_identifier;
use crate::number::format_number;
use crate::value::Value;

/// A parsed expression. Build one with [`crate::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// `None` for the empty expression, whose value is null.
    pub(crate) root: Option<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Null, a boolean, a number or a string.
    Literal {
        value: Value,
        offset: usize,
    },
    /// A named context (`github`), as written.
    Context {
        name: String,
        offset: usize,
    },
    /// `object.name`, `object[index]`, `object.*`, `object[*]`.
    Index {
        object: Box<Node>,
        index: Index,
    },
    Not {
        operand: Box<Node>,
        offset: usize,
    },
    /// A left-to-right chain of operators of one precedence level
    /// (`a < b <= c`, `a == b != c`), kept flat so that long chains do not
    /// nest.
    Chain {
        first: Box<Node>,
        rest: Vec<(BinaryOp, Node)>,
    },
    /// `a && b && c` or `a || b || c`.
    Logical {
        op: LogicalOp,
        args: Vec<Node>,
    },
    Group {
        inner: Box<Node>,
        offset: usize,
    },
    Call {
        func: Function,
        /// As written.
        name: String,
        args: Vec<Node>,
        offset: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Index {
    Star,
    /// `.name`
    Member(String),
    /// `[expr]`
    Expr(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicalOp {
    And,
    Or,
}

/// The functions GitHub knows, with their argument counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Contains,
    StartsWith,
    EndsWith,
    Format,
    Join,
    ToJson,
    FromJson,
    HashFiles,
    Case,
    Success,
    Failure,
    Always,
    Cancelled,
}

impl Function {
    pub(crate) const ALL: [Function; 13] = [
        Function::Contains,
        Function::StartsWith,
        Function::EndsWith,
        Function::Format,
        Function::Join,
        Function::ToJson,
        Function::FromJson,
        Function::HashFiles,
        Function::Case,
        Function::Success,
        Function::Failure,
        Function::Always,
        Function::Cancelled,
    ];

    /// As GitHub's documentation spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Function::Contains => "contains",
            Function::StartsWith => "startsWith",
            Function::EndsWith => "endsWith",
            Function::Format => "format",
            Function::Join => "join",
            Function::ToJson => "toJSON",
            Function::FromJson => "fromJSON",
            Function::HashFiles => "hashFiles",
            Function::Case => "case",
            Function::Success => "success",
            Function::Failure => "failure",
            Function::Always => "always",
            Function::Cancelled => "cancelled",
        }
    }

    pub(crate) fn lookup(name: &str) -> Option<Function> {
        Function::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Fewest and most arguments.
    pub(crate) fn arity(self) -> (usize, usize) {
        match self {
            Function::Contains | Function::StartsWith | Function::EndsWith => (2, 2),
            Function::Format => (1, 255),
            Function::Join => (1, 2),
            Function::ToJson | Function::FromJson => (1, 1),
            Function::HashFiles => (1, 255),
            Function::Case => (3, usize::MAX),
            Function::Success | Function::Failure | Function::Always | Function::Cancelled => {
                (0, 0)
            }
        }
    }

    pub(crate) fn is_status(self) -> bool {
        matches!(
            self,
            Function::Success | Function::Failure | Function::Always | Function::Cancelled
        )
    }

    /// Always gives a boolean, whatever its arguments.
    fn is_boolean(self) -> bool {
        self.is_status()
            || matches!(
                self,
                Function::Contains | Function::StartsWith | Function::EndsWith
            )
    }
}

/// A context reference: the path of literal member and index accesses from
/// a named context (`github.event.pull_request.title`, also when written
/// `github.event['pull_request'].title`), and the character offset of the
/// context name in the expression.
///
/// The path is itself an expression: names that are not identifiers are
/// written `['like this']`, numeric indexes `[0]`, wildcards `.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: String,
    pub offset: usize,
}

impl Expr {
    /// Every context reference, in source order. A reference stops at the
    /// first index that is not a literal: `matrix[github.x].y` gives
    /// `matrix` and `github.x`.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            collect_references(root, &mut out);
        }
        out
    }

    /// Every function call, in source order: the lowercase name and the
    /// character offset of the name.
    pub fn functions(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            root.walk(&mut |node| {
                if let Node::Call { name, offset, .. } = node {
                    out.push((name.to_ascii_lowercase(), *offset));
                }
            });
        }
        out
    }

    /// Whether `success()`, `failure()`, `always()` or `cancelled()` is
    /// called anywhere (an `if:` without one gets an implicit `success() &&`).
    pub fn uses_status_function(&self) -> bool {
        let mut found = false;
        if let Some(root) = &self.root {
            root.walk(&mut |node| {
                if let Node::Call { func, .. } = node {
                    found |= func.is_status();
                }
            });
        }
        found
    }
}

impl Node {
    pub(crate) fn offset(&self) -> usize {
        match self {
            Node::Literal { offset, .. }
            | Node::Context { offset, .. }
            | Node::Not { offset, .. }
            | Node::Group { offset, .. }
            | Node::Call { offset, .. } => *offset,
            Node::Index { object, .. } => object.offset(),
            Node::Chain { first, .. } => first.offset(),
            Node::Logical { args, .. } => args.first().map(Node::offset).unwrap_or(0),
        }
    }

    /// Visits this node and every node below it, in source order.
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Node)) {
        f(self);
        match self {
            Node::Literal { .. } | Node::Context { .. } => {}
            Node::Index { object, index, .. } => {
                object.walk(f);
                if let Index::Expr(e) = index {
                    e.walk(f);
                }
            }
            Node::Not { operand, .. } => operand.walk(f),
            Node::Chain { first, rest } => {
                first.walk(f);
                for (_, n) in rest {
                    n.walk(f);
                }
            }
            Node::Logical { args, .. } | Node::Call { args, .. } => {
                for a in args {
                    a.walk(f);
                }
            }
            Node::Group { inner, .. } => inner.walk(f),
        }
    }

    /// The literal access path when this node is a context or a chain of
    /// literal accesses from one.
    pub(crate) fn reference_path(&self) -> Option<Reference> {
        match self {
            Node::Context { name, offset } => Some(Reference {
                path: name.clone(),
                offset: *offset,
            }),
            Node::Index { object, index, .. } => {
                let mut r = object.reference_path()?;
                match index {
                    Index::Star => r.path.push_str(".*"),
                    Index::Member(name) => push_key(&mut r.path, name),
                    Index::Expr(e) => match e.as_ref() {
                        Node::Literal {
                            value: Value::String(s),
                            ..
                        } => push_key(&mut r.path, s),
                        Node::Literal {
                            value: Value::Number(n),
                            ..
                        } => {
                            r.path.push('[');
                            r.path.push_str(&format_number(*n));
                            r.path.push(']');
                        }
                        Node::Literal { value, .. } => {
                            r.path.push('[');
                            r.path.push_str(match value {
                                Value::Bool(true) => "true",
                                Value::Bool(false) => "false",
                                _ => "null",
                            });
                            r.path.push(']');
                        }
                        _ => return None,
                    },
                }
                Some(r)
            }
            _ => None,
        }
    }

    /// Always evaluates to a boolean.
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Node::Literal { value, .. } => matches!(value, Value::Bool(_)),
            Node::Not { .. } => true,
            Node::Chain { rest, first } => !rest.is_empty() || first.is_boolean(),
            Node::Logical { args, .. } => args.iter().all(Node::is_boolean),
            Node::Group { inner, .. } => inner.is_boolean(),
            Node::Call { func, .. } => func.is_boolean(),
            Node::Context { .. } | Node::Index { .. } => false,
        }
    }
}

fn push_key(path: &mut String, key: &str) {
    if is_identifier(key) {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str("['");
        path.push_str(&key.replace('\'', "''"));
        path.push_str("']");
    }
}

fn collect_references(node: &Node, out: &mut Vec<Reference>) {
    if let Some(r) = node.reference_path() {
        out.push(r);
        return;
    }
    match node {
        Node::Literal { .. } => {}
        Node::Context { .. } => {}
        Node::Index { object, index, .. } => {
            collect_references(object, out);
            if let Index::Expr(e) = index {
                collect_references(e, out);
            }
        }
        Node::Not { operand, .. } => collect_references(operand, out),
        Node::Chain { first, rest } => {
            collect_references(first, out);
            for (_, n) in rest {
                collect_references(n, out);
            }
        }
        Node::Logical { args, .. } | Node::Call { args, .. } => {
            for a in args {
                collect_references(a, out);
            }
        }
        Node::Group { inner, .. } => collect_references(inner, out),
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::parse;

    fn refs(src: &str) -> Vec<(String, usize)> {
        parse(src)
            .unwrap()
            .references()
            .into_iter()
            .map(|r| (r.path, r.offset))
            .collect()
    }

    fn r(path: &str, offset: usize) -> (String, usize) {
        (path.to_string(), offset)
    }

    #[test]
    fn references_are_literal_paths() {
        assert_eq!(
            refs("github.event['pull_request'].title"),
            vec![r("github.event.pull_request.title", 0)]
        );
        assert_eq!(
            refs("contains(github.event.commits.*.message, 'x') || steps.a.outputs['my key'] == matrix[0]"),
            vec![
                r("github.event.commits.*.message", 9),
                r("steps.a.outputs['my key']", 49),
                r("matrix[0]", 78)
            ]
        );
        assert_eq!(
            refs("matrix[github.x].y"),
            vec![r("matrix", 0), r("github.x", 7)]
        );
        assert_eq!(refs("fromJSON(env.A).b"), vec![r("env.A", 9)]);
        assert_eq!(refs("Github.Ref"), vec![r("Github.Ref", 0)]);
        assert_eq!(refs("'a' == 'b'"), vec![]);
        assert_eq!(refs(""), vec![]);
        // A path reads back as the same access.
        for src in ["a['it''s'].b", "a[1.5]", "a[true]", "a.*.b", "a['0x']"] {
            let path = &refs(src)[0].0;
            assert_eq!(refs(path)[0].0, *path, "{src}");
        }
    }

    #[test]
    fn functions_and_status_calls() {
        let e = parse("always() || StartsWith(github.ref, format('{0}', 'x'))").unwrap();
        assert_eq!(
            e.functions(),
            vec![
                ("always".to_string(), 0),
                ("startswith".to_string(), 12),
                ("format".to_string(), 35)
            ]
        );
        assert!(e.uses_status_function());
        assert!(!parse("github.ref == 'x'").unwrap().uses_status_function());
        assert!(parse("!(failure())").unwrap().uses_status_function());
    }
}
