//! raftlab's integration tests, as one test binary (one link of the library instead of one per
//! file). Each module is one subject; `common` holds what they share.
//!
//! Tests that run real sockets, timers or processes take [`common::real_time`] first, so at most
//! one of them runs at a time (beside at most one CPU-bound test, with the default two test
//! threads): their deadlines are generous, but a 2-core machine running two clusters and a chaos
//! run at once is more load than they were written for.

mod common;

mod bench;
mod challenges;
mod chaos;
mod cluster;
mod config;
mod crash;
mod dashboard_tmux;
mod dashboard_view;
mod disk_faults;
mod docs;
mod export;
mod golden;
mod guided_tmux;
mod history_page;
mod keys_doc;
mod lab;
mod lab_tmux;
mod layers;
mod membership;
mod paste_tmux;
mod raft_paper;
mod replay;
mod rules;
mod scenarios;
mod serve;
mod sim_lab;
mod transport;
mod unsafe_rules;
