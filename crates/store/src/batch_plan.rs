//! How a store that pays a round trip per statement (PostgreSQL) applies a batch in few of them:
//! consecutive upserts of distinct objects go in one multi-row statement (a statement per item
//! would spend most of a batch on round trips), everything else one by one, in order. SQLite does
//! not use it: in process, a cached statement per item costs no round trip, and item order is kept
//! as sent; the conformance suite holds both to the same outcomes.

use igny8_domain::content::{Batch, Change, Post, Term};

/// A step of a batch, with the indexes of the items it answers.
#[derive(Debug)]
pub enum Step<'a> {
    /// Upserts of distinct posts: one statement; those it does not touch are stale.
    Posts(Vec<(usize, &'a Post)>),
    /// Upserts of distinct terms: one statement; those it does not touch are stale (read before
    /// the version held).
    Terms(Vec<(usize, &'a Term)>),
    /// A delete, applied on its own.
    Single(usize, &'a Change),
}

/// The steps of a batch's valid items, in an order that gives the same result as applying them
/// one by one: a run of upserts ends at a delete, at another kind, or at an object it already
/// holds (a second change of one object must see the first). Rejected items take no step.
pub fn plan(batch: &Batch) -> Vec<Step<'_>> {
    let mut steps: Vec<Step<'_>> = Vec::new();
    for (index, item) in batch.items.iter().enumerate() {
        let Ok(change) = &item.change else { continue };
        match change {
            Change::UpsertPost(p) => {
                let continues = matches!(steps.last(), Some(Step::Posts(run))
                    if !run.iter().any(|(_, q)| q.wp_id == p.wp_id && q.post_type == p.post_type));
                match steps.last_mut() {
                    Some(Step::Posts(run)) if continues => run.push((index, p)),
                    _ => steps.push(Step::Posts(vec![(index, p)])),
                }
            }
            Change::UpsertTerm(t) => {
                let continues = matches!(steps.last(), Some(Step::Terms(run))
                    if !run.iter().any(|(_, u)| u.wp_id == t.wp_id && u.taxonomy == t.taxonomy));
                match steps.last_mut() {
                    Some(Step::Terms(run)) if continues => run.push((index, t)),
                    _ => steps.push(Step::Terms(vec![(index, t)])),
                }
            }
            Change::DeletePost { .. } | Change::DeleteTerm { .. } => {
                steps.push(Step::Single(index, change))
            }
        }
    }
    steps
}

/// Rows per statement: chunks of 64, the rest in powers of two, so a database caches at most
/// seven statement shapes per table.
pub fn chunk_sizes(mut n: usize) -> Vec<usize> {
    const MAX: usize = 64;
    let mut sizes = vec![MAX; n / MAX];
    n %= MAX;
    let mut size = MAX / 2;
    while n > 0 {
        if n >= size {
            sizes.push(size);
            n -= size;
        }
        size /= 2;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn post(id: i64) -> serde_json::Value {
        json!({"op": "upsert", "kind": "post", "type": "post", "wp_id": id, "modified_gmt": "2025-11-22 10:00:00",
               "data": {"title": "t", "status": "publish"}})
    }

    fn shape(steps: &[Step<'_>]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Posts(run) => {
                    format!("posts{:?}", run.iter().map(|(i, _)| *i).collect::<Vec<_>>())
                }
                Step::Terms(run) => {
                    format!("terms{:?}", run.iter().map(|(i, _)| *i).collect::<Vec<_>>())
                }
                Step::Single(i, _) => format!("single{i}"),
            })
            .collect()
    }

    #[test]
    fn runs_end_at_deletes_other_kinds_and_repeated_objects() {
        let term = json!({"op": "upsert", "kind": "term", "type": "tag", "wp_id": 1, "data": {"name": "n", "slug": "s"}});
        let delete = json!({"op": "delete", "kind": "post", "type": "post", "wp_id": 9});
        let batch = Batch::parse(&json!({"items": [post(1), post(2), json!("bad"), post(1), term.clone(), term, delete, post(3)]}))
            .unwrap();
        assert_eq!(
            shape(&plan(&batch)),
            [
                "posts[0, 1]",
                "posts[3]",
                "terms[4]",
                "terms[5]",
                "single6",
                "posts[7]"
            ]
        );
    }

    #[test]
    fn chunks_cover_every_row_in_few_shapes() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(500), [vec![64; 7], vec![32, 16, 4]].concat());
        for n in 0..300 {
            assert_eq!(chunk_sizes(n).iter().sum::<usize>(), n);
        }
    }
}
