//! Optional TLS for `serve` (rustls, with the ring provider), for deployments without a
//! terminating proxy: a PEM certificate chain and its PEM private key.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A server configuration (TLS 1.2 and 1.3, HTTP/1.1) from a PEM certificate chain and key.
/// The key file's content never appears in an error.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let file_error = |path: &Path, reason: String| TlsError::File { path: path.display().to_string(), reason };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_error(cert, format!("cannot read certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(cert, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(cert, "holds no certificate".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|_| file_error(key, "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| TlsError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh self-signed certificate for `localhost` and its key, as PEM files in a temp dir.
    fn certificate() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).expect("write cert.pem");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key.pem");
        (dir, cert, key)
    }

    #[test]
    fn a_certificate_and_key_make_a_config() {
        let (_dir, cert, key) = certificate();
        assert!(server_config(&cert, &key).is_ok());
    }

    #[test]
    fn a_swapped_or_missing_file_is_named_and_the_key_is_not_printed() {
        let (dir, cert, key) = certificate();
        let swapped = server_config(&key, &cert).unwrap_err().to_string();
        assert!(swapped.contains("key.pem") || swapped.contains("cert.pem"), "{swapped}");
        assert!(!swapped.contains("PRIVATE KEY-----\nMI"), "{swapped}");
        let missing = server_config(&dir.path().join("nope.pem"), &key).unwrap_err().to_string();
        assert!(missing.contains("nope.pem"), "{missing}");
    }
}
