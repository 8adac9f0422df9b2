//! An emulator that a command (`demo`, `compose up`) starts in its own
//! process: on `127.0.0.1:0`, in memory, under its own instance name. It
//! is always shut down: explicitly, or, if the command's future is
//! dropped (a caller's timeout, a panic), from a drop guard that removes
//! its Docker objects from a separate thread, as the test harness does.

use std::future::Future;

use crate::config::Config;
use crate::Emulator;

/// Why [`EmbeddedEmulator::start`] returned without an emulator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start the emulator: {0:#}")]
    Failed(anyhow::Error),
    #[error("cancelled")]
    Cancelled,
}

pub struct EmbeddedEmulator {
    emulator: Option<Emulator>,
    instance: String,
}

impl EmbeddedEmulator {
    /// Starts an emulator from `config` (its listen address, instance name
    /// and time scale replaced; nothing is kept on disk), or stops when
    /// `cancel` completes first. Either way nothing is left behind on
    /// failure: start-up may have created the network before it stopped.
    pub async fn start(
        config: Config,
        instance: &str,
        time_scale: f64,
        cancel: impl Future<Output = ()>,
    ) -> Result<Self, StartError> {
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("literal address"),
            instance: instance.to_string(),
            time_scale,
            // A throwaway instance: nothing of it is worth keeping.
            state_dir: None,
            in_memory: true,
            ..config
        };
        let started = tokio::select! {
            started = Emulator::start(config) => started.map_err(StartError::Failed),
            _ = cancel => Err(StartError::Cancelled),
        };
        match started {
            Ok(emulator) => Ok(Self {
                emulator: Some(emulator),
                instance: instance.to_string(),
            }),
            Err(e) => {
                let _ = crate::runtime::docker::cleanup_instance(instance).await;
                Err(e)
            }
        }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn endpoint_url(&self) -> String {
        self.emulator
            .as_ref()
            .map(Emulator::endpoint_url)
            .unwrap_or_default()
    }

    /// Stops every task and removes every container and network.
    pub async fn shutdown(mut self) {
        if let Some(emulator) = self.emulator.take() {
            emulator.shutdown().await;
        }
    }
}

impl Drop for EmbeddedEmulator {
    fn drop(&mut self) {
        if self.emulator.is_none() {
            return;
        }
        let instance = self.instance.clone();
        // Drop cannot await on the caller's runtime: a private one does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                let _ = rt.block_on(crate::runtime::docker::cleanup_instance(&instance));
            }
        })
        .join();
    }
}
