//! Engines: what the dashboard, scenarios and chaos drive. Two are planned behind one interface
//! (docs/architecture.md): `live`, the real gRPC cluster in real time (today still `cluster`
//! driven directly), and `sim`, the deterministic simulator in simulated time.
//!
//! Today this holds the sim engine's lab ([`sim`]): a run (seed, settings, timed actions)
//! played on the simulator and seen as the dashboard sees the live cluster, which
//! `raftlab lab` opens in the replay dashboard.

pub mod sim;
