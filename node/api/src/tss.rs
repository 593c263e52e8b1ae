//! A validator's threshold-signing participant, attached to its application.

use std::path::Path;
use std::sync::{Arc, Mutex};

use nexus_consensus::Backend;
use nexus_consensus::app::App;
use nexus_tss::keystore::KeystoreError;
use nexus_tss::participant::{Fault, Participant};

/// Opens the keystore under `dir` (encrypted under `key`) and lets `app` put the participant's
/// messages in its vote extensions.
pub(crate) fn attach<B: Backend + Send + Sync + 'static>(
    app: &mut App<B>,
    dir: &Path,
    key: &ed25519_consensus::SigningKey,
) -> Result<(), KeystoreError> {
    let participant = Participant::open(
        &dir.join("keystore"),
        key.verification_key().to_bytes(),
        key.as_bytes(),
        Fault::from_env(),
    )?;
    app.set_tss_source(Arc::new(Mutex::new(participant)));
    Ok(())
}
