//! The job graph: `needs` resolved to jobs that exist, cycles found and
//! printed, and the stages (levels) jobs fall into.

use crate::diagnostic::{suggest, Diagnostic};

use crate::workflow::Workflow;

/// Resolve every job's `needs` to indices; report unknown jobs (with the
/// closest id) and cycles (with the whole cycle).
pub(crate) fn resolve_needs(wf: &mut Workflow, file: &str, diags: &mut Vec<Diagnostic>) {
    let ids: Vec<String> = wf.jobs.iter().map(|j| j.id.value.clone()).collect();
    for job in &mut wf.jobs {
        let mut resolved = Vec::new();
        for need in &job.needs_names {
            match ids.iter().position(|id| id == &need.value) {
                Some(i) if !resolved.contains(&i) => resolved.push(i),
                Some(_) => {}
                None => {
                    let help = suggest(&need.value, ids.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("jobs in this workflow: {}", ids.join(", ")));
                    diags.push(
                        Diagnostic::error(
                            "unknown-job",
                            file,
                            need.span,
                            format!(
                                "job `{}` needs `{}`, which is not a job in this workflow",
                                job.id.value, need.value
                            ),
                        )
                        .with_help(help),
                    );
                }
            }
        }
        job.needs = resolved;
    }
    for cycle in find_cycles(wf) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|&i| wf.jobs[i].id.value.as_str())
            .collect();
        let first = &wf.jobs[cycle[0]];
        let span = first
            .needs_names
            .iter()
            .find(|n| Some(n.value.as_str()) == names.get(1).copied())
            .map(|n| n.span)
            .unwrap_or(first.id.span);
        let mut path = names.clone();
        path.push(names[0]);
        diags.push(
            Diagnostic::error(
                "needs-cycle",
                file,
                span,
                format!(
                    "jobs depend on each other in a cycle: {}",
                    path.join(" -> ")
                ),
            )
            .with_help("remove one of these `needs` to break the cycle"),
        );
    }
}

/// Each cycle once, as the jobs on it in dependency order (a needs b needs
/// ... needs a), starting from the cycle's first job in file order.
fn find_cycles(wf: &Workflow) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = wf.jobs.len();
    let mut mark = vec![Mark::New; n];
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (job, next needs index).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Active;
        while let Some(&mut (job, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = wf.jobs[job].needs.get(*next) {
                *next += 1;
                match mark[dep] {
                    Mark::New => {
                        mark[dep] = Mark::Active;
                        stack.push((dep, 0));
                    }
                    Mark::Active => {
                        let from = stack.iter().position(|(j, _)| *j == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|(j, _)| *j).collect();
                        let min = cycle
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, j)| **j)
                            .map(|(i, _)| i)
                            .unwrap_or(0);
                        cycle.rotate_left(min);
                        if !cycles.contains(&cycle) {
                            cycles.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[job] = Mark::Done;
                stack.pop();
            }
        }
    }
    cycles
}

/// The stage of each job: 0 for jobs that need nothing, else one more than
/// the latest stage among what it needs. Requires an acyclic graph.
pub fn stages(wf: &Workflow) -> Vec<usize> {
    let n = wf.jobs.len();
    let mut waiting_on = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, job) in wf.jobs.iter().enumerate() {
        waiting_on[i] = job.needs.len();
        for &d in &job.needs {
            dependents[d].push(i);
        }
    }
    let mut stage = vec![0usize; n];
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| waiting_on[i] == 0).collect();
    while let Some(i) = ready.pop_front() {
        for &k in &dependents[i] {
            stage[k] = stage[k].max(stage[i] + 1);
            waiting_on[k] -= 1;
            if waiting_on[k] == 0 {
                ready.push_back(k);
            }
        }
    }
    stage
}

/// The jobs in an order where each comes after everything it needs.
pub fn topological_order(wf: &Workflow) -> Vec<usize> {
    let stage = stages(wf);
    let mut order: Vec<usize> = (0..wf.jobs.len()).collect();
    order.sort_by_key(|&i| (stage[i], i));
    order
}
