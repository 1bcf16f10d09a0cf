//! Just enough of a Dockerfile to explain a build: where each instruction
//! starts (the classic builder numbers its steps in file order, so step N
//! is the Nth instruction), the stages and their base images.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where it starts.
    pub line: usize,
    /// `RUN`, `FROM`, ... as written, upper-cased.
    pub keyword: String,
    /// The instruction on one line, continuations joined.
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
}

impl Dockerfile {
    pub fn parse(text: &str) -> Dockerfile {
        let mut escape = '\\';
        let mut instructions = Vec::new();
        let mut current: Option<(usize, String)> = None;
        let mut in_directives = true;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_start();
            if in_directives {
                if let Some(d) = line.strip_prefix('#') {
                    let d = d.trim();
                    if let Some(v) = d.strip_prefix("escape=") {
                        if let Some(c) = v.trim().chars().next() {
                            escape = c;
                        }
                    }
                    continue;
                }
                in_directives = false;
            }
            if line.starts_with('#') || (line.is_empty() && current.is_none()) {
                continue;
            }
            let trimmed = line.trim_end();
            let (body, continues) = match trimmed.strip_suffix(escape) {
                Some(b) => (b, true),
                None => (trimmed, false),
            };
            match &mut current {
                Some((_, text)) => {
                    text.push(' ');
                    text.push_str(body.trim());
                }
                None => current = Some((i + 1, body.trim().to_string())),
            }
            if !continues {
                if let Some((line, text)) = current.take() {
                    if !text.is_empty() {
                        let keyword = text
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        instructions.push(Instruction {
                            line,
                            keyword,
                            text,
                        });
                    }
                }
            }
        }
        if let Some((line, text)) = current {
            let keyword = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            instructions.push(Instruction {
                line,
                keyword,
                text,
            });
        }
        Dockerfile { instructions }
    }

    /// The instruction of build step `n` (1-based).
    pub fn step(&self, n: usize) -> Option<&Instruction> {
        self.instructions.get(n.checked_sub(1)?)
    }

    /// Stage names (`FROM image AS name`), in order.
    pub fn stages(&self) -> Vec<String> {
        self.froms().filter_map(|(_, name)| name).collect()
    }

    /// Base images named by `FROM` that are not earlier stages or `scratch`.
    pub fn base_images(&self) -> Vec<String> {
        let mut stages: Vec<String> = Vec::new();
        let mut bases = Vec::new();
        for (image, name) in self.froms() {
            let is_stage = stages.iter().any(|s| s.eq_ignore_ascii_case(&image));
            if !is_stage && image != "scratch" && !bases.contains(&image) {
                bases.push(image);
            }
            if let Some(n) = name {
                stages.push(n);
            }
        }
        bases
    }

    fn froms(&self) -> impl Iterator<Item = (String, Option<String>)> + '_ {
        self.instructions
            .iter()
            .filter(|i| i.keyword == "FROM")
            .map(|i| {
                let words: Vec<&str> = i
                    .text
                    .split_whitespace()
                    .skip(1)
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                let image = words.first().copied().unwrap_or("").to_string();
                let name = match words.get(1) {
                    Some(w) if w.eq_ignore_ascii_case("as") => words.get(2).map(|n| n.to_string()),
                    _ => None,
                };
                (image, name)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_lines_and_stages() {
        let d = Dockerfile::parse(
            "# syntax=docker/dockerfile:1\n\
             ARG GO=1.23\n\
             FROM slipway-base/go:${GO} AS builder\n\
             # a comment\n\
             RUN apt-get update && \\\n    \
             # inside\n    \
             apt-get install -y x\n\
             \n\
             FROM --platform=linux/amd64 scratch\n\
             COPY --from=builder /out /app\n",
        );
        let lines: Vec<(usize, &str)> = d
            .instructions
            .iter()
            .map(|i| (i.line, i.keyword.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (2, "ARG"),
                (3, "FROM"),
                (5, "RUN"),
                (9, "FROM"),
                (10, "COPY")
            ]
        );
        assert_eq!(
            d.step(3).unwrap().text,
            "RUN apt-get update && apt-get install -y x"
        );
        assert_eq!(d.stages(), ["builder"]);
        assert_eq!(d.base_images(), ["slipway-base/go:${GO}"]);
        assert!(d.step(0).is_none() && d.step(6).is_none());
    }

    #[test]
    fn escape_directive() {
        let d = Dockerfile::parse("# escape=`\nFROM scratch\nCOPY a `\n  b /\n");
        assert_eq!(d.step(2).unwrap().text, "COPY a b /");
    }
}
