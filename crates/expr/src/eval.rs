//! Evaluation, full and partial (see `data.rs` for the values it works on).
//!
//! Partial evaluation carries values that are only known at run time as
//! `Unknown`, with what they depend on.

use crate::ast::{BinaryOp, Expr, Function, Index, LogicalOp, Node};
use crate::compare::{
    ends_with_ignore_case, equals, greater_than, less_than, starts_with_ignore_case,
};
use crate::contexts::{Contexts, Lookup, Partial, StatusFunction};
use crate::data::{memory_error, select, Data, Key, MAX_MEMORY_BYTES};
use crate::error::{at, Error};
use crate::functions::{affix, contains, format, from_json, join, to_json};
use crate::value::Value;

impl Expr {
    /// The expression's value. Fails with an evaluation error when it
    /// depends on something the contexts only know at run time
    /// ([`Lookup::Unknown`]).
    pub fn eval(&self, ctx: &dyn Contexts) -> Result<Value, Error> {
        match self.run(ctx, false)? {
            Outcome::Known(v) => Ok(v),
            Outcome::Unknown(deps) => {
                let offset = deps.first().map(|d| d.offset).unwrap_or(0);
                let names: Vec<String> = unique(deps)
                    .into_iter()
                    .map(|d| format!("`{}`", d.what))
                    .collect();
                Err(Error::evaluation(
                    offset,
                    format!(
                        "{} {} only known at run time",
                        names.join(", "),
                        if names.len() == 1 { "is" } else { "are" }
                    ),
                ))
            }
        }
    }

    /// Three-valued evaluation, for planning: what the contexts answer
    /// `Unknown` (and `hashFiles` when it cannot be computed) stays unknown.
    /// `false && x` is false and `true || x` true whatever `x`; so is
    /// `x && false` (`x || true`) when `x` is certainly a boolean, such as a
    /// comparison or a status function. Operators, functions and member
    /// accesses on an unknown are unknown. `depends_on` lists the context
    /// paths (`needs.build.outputs.tag`) and calls (`failure()`) involved.
    pub fn eval_partial(&self, ctx: &dyn Contexts) -> Result<Partial, Error> {
        Ok(match self.run(ctx, true)? {
            Outcome::Known(v) => Partial::Known(v),
            Outcome::Unknown(deps) => Partial::Unknown {
                depends_on: unique(deps).into_iter().map(|d| d.what).collect(),
            },
        })
    }

    fn run(&self, ctx: &dyn Contexts, partial: bool) -> Result<Outcome, Error> {
        let Some(root) = &self.root else {
            return Ok(Outcome::Known(Value::Null));
        };
        // Every context once, so that two reads of one context are the same
        // object.
        let mut roots: Vec<(String, Lookup<Value>)> = Vec::new();
        root.walk(&mut |node| {
            if let Node::Context { name, .. } = node {
                let name = name.to_ascii_lowercase();
                if !roots.iter().any(|(n, _)| *n == name) {
                    let lookup = ctx.context(&name);
                    roots.push((name, lookup));
                }
            }
        });
        let mut ev = Evaluator {
            roots: &roots,
            ctx,
            partial,
            live: 0,
        };
        Ok(match ev.eval(root)? {
            Res::Known(d) => Outcome::Known(d.into_value()),
            Res::Unknown(deps) => Outcome::Unknown(deps),
        })
    }
}

enum Outcome {
    Known(Value),
    Unknown(Vec<Dep>),
}

/// Something a value depends on: a context path or a call.
#[derive(Debug, Clone)]
struct Dep {
    what: String,
    offset: usize,
}

fn unique(deps: Vec<Dep>) -> Vec<Dep> {
    let mut out: Vec<Dep> = Vec::new();
    for d in deps {
        if !out.iter().any(|o| o.what == d.what) {
            out.push(d);
        }
    }
    out
}

enum Res<'a> {
    Known(Data<'a>),
    Unknown(Vec<Dep>),
}

impl Res<'_> {
    fn bytes(&self) -> usize {
        match self {
            Res::Known(d) => d.bytes(),
            Res::Unknown(_) => 0,
        }
    }
}

struct Evaluator<'a> {
    roots: &'a [(String, Lookup<Value>)],
    ctx: &'a dyn Contexts,
    partial: bool,
    /// Bytes of results currently held.
    live: usize,
}

impl<'a> Evaluator<'a> {
    fn eval(&mut self, node: &'a Node) -> Result<Res<'a>, Error> {
        let mark = self.live;
        let res = self.eval_node(node)?;
        // What the children produced is consumed; the result is held.
        self.live = mark.saturating_add(res.bytes());
        if self.live > MAX_MEMORY_BYTES {
            return Err(memory_error(node.offset()));
        }
        Ok(res)
    }

    fn eval_node(&mut self, node: &'a Node) -> Result<Res<'a>, Error> {
        match node {
            Node::Literal { value, .. } => Ok(Res::Known(Data::Ref(value))),
            Node::Context { name, offset } => {
                let lookup = self
                    .roots
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, l)| l);
                Ok(match lookup {
                    Some(Lookup::Known(v)) => Res::Known(Data::Ref(v)),
                    Some(Lookup::Unknown) => Res::Unknown(vec![Dep {
                        what: name.clone(),
                        offset: *offset,
                    }]),
                    Some(Lookup::Missing) | None => Res::Known(Data::null()),
                })
            }
            Node::Group { inner, .. } => self.eval(inner),
            Node::Not { operand, .. } => Ok(match self.eval(operand)? {
                Res::Known(d) => Res::Known(Data::Own(Value::Bool(!d.is_truthy()))),
                unknown => unknown,
            }),
            Node::Chain { first, rest } => self.chain(first, rest),
            Node::Logical { op, args } => self.logical(*op, args),
            Node::Index { object, index } => self.index(node, object, index),
            Node::Call {
                func, args, offset, ..
            } => self.call(*func, args, *offset),
        }
    }

    fn chain(&mut self, first: &'a Node, rest: &'a [(BinaryOp, Node)]) -> Result<Res<'a>, Error> {
        let mut acc = self.eval(first)?;
        for (op, node) in rest {
            let rhs = self.eval(node)?;
            acc = match (acc, rhs) {
                (Res::Known(l), Res::Known(r)) => {
                    let (l, r) = (l.operand(), r.operand());
                    let b = match op {
                        BinaryOp::Eq => equals(l, r),
                        BinaryOp::Ne => !equals(l, r),
                        BinaryOp::Lt => less_than(l, r),
                        BinaryOp::Le => equals(l, r) || less_than(l, r),
                        BinaryOp::Gt => greater_than(l, r),
                        BinaryOp::Ge => equals(l, r) || greater_than(l, r),
                    };
                    Res::Known(Data::Own(Value::Bool(b)))
                }
                (l, r) => Res::Unknown(merge([l, r])),
            };
        }
        Ok(acc)
    }

    /// `&&` and `||` give the operand that decided, left to right.
    fn logical(&mut self, op: LogicalOp, args: &'a [Node]) -> Result<Res<'a>, Error> {
        let decides = |d: &Data<'_>| match op {
            LogicalOp::And => !d.is_truthy(),
            LogicalOp::Or => d.is_truthy(),
        };
        let mut last: Option<Data<'a>> = None;
        // Unknown operands so far, and whether each is certainly a boolean.
        let mut unknown: Vec<Dep> = Vec::new();
        let mut unknown_all_boolean = true;
        for arg in args {
            if unknown.is_empty() {
                match self.eval(arg)? {
                    Res::Known(d) if decides(&d) => return Ok(Res::Known(d)),
                    Res::Known(d) => last = Some(d),
                    Res::Unknown(deps) => {
                        unknown = deps;
                        unknown_all_boolean = arg.is_boolean();
                    }
                }
                continue;
            }
            // Past an unknown operand this one may never be evaluated: its
            // errors only make the result unknown.
            match self.eval(arg) {
                Ok(Res::Known(d)) if decides(&d) => {
                    // Either an unknown operand decided (a boolean if all
                    // are, so then the same boolean) or this one did.
                    let certain = match (op, d.value()) {
                        (LogicalOp::And, Some(Value::Bool(false)))
                        | (LogicalOp::Or, Some(Value::Bool(true))) => unknown_all_boolean,
                        _ => false,
                    };
                    return Ok(if certain {
                        Res::Known(d)
                    } else {
                        Res::Unknown(unknown)
                    });
                }
                Ok(Res::Known(_)) => {}
                Ok(Res::Unknown(deps)) => {
                    unknown.extend(deps);
                    unknown_all_boolean &= arg.is_boolean();
                }
                Err(_) => return Ok(Res::Unknown(unknown)),
            }
        }
        if !unknown.is_empty() {
            return Ok(Res::Unknown(unknown));
        }
        Ok(Res::Known(last.unwrap_or_else(Data::null)))
    }

    fn index(
        &mut self,
        node: &'a Node,
        object: &'a Node,
        index: &'a Index,
    ) -> Result<Res<'a>, Error> {
        let obj = self.eval(object)?;
        let key = match index {
            Index::Star => Ok(Key::Star),
            Index::Member(name) => Ok(Key::Lookup {
                name: Some(name.clone()),
                position: None,
            }),
            Index::Expr(e) => match self.eval(e)? {
                Res::Known(d) => Ok(Key::of(&d)),
                Res::Unknown(deps) => Err(deps),
            },
        };
        match (obj, key) {
            (Res::Known(d), Ok(key)) => Ok(Res::Known(select(d, &key))),
            (Res::Unknown(deps), key) => {
                // An access path from an unknown context is what it depends on.
                let mut deps = match node.reference_path() {
                    Some(r) => vec![Dep {
                        what: r.path,
                        offset: r.offset,
                    }],
                    None => deps,
                };
                if let Err(more) = key {
                    deps.extend(more);
                }
                Ok(Res::Unknown(deps))
            }
            (Res::Known(_), Err(deps)) => Ok(Res::Unknown(deps)),
        }
    }

    fn call(&mut self, func: Function, args: &'a [Node], offset: usize) -> Result<Res<'a>, Error> {
        match func {
            Function::Success | Function::Failure | Function::Always | Function::Cancelled => {
                let f = match func {
                    Function::Success => StatusFunction::Success,
                    Function::Failure => StatusFunction::Failure,
                    Function::Always => StatusFunction::Always,
                    _ => StatusFunction::Cancelled,
                };
                return Ok(match self.ctx.status(f) {
                    Lookup::Known(b) => Res::Known(Data::Own(Value::Bool(b))),
                    Lookup::Missing => Res::Known(Data::Own(Value::Bool(false))),
                    Lookup::Unknown => Res::Unknown(vec![Dep {
                        what: format!("{}()", f.name()),
                        offset,
                    }]),
                });
            }
            Function::Case => return self.case(args),
            _ => {}
        }
        let mut values = Vec::with_capacity(args.len());
        let mut unknown = Vec::new();
        for arg in args {
            match self.eval(arg)? {
                Res::Known(d) => values.push(d),
                Res::Unknown(deps) => unknown.extend(deps),
            }
        }
        if !unknown.is_empty() {
            return Ok(Res::Unknown(unknown));
        }
        let value = match func {
            Function::Contains => Value::Bool(contains(&values[0], &values[1])),
            Function::StartsWith => {
                Value::Bool(affix(&values[0], &values[1], starts_with_ignore_case))
            }
            Function::EndsWith => Value::Bool(affix(&values[0], &values[1], ends_with_ignore_case)),
            Function::Format => Value::String(format(&values, args, offset)?),
            Function::Join => Value::String(join(&values, offset)?),
            Function::ToJson => Value::String(to_json(&values[0], offset)?),
            Function::FromJson => from_json(&values[0], offset)?,
            Function::HashFiles => {
                let patterns: Vec<String> = values.iter().map(Data::to_display_string).collect();
                match self.ctx.hash_files(&patterns) {
                    Ok(hash) => Value::String(hash),
                    Err(_) if self.partial => {
                        let quoted: Vec<String> = patterns
                            .iter()
                            .map(|p| format!("'{}'", p.replace('\'', "''")))
                            .collect();
                        return Ok(Res::Unknown(vec![Dep {
                            what: format!("hashFiles({})", quoted.join(", ")),
                            offset,
                        }]));
                    }
                    Err(e) => {
                        return Err(Error::evaluation(
                            offset,
                            format!("hashFiles {}: {e}", at(offset)),
                        ))
                    }
                }
            }
            Function::Case
            | Function::Success
            | Function::Failure
            | Function::Always
            | Function::Cancelled => Value::Null,
        };
        Ok(Res::Known(Data::Own(value)))
    }

    /// `case(pred1, val1, ..., default)`: predicates must be booleans; only
    /// what is needed is evaluated.
    fn case(&mut self, args: &'a [Node]) -> Result<Res<'a>, Error> {
        let mut i = 0;
        while i + 1 < args.len() {
            match self.eval(&args[i])? {
                Res::Known(d) => match d.value() {
                    Some(Value::Bool(true)) => return self.eval(&args[i + 1]),
                    Some(Value::Bool(false)) => i += 2,
                    _ => {
                        let offset = args[i].offset();
                        return Err(Error::evaluation(
                            offset,
                            format!(
                                "case predicate must evaluate to a boolean value, not {} {}",
                                d.kind(),
                                at(offset)
                            ),
                        ));
                    }
                },
                unknown => return Ok(unknown),
            }
        }
        match args.last() {
            Some(default) => self.eval(default),
            None => Ok(Res::Known(Data::null())),
        }
    }
}

fn merge<'a>(results: impl IntoIterator<Item = Res<'a>>) -> Vec<Dep> {
    let mut deps = Vec::new();
    for r in results {
        if let Res::Unknown(d) = r {
            deps.extend(d);
        }
    }
    deps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;
    use crate::MapContexts;
    use serde_json::json;

    /// Like the planner's contexts: `github` known, `needs` only at run
    /// time, `failure()` unknown.
    struct Planning {
        github: Value,
    }

    impl Contexts for Planning {
        fn context(&self, name: &str) -> Lookup<Value> {
            match name {
                "github" => Lookup::Known(self.github.clone()),
                "needs" | "steps" => Lookup::Unknown,
                _ => Lookup::Missing,
            }
        }

        fn status(&self, f: StatusFunction) -> Lookup<bool> {
            match f {
                StatusFunction::Success | StatusFunction::Always => Lookup::Known(true),
                _ => Lookup::Unknown,
            }
        }
    }

    fn planning(git_ref: &str) -> Planning {
        Planning {
            github: Value::from_json(&json!({"ref": git_ref, "event_name": "push"})),
        }
    }

    fn partial(src: &str, ctx: &dyn Contexts) -> Partial {
        parse(src).unwrap().eval_partial(ctx).unwrap()
    }

    fn unknown(deps: &[&str]) -> Partial {
        Partial::Unknown {
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn known(v: impl Into<Value>) -> Partial {
        Partial::Known(v.into())
    }

    fn eval_with(src: &str, ctx: &MapContexts) -> Value {
        parse(src)
            .unwrap()
            .eval(ctx)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn ctx(j: serde_json::Value) -> MapContexts {
        MapContexts::from_json(&j).unwrap()
    }

    #[test]
    fn unknown_paths_are_reported_whole() {
        let main = planning("refs/heads/main");
        assert_eq!(
            partial("needs.build.outputs.tag", &main),
            unknown(&["needs.build.outputs.tag"])
        );
        assert_eq!(
            partial("needs['build'].outputs.tag == 'v1'", &main),
            unknown(&["needs.build.outputs.tag"])
        );
        assert_eq!(
            partial("contains(needs.*.result, 'failure')", &main),
            unknown(&["needs.*.result"])
        );
        assert_eq!(
            partial("fromJSON(needs.a.outputs.json).foo", &main),
            unknown(&["needs.a.outputs.json"])
        );
        assert_eq!(
            partial("needs.a.x == needs.a.x", &main),
            unknown(&["needs.a.x"])
        );
        assert_eq!(
            partial("format('{0}', hashFiles('**/go.sum'))", &main),
            unknown(&["hashFiles('**/go.sum')"])
        );
    }

    #[test]
    fn short_circuits_decide_without_the_unknown() {
        let main = planning("refs/heads/main");
        let dev = planning("refs/heads/develop");
        assert_eq!(partial("false && needs.a.result", &main), known(false));
        assert_eq!(partial("true || needs.a.result", &main), known(true));
        assert_eq!(
            partial("github.ref == 'refs/heads/main' && needs.a.outputs.x", &dev),
            known(false)
        );
        assert_eq!(
            partial(
                "github.ref == 'refs/heads/main' && needs.a.outputs.x",
                &main
            ),
            unknown(&["needs.a.outputs.x"])
        );
        // A boolean unknown and a decisive boolean: the result is certain.
        assert_eq!(
            partial(
                "needs.a.result == 'success' && github.ref == 'refs/heads/main'",
                &dev
            ),
            known(false)
        );
        assert_eq!(
            partial("failure() || github.event_name == 'push'", &dev),
            known(true)
        );
        assert_eq!(
            partial("failure() || github.event_name == 'pull_request'", &dev),
            unknown(&["failure()"])
        );
        // The unknown could be any value, so the value is not certain.
        assert_eq!(
            partial("needs.a.outputs.x || true", &dev),
            unknown(&["needs.a.outputs.x"])
        );
        assert_eq!(
            partial("success() && needs.a.outputs.x == 'y'", &dev),
            unknown(&["needs.a.outputs.x"])
        );
        assert_eq!(partial("always()", &dev), known(true));
        assert_eq!(partial("!cancelled()", &dev), unknown(&["cancelled()"]));
    }

    #[test]
    fn errors_past_an_unknown_operand_only_make_it_unknown() {
        let main = planning("refs/heads/main");
        assert_eq!(
            partial("needs.a.outputs.x && fromJSON('')", &main),
            unknown(&["needs.a.outputs.x"])
        );
        assert!(parse("fromJSON('') && needs.a.x")
            .unwrap()
            .eval_partial(&main)
            .is_err());
    }

    #[test]
    fn plain_evaluation_refuses_run_time_values() {
        let main = planning("refs/heads/main");
        let e = parse("1 == 1 && needs.build.outputs.tag")
            .unwrap()
            .eval(&main)
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Evaluation);
        assert_eq!(e.offset, 10);
        assert_eq!(
            e.message,
            "`needs.build.outputs.tag` is only known at run time"
        );
        assert_eq!(
            parse("false && needs.x").unwrap().eval(&main).unwrap(),
            Value::Bool(false)
        );
    }

    #[test]
    fn arrays_and_objects_equal_only_themselves() {
        let c = ctx(json!({"a": {"x": 1}, "b": {"x": 1}, "list": [[1], [1]]}));
        assert_eq!(eval_with("a == a", &c), Value::Bool(true));
        assert_eq!(eval_with("a == A", &c), Value::Bool(true));
        assert_eq!(eval_with("a == b", &c), Value::Bool(false));
        assert_eq!(eval_with("(a || b) == a", &c), Value::Bool(true));
        assert_eq!(eval_with("list[0] == list[0]", &c), Value::Bool(true));
        assert_eq!(eval_with("list[0] == list[1]", &c), Value::Bool(false));
        assert_eq!(
            eval_with("fromJSON('{}') == fromJSON('{}')", &c),
            Value::Bool(false)
        );
        assert_eq!(eval_with("contains(list, list[1])", &c), Value::Bool(true));
        assert_eq!(eval_with("list.* == list.*", &c), Value::Bool(false));
    }

    #[test]
    fn filters_apply_element_by_element() {
        let c = ctx(json!({"github": {"event": {"commits": [
            {"message": "one", "author": {"name": "a"}},
            {"message": "two", "author": {"name": "b"}},
            {"author": {"name": "c"}}
        ]}}, "m": {"x": [1, 2], "y": [3], "z": "s"}}));
        assert_eq!(
            eval_with("github.event.commits.*.message", &c),
            Value::Array(vec![Value::from("one"), Value::from("two")])
        );
        assert_eq!(
            eval_with("join(github.event.commits.*.author.name, '+')", &c),
            Value::from("a+b+c")
        );
        assert_eq!(
            eval_with("m.*.*", &c),
            Value::Array(vec![
                Value::Number(1.0),
                Value::Number(2.0),
                Value::Number(3.0)
            ])
        );
        assert_eq!(
            eval_with("m.*[0]", &c),
            Value::Array(vec![Value::Number(1.0), Value::Number(3.0)])
        );
        assert_eq!(
            eval_with("(m.*)[1]", &c),
            Value::Array(vec![Value::Number(2.0)])
        );
        assert_eq!(eval_with("m.nothing.*", &c), Value::Array(vec![]));
        assert_eq!(
            eval_with("fromJSON('[{\"a\":1},{\"a\":2}]').*.a", &c),
            eval_with("fromJSON('[1,2]')", &c)
        );
        assert_eq!(
            eval_with("github.event.commits[5].message", &c),
            Value::Null
        );
        assert_eq!(eval_with("github.nothing.deeper['x'][0]", &c), Value::Null);
    }

    #[test]
    fn memory_is_bounded() {
        let c = ctx(json!({"big": "x".repeat(20_000)}));
        let e = parse(&format!("format('{}', big)", "{0}".repeat(40)))
            .unwrap()
            .eval(&c)
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Evaluation);
        assert!(
            e.message.contains("maximum allowed memory"),
            "{}",
            e.message
        );
        // Doubling fifty times stops early rather than allocating.
        let mut src = "'ab'".to_string();
        for _ in 0..45 {
            src = format!("format('{{0}}{{0}}', {src})");
        }
        assert!(parse(&src).unwrap().eval(&c).is_err());
        assert!(parse("toJSON(big)").unwrap().eval(&c).is_ok());
    }

    #[test]
    fn functions() {
        let c = ctx(json!({"list": ["a", "B"], "obj": {"k": "v"}}));
        assert_eq!(eval_with("contains(list, 'b')", &c), Value::Bool(true));
        assert_eq!(eval_with("contains('Hello', 'LL')", &c), Value::Bool(true));
        assert_eq!(eval_with("contains(obj, 'v')", &c), Value::Bool(false));
        assert_eq!(eval_with("join(list)", &c), Value::from("a,B"));
        assert_eq!(
            eval_with("toJSON(obj)", &c),
            Value::from("{\n  \"k\": \"v\"\n}")
        );
        assert_eq!(
            eval_with("toJSON(list.*)", &c),
            Value::from("[\n  \"a\",\n  \"B\"\n]")
        );
        assert_eq!(
            eval_with("fromJSON(' {\"a\": [1, 2.5]} ').a[1]", &c),
            Value::Number(2.5)
        );
        assert_eq!(
            eval_with("format('{0}-{1}', 'a', 2)", &c),
            Value::from("a-2")
        );
        assert_eq!(
            eval_with("case(false, 1, list[0] == 'A', 2, 3)", &c),
            Value::Number(2.0)
        );
        // The branches not taken are not evaluated.
        assert_eq!(
            eval_with("case(true, 'ok', fromJSON(''))", &c),
            Value::from("ok")
        );
        assert_eq!(
            eval_with("success() && !failure() && !cancelled() && always()", &c),
            Value::Bool(true)
        );
        let mut failed = c.clone();
        failed.set_status(StatusFunction::Failure, true);
        assert_eq!(eval_with("failure()", &failed), Value::Bool(true));
        for (src, what) in [
            ("fromJSON('')", "empty input"),
            ("fromJSON('{')", "invalid JSON"),
            ("format(obj.k, 1)", ""),
            ("format(format('{0}', '{'), 1)", "invalid format string"),
            ("format(format('{{0}}{{1}}', 1), 1)", "references {1}"),
            ("format(format('{{0:x}}', 1), 1)", "format specifiers"),
            ("case(1, 2, 3)", "boolean"),
            ("hashFiles('x')", "hashFiles"),
        ] {
            let r = parse(src).unwrap().eval(&c);
            if what.is_empty() {
                assert!(r.is_ok(), "{src}");
                continue;
            }
            let e = r.expect_err(src);
            assert_eq!(e.kind, crate::ErrorKind::Evaluation, "{src}");
            assert!(e.message.contains(what), "{src}: {}", e.message);
        }
    }
}
