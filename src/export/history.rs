//! The history report: a client history judged by the linearizability checker, drawn as one
//! self-contained HTML page in the manner of Porcupine's visualisation (`raftlab check FILE
//! --html REPORT.html`). Inline CSS and a few lines of inline script; nothing is fetched.
//!
//! ```text
//!   Vec<Operation> + CheckReport (check_report_traced: verdict, window, orders per key)
//!        │
//!        ▼  one row per key (the failing key first), one bar per operation
//!   render ─► <section class="key">  bars from invocation to completion, packed in lanes;
//!                                    unknown outcomes run on to the end of the row;
//!                                    numbers: the linearization order (or the longest partial
//!                                    one); ✗ conflicting answers, ⊘ the op that could not be
//!                                    placed, the failing window as a band behind the bars
//! ```
//!
//! **The time axis of a row is the order of its events**, not their time: each distinct
//! invocation or completion time on the key takes one step, as Porcupine draws it, so a burst of
//! short operations and a second of silence take the room they need to be read. Steps widen
//! until each bar's label fits (up to a limit). The real times
//! are on the axis ticks and in each bar's details (hover: a bar at the bottom shows them, and
//! the operations before the hovered one in the order are shaded).
//!
//! **Large histories** are cut, and the page says so: at most [`MAX_KEY_OPS`] operations per
//! key (for the failing key, those around its window), [`MAX_KEYS`] keys and [`MAX_OPS`]
//! operations in all.
//!
//! The page is XHTML-clean (closed tags, quoted attributes, the script and the style in CDATA
//! sections), so an XML parser reads it as well as a browser does.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use super::svg::escape;
use super::ExportError;
use crate::check::{CheckReport, CheckResult, KeyOrder, KeyVerdict, OpStatus, Operation};

/// The most operations drawn for one key.
pub const MAX_KEY_OPS: usize = 1_000;
/// The most keys drawn.
pub const MAX_KEYS: usize = 100;
/// The most operations drawn in all.
pub const MAX_OPS: usize = 20_000;
/// When the failing key is cut: how many of its operations are drawn before its window.
const BEFORE_WINDOW: usize = 50;

/// The narrowest step of a row's axis (from one distinct event time to the next), in pixels;
/// steps widen until the label of every bar over them fits, up to [`MAX_LABEL`].
const STEP: u64 = 24;
/// The widest a bar is made to fit its label, in pixels: longer labels are cut with `…` (hover
/// shows the whole operation).
const MAX_LABEL: u64 = 420;
/// About the width of a character of the bars' font (12px monospace), in pixels.
const CHAR: f64 = 7.3;
/// Height of a lane of bars, in pixels.
const LANE: u64 = 24;
/// Left margin of a row.
const LEFT: u64 = 8;
/// The least room between two ticks of the axis, in pixels.
const TICK_GAP: u64 = 90;

const STYLE: &str = "body{margin:0;font-family:monospace;font-size:12px;background:#fafafa;color:#222}\
header{padding:8px 12px;background:#fff;border-bottom:1px solid #ccc}\
header h1{font-size:15px;margin:0 0 4px 0}\
.verdict{font-weight:bold;padding:1px 6px;border-radius:3px}\
.v-ok{background:#d4f4d4;color:#145214}.v-bad{background:#f8d0d0;color:#7a0d0d}\
.v-undecided{background:#f6e7b8;color:#6a4b00}.v-skipped{background:#e4e4e4;color:#555}\
.legend span{margin-right:14px}\
.note{color:#7a4a00}\
#filter{font-family:monospace;margin-top:4px}\
main{padding:6px 12px 60px 12px}\
section.key{margin:10px 0;background:#fff;border:1px solid #ddd}\
section.key h2{font-size:13px;margin:0;padding:4px 8px;background:#f2f2f2;border-bottom:1px solid #ddd}\
.scroll{overflow-x:auto;overflow-y:hidden}\
.row{position:relative}\
.op{position:absolute;height:18px;line-height:18px;box-sizing:border-box;border:1px solid #3b6ea8;\
background:#cfe0f5;border-radius:3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;\
padding:0 3px;cursor:default}\
.op:hover{z-index:5;overflow:visible;background:#fff9c4;border-color:#000}\
.op.unknown{border-style:dashed;border-right:none;background:#e8eef5}\
.op.failed,.op.ignored{border-color:#aaa;background:#eee;color:#888}\
.op.placed{background:#b9e6b9;border-color:#2e7d32}\
.op.win{border-width:2px}\
.op.conflict{background:#f6b3b3;border-color:#b71c1c;border-width:2px}\
.op.stuck{outline:2px dashed #6a1b9a;outline-offset:1px}\
.op.before{box-shadow:inset 0 0 0 30px rgba(255,235,59,0.45)}\
.n{display:inline-block;min-width:14px;padding:0 2px;margin-right:3px;background:#2e7d32;color:#fff;\
border-radius:2px;text-align:center}\
.mark{font-weight:bold;margin-right:3px}.conflict .mark{color:#b71c1c}.stuck .mark{color:#6a1b9a}\
.window{position:absolute;top:0;background:rgba(255,193,7,0.22);border-left:2px solid #ffa000;\
border-right:2px solid #ffa000}\
.cut{position:absolute;top:0;border-left:2px dashed #555}\
.axis{position:absolute;left:0;right:0;border-top:1px solid #bbb}\
.t{position:absolute;top:2px;white-space:nowrap;color:#777;font-size:10px;border-left:1px solid #bbb;padding-left:2px}\
#detail{position:fixed;bottom:0;left:0;right:0;padding:6px 12px;background:#222;color:#eee;\
min-height:2.6em;white-space:pre-wrap;z-index:10}";

const SCRIPT: &str = r#"(function(){
var detail=document.getElementById('detail');
document.addEventListener('mouseover',function(e){
var o=e.target.closest?e.target.closest('.op'):null;if(!o){return;}
detail.textContent=o.getAttribute('title');
var p=Number(o.getAttribute('data-pos'));var all=o.parentNode.querySelectorAll('.op');
for(var i=0;i!==all.length;i++){var q=Number(all[i].getAttribute('data-pos'));
all[i].classList.toggle('before',p>0&&q>0&&q<p);}});
var w=document.querySelector('.window');
if(w){var box=w.closest('.scroll');box.scrollLeft=Math.max(0,w.offsetLeft-80);}
var f=document.getElementById('filter');
f.addEventListener('input',function(){var rows=document.querySelectorAll('section.key');
for(var i=0;i!==rows.length;i++){var k=rows[i].getAttribute('data-key');
rows[i].style.display=k.indexOf(f.value)===-1?'none':'';}});
})();"#;

/// What the page drew, for the command's one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drawn {
    /// Keys drawn.
    pub keys: usize,
    /// Operations drawn.
    pub ops: usize,
    /// Whether something was left out (the page says what).
    pub cut: bool,
}

/// Writes the page of `ops` judged by `report` to `path`, whole or not at all.
pub fn write(
    path: &Path,
    title: &str,
    ops: &[Operation],
    report: &CheckReport,
) -> Result<(u64, Drawn), ExportError> {
    let (page, drawn) = render(title, ops, report);
    super::write_whole(path, page.as_bytes())?;
    Ok((page.len() as u64, drawn))
}

/// Whether `path` can be written, before a long check: the temporary file beside it that
/// [`write`] uses is created and removed; `path` itself is not touched.
pub fn probe(path: &Path) -> Result<(), ExportError> {
    let err = |error| ExportError::Write {
        path: path.to_path_buf(),
        error,
    };
    let tmp = super::partial_of(path)?;
    std::fs::File::create(&tmp).map_err(err)?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

/// One key's row: its operations (sorted by invocation) and what the checker said.
struct Row<'a> {
    key: &'a str,
    /// Operations on the key in the history.
    total: usize,
    /// Those drawn, by invocation.
    drawn: Vec<&'a Operation>,
    /// Why not all were drawn.
    note: Option<String>,
    verdict: Option<KeyVerdict>,
    order: Option<&'a KeyOrder>,
}

/// The page, and what it drew.
pub fn render(title: &str, ops: &[Operation], report: &CheckReport) -> (String, Drawn) {
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key()).or_default().push(op);
    }
    let (failing, conflicting, window): (Option<&str>, HashSet<u64>, HashSet<u64>) =
        match &report.result {
            CheckResult::NotLinearizable {
                key,
                window,
                conflicting,
            } => (
                Some(key.as_str()),
                conflicting.iter().copied().collect(),
                window.iter().map(|op| op.id).collect(),
            ),
            CheckResult::GaveUp { key, .. } => (Some(key.as_str()), HashSet::new(), HashSet::new()),
            CheckResult::Linearizable => (None, HashSet::new(), HashSet::new()),
        };
    let verdicts: HashMap<&str, KeyVerdict> = report
        .keys
        .iter()
        .map(|k| (k.key.as_str(), k.verdict))
        .collect();
    let orders: HashMap<&str, &KeyOrder> =
        report.orders.iter().map(|o| (o.key.as_str(), o)).collect();
    // The failing (or undecided) key first, then by name.
    let mut names: Vec<&str> = by_key.keys().copied().collect();
    if let Some(f) = failing {
        if let Some(at) = names.iter().position(|&k| k == f) {
            let f = names.remove(at);
            names.insert(0, f);
        }
    }
    let mut rows = Vec::new();
    let mut left_out_keys = Vec::new();
    let mut budget = MAX_OPS;
    for name in names {
        let mut key_ops = by_key.remove(name).unwrap_or_default();
        if rows.len() == MAX_KEYS || budget == 0 {
            left_out_keys.push(name);
            continue;
        }
        key_ops.sort_by_key(|op| (op.invoke_us, op.id));
        let total = key_ops.len();
        let cap = MAX_KEY_OPS.min(budget);
        let (drawn, note) = if total <= cap {
            (key_ops, None)
        } else if Some(name) == failing && !window.is_empty() {
            let first = key_ops
                .iter()
                .position(|op| window.contains(&op.id))
                .unwrap_or(0);
            let start = first.saturating_sub(BEFORE_WINDOW).min(total - cap);
            let drawn: Vec<&Operation> = key_ops
                .iter()
                .enumerate()
                .filter(|&(i, op)| (start..start + cap).contains(&i) || window.contains(&op.id))
                .map(|(_, &op)| op)
                .collect();
            let note = format!(
                "{} of {total} operations drawn: the failing window and those around it (from \
                 op #{} on, by invocation)",
                drawn.len(),
                key_ops[start].id
            );
            (drawn, Some(note))
        } else {
            key_ops.truncate(cap);
            let note = format!("the first {cap} of {total} operations drawn, by invocation");
            (key_ops, Some(note))
        };
        budget = budget.saturating_sub(drawn.len());
        rows.push(Row {
            key: name,
            total,
            drawn,
            note,
            verdict: verdicts.get(name).copied(),
            order: orders.get(name).copied(),
        });
    }
    let drawn = Drawn {
        keys: rows.len(),
        ops: rows.iter().map(|r| r.drawn.len()).sum(),
        cut: !left_out_keys.is_empty() || rows.iter().any(|r| r.note.is_some()),
    };

    let mut s = String::new();
    header(&mut s, title, ops, report, &drawn, &left_out_keys);
    s.push_str("<main>\n");
    let marks = Marks {
        conflicting: &conflicting,
        window: &window,
        cut_us: report.shrink.and_then(|sh| sh.cut_us),
        failing,
    };
    for row in &rows {
        draw_row(&mut s, row, &marks);
    }
    s.push_str("</main>\n");
    let _ = write!(
        s,
        "<div id=\"detail\">hover over an operation for its fields</div>\n\
         <script>//<![CDATA[\n{SCRIPT}\n//]]></script>\n</body>\n</html>\n"
    );
    (s, drawn)
}

/// The checker's marks on the failing key.
struct Marks<'a> {
    conflicting: &'a HashSet<u64>,
    window: &'a HashSet<u64>,
    cut_us: Option<u64>,
    failing: Option<&'a str>,
}

fn header(
    s: &mut String,
    title: &str,
    ops: &[Operation],
    report: &CheckReport,
    drawn: &Drawn,
    left_out_keys: &[&str],
) {
    let (mut ok, mut failed, mut unknown) = (0, 0, 0);
    for op in ops {
        match op.status() {
            OpStatus::Ok => ok += 1,
            OpStatus::Failed => failed += 1,
            OpStatus::Unknown => unknown += 1,
        }
    }
    let keys = ops.iter().map(Operation::key).collect::<HashSet<_>>().len();
    let (class, verdict) = match &report.result {
        CheckResult::Linearizable => ("v-ok", "linearizable".to_string()),
        CheckResult::NotLinearizable { key, .. } => {
            ("v-bad", format!("NOT linearizable: key {key:?}"))
        }
        CheckResult::GaveUp { key, reason } => (
            "v-undecided",
            format!("undecided: gave up on key {key:?}: {reason}"),
        ),
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>{t}</title>\n<style>/*<![CDATA[*/\n{STYLE}\n/*]]>*/</style>\n</head>\n<body>\n\
         <header>\n<h1>{t}</h1>\n<div><span class=\"verdict {class}\">{v}</span> · {n} operations \
         (ok {ok}, failed {failed}, unknown {unknown}) on {keys} keys · checked in {secs:.3} s</div>\n",
        t = escape(title),
        v = escape(&verdict),
        n = ops.len(),
        secs = report.elapsed.as_secs_f64(),
    );
    let explain = match &report.result {
        CheckResult::Linearizable => {
            "Each bar is an operation, from its invocation to its completion; the green number \
             is its place in one linearization the checker found (a single order, respecting \
             real time, that explains every answer). Unknown outcomes run on to the end of the \
             row; those without a number never needed to take effect."
        }
        CheckResult::NotLinearizable { .. } => {
            "No single order explains every answer of the failing key. ✗ marks the answers that \
             cannot all be right (the shaded band is the failing window: they and the writes they \
             could have seen); the green numbers are the longest partial linearization the \
             search reached; ⊘ is the operation it could not place next (its completion came \
             before it could take effect)."
        }
        CheckResult::GaveUp { .. } => {
            "The checker ran out of time before a verdict on one key: its numbers are the \
             longest partial linearization reached. Give it a larger --budget."
        }
    };
    let _ = writeln!(s, "<p>{}</p>", escape(explain));
    s.push_str(
        "<div class=\"legend\"><span><span class=\"n\">3</span>place in the order</span>\
         <span class=\"mark\" style=\"color:#b71c1c\">✗</span><span>conflicting answer</span>\
         <span class=\"mark\" style=\"color:#6a1b9a\">⊘</span><span>could not be placed</span>\
         <span>- - dashed: outcome unknown</span><span style=\"color:#888\">grey: failed \
         (not applied) or an unknown read: ignored by the checker</span></div>\n",
    );
    if let CheckResult::NotLinearizable { .. } = &report.result {
        let _ = writeln!(
            s,
            "<details><summary>the checker's window, as text</summary><pre>{}</pre></details>",
            escape(&report.result.to_string())
        );
    }
    if drawn.cut {
        let _ = write!(
            s,
            "<p class=\"note\">A large history: {} operations on {} keys drawn (at most {MAX_KEY_OPS} \
             a key, {MAX_KEYS} keys, {MAX_OPS} in all).",
            drawn.ops, drawn.keys
        );
        if !left_out_keys.is_empty() {
            let shown: Vec<String> = left_out_keys
                .iter()
                .take(20)
                .map(|k| format!("{k:?}"))
                .collect();
            let more = left_out_keys.len().saturating_sub(20);
            let _ = write!(
                s,
                " Keys not drawn ({}): {}{}.",
                left_out_keys.len(),
                escape(&shown.join(", ")),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        s.push_str("</p>\n");
    }
    s.push_str("<input id=\"filter\" placeholder=\"show keys containing…\"/>\n</header>\n");
}

/// Where a time falls on a row's axis: the index of its step.
fn step_of(times: &[u64], t: u64) -> u64 {
    times.partition_point(|&x| x < t) as u64
}

fn draw_row(s: &mut String, row: &Row<'_>, marks: &Marks<'_>) {
    let failing = marks.failing == Some(row.key);
    let mut times: Vec<u64> = row
        .drawn
        .iter()
        .flat_map(|op| {
            let end = op.complete_us.map(|c| c.max(op.invoke_us));
            std::iter::once(op.invoke_us).chain(end)
        })
        .collect();
    times.sort_unstable();
    times.dedup();
    let place: HashMap<u64, usize> = row
        .order
        .map(|o| {
            o.order
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, i + 1))
                .collect()
        })
        .unwrap_or_default();
    let stuck = row.order.and_then(|o| o.stuck).filter(|_| failing);
    let labels: Vec<String> = row.drawn.iter().map(|op| label(op)).collect();
    // The room a bar's label wants: its text and its marks.
    let want = |i: usize| -> u64 {
        let op = row.drawn[i];
        let marks = u64::from(place.contains_key(&op.id))
            + u64::from(failing && marks.conflicting.contains(&op.id))
            + u64::from(stuck == Some(op.id));
        let text = (labels[i].chars().count() as f64 * CHAR) as u64;
        (text + 22 * marks + 10).min(MAX_LABEL)
    };
    // Step widths: `widths[i]` from `times[i]` to the next time (the last one: to the end of the
    // row, where unknown outcomes end). Narrow bars are fitted first, each widening its own
    // steps evenly.
    let steps = |op: &Operation| -> (usize, usize) {
        let a = step_of(&times, op.invoke_us) as usize;
        let b = op.complete_us.map_or(times.len(), |c| {
            step_of(&times, c.max(op.invoke_us)) as usize
        });
        (a, b.max(a + 1).min(times.len()))
    };
    let mut widths = vec![STEP; times.len().max(1)];
    let mut by_span: Vec<usize> = (0..row.drawn.len()).collect();
    by_span.sort_by_key(|&i| {
        let (a, b) = steps(row.drawn[i]);
        (b - a, a)
    });
    for i in by_span {
        let (a, b) = steps(row.drawn[i]);
        let have: u64 = widths[a..b].iter().sum();
        let need = want(i);
        if have < need {
            let n = (b - a) as u64;
            let extra = (need - have).div_ceil(n);
            for w in &mut widths[a..b] {
                *w += extra;
            }
        }
    }
    let mut starts = Vec::with_capacity(widths.len() + 1);
    let mut at = LEFT;
    for w in &widths {
        starts.push(at);
        at += w;
    }
    starts.push(at);
    let row_end = at;
    let x = |t: u64| starts[(step_of(&times, t) as usize).min(starts.len() - 1)];

    // Bars, packed into lanes: each on the first lane free at its start.
    struct Bar<'a> {
        op: &'a Operation,
        label: &'a str,
        x1: u64,
        x2: u64,
        lane: u64,
    }
    let mut bars: Vec<Bar<'_>> = row
        .drawn
        .iter()
        .zip(&labels)
        .map(|(&op, label)| {
            let (a, b) = steps(op);
            Bar {
                op,
                label,
                x1: starts[a],
                x2: starts[b],
                lane: 0,
            }
        })
        .collect();
    let mut lane_ends: Vec<u64> = Vec::new();
    for bar in &mut bars {
        let free = lane_ends.iter().position(|&end| end + 2 <= bar.x1);
        let lane = free.unwrap_or(lane_ends.len());
        if lane == lane_ends.len() {
            lane_ends.push(0);
        }
        lane_ends[lane] = bar.x2;
        bar.lane = lane as u64;
    }
    let lanes = (lane_ends.len() as u64).max(1);
    let axis_top = lanes * LANE + 4;
    let height = axis_top + 18;
    let width = row_end + TICK_GAP;

    let (class, verdict) = match row.verdict {
        Some(KeyVerdict::Linearizable) => ("v-ok", "linearizable"),
        Some(KeyVerdict::NotLinearizable) => ("v-bad", "NOT linearizable"),
        Some(KeyVerdict::GaveUp) => ("v-undecided", "undecided"),
        Some(KeyVerdict::Skipped) | None => ("v-skipped", "not searched"),
    };
    let placed = match row.verdict {
        Some(KeyVerdict::Linearizable) => format!(" · {} in the order", place.len()),
        Some(KeyVerdict::NotLinearizable | KeyVerdict::GaveUp) => {
            format!(" · longest partial linearization: {}", place.len())
        }
        _ => String::new(),
    };
    let _ = write!(
        s,
        "<section class=\"key\" data-key=\"{k}\">\n<h2>key {kq} · <span class=\"verdict {class}\">\
         {verdict}</span> · {total} operations{placed}",
        k = escape(row.key),
        kq = escape(&format!("{:?}", row.key)),
        total = row.total,
    );
    if let Some(note) = &row.note {
        let _ = write!(s, " · <span class=\"note\">{}</span>", escape(note));
    }
    let _ = write!(
        s,
        "</h2>\n<div class=\"scroll\"><div class=\"row\" style=\"width:{width}px;height:{height}px\">\n"
    );
    if failing && !marks.window.is_empty() {
        let in_window = bars.iter().filter(|b| marks.window.contains(&b.op.id));
        let from = in_window.clone().map(|b| b.x1).min();
        let to = in_window.map(|b| b.x2).max();
        if let (Some(from), Some(to)) = (from, to) {
            let _ = writeln!(
                s,
                "<div class=\"window\" title=\"the failing window\" style=\"left:{}px;width:{}px;\
                 height:{}px\"></div>",
                from.saturating_sub(3),
                to + 6 - from,
                lanes * LANE
            );
        }
        if let Some(cut) = marks.cut_us {
            let _ = writeln!(
                s,
                "<div class=\"cut\" title=\"the cut: the checker took the state of the key here as \
                 unknown\" style=\"left:{}px;height:{}px\"></div>",
                x(cut).saturating_sub(2),
                lanes * LANE
            );
        }
    }
    for bar in &bars {
        let op = bar.op;
        let status = op.status();
        let ignored = status == OpStatus::Unknown && op.op.is_read();
        let mut classes = vec!["op"];
        classes.push(match status {
            OpStatus::Ok => "ok",
            OpStatus::Failed => "failed",
            OpStatus::Unknown => "unknown",
        });
        if ignored {
            classes.push("ignored");
        }
        let pos = place.get(&op.id).copied();
        if pos.is_some() {
            classes.push("placed");
        }
        let conflict = failing && marks.conflicting.contains(&op.id);
        let is_stuck = stuck == Some(op.id);
        if failing && marks.window.contains(&op.id) {
            classes.push("win");
        }
        if conflict {
            classes.push("conflict");
        }
        if is_stuck {
            classes.push("stuck");
        }
        let detail = detail(op, pos, row, conflict, is_stuck, ignored);
        let _ = write!(
            s,
            "<div class=\"{}\" data-id=\"{}\" data-pos=\"{}\" title=\"{}\" \
             style=\"left:{}px;top:{}px;width:{}px\">",
            classes.join(" "),
            op.id,
            pos.unwrap_or(0),
            escape(&detail),
            bar.x1,
            bar.lane * LANE + 3,
            (bar.x2 - bar.x1).saturating_sub(2).max(6),
        );
        if conflict {
            s.push_str("<span class=\"mark\">✗</span>");
        }
        if is_stuck {
            s.push_str("<span class=\"mark\">⊘</span>");
        }
        if let Some(pos) = pos {
            let _ = write!(s, "<span class=\"n\">{pos}</span>");
        }
        let _ = writeln!(s, "{}</div>", escape(bar.label));
    }
    let _ = writeln!(s, "<div class=\"axis\" style=\"top:{axis_top}px\">");
    let mut last_tick: Option<u64> = None;
    for (&t, &at) in times.iter().zip(&starts) {
        if last_tick.is_some_and(|last| at < last + TICK_GAP) {
            continue;
        }
        last_tick = Some(at);
        let _ = writeln!(
            s,
            "<span class=\"t\" style=\"left:{at}px\">{} ms</span>",
            millis(t)
        );
    }
    s.push_str("</div>\n</div></div>\n</section>\n");
}

/// `c3 get x → "1"`: the client, the operation and its answer.
fn label(op: &Operation) -> String {
    let answer = match (&op.output, op.status()) {
        (Some(output), _) => output.to_string(),
        (None, OpStatus::Failed) => "✗ failed".to_string(),
        (None, _) => "? unknown".to_string(),
    };
    format!("c{} {} {answer}", op.client, op.op)
}

/// The hover text of an operation: all its fields and what the checker made of it.
fn detail(
    op: &Operation,
    pos: Option<usize>,
    row: &Row<'_>,
    conflict: bool,
    stuck: bool,
    ignored: bool,
) -> String {
    let mut d = format!("op #{} · client {} · {}", op.id, op.client, op.op);
    match (&op.output, op.complete_us) {
        (Some(output), Some(c)) => {
            let _ = write!(
                d,
                " {output}\ninvoked {} ms · completed {} ms (took {} ms)",
                millis(op.invoke_us),
                millis(c),
                millis(c.saturating_sub(op.invoke_us))
            );
        }
        (_, Some(c)) => {
            let _ = write!(
                d,
                " → failed, not applied ({})\ninvoked {} ms · completed {} ms",
                op.error.as_deref().unwrap_or("no reason given"),
                millis(op.invoke_us),
                millis(c)
            );
        }
        (_, None) => {
            let _ = write!(
                d,
                " → outcome unknown ({})\ninvoked {} ms · never completed: it may have taken \
                 effect at any time after, or never",
                op.error.as_deref().unwrap_or("no reason given"),
                millis(op.invoke_us)
            );
        }
    }
    let total = row.order.map_or(0, |o| o.order.len());
    match (pos, row.verdict) {
        (Some(p), Some(KeyVerdict::Linearizable)) => {
            let _ = write!(d, "\nlinearization: {p} of {total}");
        }
        (Some(p), _) => {
            let _ = write!(d, "\nlongest partial linearization: {p} of {total}");
        }
        (None, _) if op.status() == OpStatus::Failed || ignored => {
            d.push_str("\nignored by the checker");
        }
        (None, Some(KeyVerdict::Linearizable)) => {
            d.push_str("\nnot in the linearization: it need never have taken effect");
        }
        _ => {}
    }
    if conflict {
        d.push_str("\n✗ its answer conflicts with the others marked ✗");
    }
    if stuck {
        d.push_str("\n⊘ the search could not place it after the longest partial linearization");
    }
    d
}

/// Microseconds as milliseconds with three decimals.
fn millis(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}
