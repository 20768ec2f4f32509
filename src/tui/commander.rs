//! The commander: carries out the dashboard's effects against the cluster, off the UI loop, and
//! reports each outcome as one line. Prompt commands go to an [`Executor`]; the nemesis runs as
//! a background job ([`super::jobs`]) recording into the same history.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::app::{Effect, Notice};
use super::jobs::{self, NemesisJob};
use crate::check::History;
use crate::cluster::ClusterHandle;
use crate::command::executor::{align, Executor, OpsTracker};
use crate::command::prompt::PromptCommand;

/// Runs effects until the dashboard hangs up, recording client operations into `history` and
/// counting the ones that wait for their answer in `ops`.
pub async fn run(
    cluster: ClusterHandle,
    history: History,
    mut effects: mpsc::Receiver<Effect>,
    results: mpsc::Sender<String>,
    notices: mpsc::Sender<Notice>,
    ops: Arc<OpsTracker>,
) {
    let mut executor =
        Executor::new(cluster.clone(), history.clone(), results.clone()).with_ops(ops);
    // Dropped (cancelled) when the dashboard hangs up.
    let mut nemesis: Option<NemesisJob> = None;
    while let Some(effect) = effects.recv().await {
        let text = match effect {
            Effect::AlignTimers => align(&cluster, false).await,
            Effect::SpreadTimers => align(&cluster, true).await,
            Effect::AdvanceScenario | Effect::StartChallenge(_) => continue,
            Effect::Run(PromptCommand::Nemesis(duration)) => match &nemesis {
                Some(job) if !job.is_finished() => {
                    "error: a nemesis is already running (nemesis stop, or C, ends it)".into()
                }
                _ => {
                    let seed = executor.next_seed();
                    let options = jobs::nemesis_options(seed, duration);
                    let text = format!(
                        "nemesis: {} s of random faults, {} clients on {} keys (C or nemesis \
                         stop ends it)",
                        duration.as_secs(),
                        options.clients,
                        options.keys
                    );
                    nemesis = Some(jobs::start_nemesis(
                        cluster.clone(),
                        history.clone(),
                        options,
                        notices.clone(),
                    ));
                    text
                }
            },
            Effect::Run(PromptCommand::NemesisStop) => match &nemesis {
                Some(job) if !job.is_finished() && !job.stopping() => {
                    job.stop();
                    "stopping the nemesis: healing, then waiting for the nodes to agree, then \
                     the verdict"
                        .into()
                }
                Some(job) if !job.is_finished() => {
                    "the nemesis is already stopping (healing, converging, checking)".into()
                }
                _ => "error: nemesis stop: no nemesis is running".into(),
            },
            Effect::Run(PromptCommand::HistorySave(file)) => {
                let line = PromptCommand::HistorySave(file.clone()).to_string();
                let h = history.clone();
                let saved = tokio::task::spawn_blocking(move || {
                    jobs::save(&h, std::path::Path::new(&file))
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                match saved {
                    Ok(text) => text,
                    Err(e) => format!("error: {line}: {e}"),
                }
            }
            Effect::Run(cmd) => match executor.execute(cmd).await {
                Some(text) => text,
                None => continue,
            },
        };
        if results.send(text).await.is_err() {
            return;
        }
    }
}
