//! A throwaway TLS certificate authority and server certificate, made fresh for each test that
//! serves over TLS on loopback, so no private key is ever committed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tempfile::TempDir;

/// PEM files in a temporary directory: the CA's certificate (for clients to trust) and a server
/// certificate for `127.0.0.1` and `localhost` with its key (mode 0600).
pub struct TestCertificate {
    _dir: TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCertificate {
    pub fn generate() -> TestCertificate {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "credledger test CA");
        let ca = ca_params.self_signed(&ca_key).expect("self-signed CA");
        let server_key = KeyPair::generate().expect("server key");
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("server params");
        server_params.distinguished_name.push(DnType::CommonName, "credledger test server");
        let server = server_params.signed_by(&server_key, &Issuer::new(ca_params, ca_key)).expect("server certificate");

        let (ca_path, cert, key) = (dir.path().join("ca.pem"), dir.path().join("cert.pem"), dir.path().join("key.pem"));
        fs::write(&ca_path, ca.pem()).expect("write ca.pem");
        fs::write(&cert, server.pem()).expect("write cert.pem");
        fs::write(&key, server_key.serialize_pem()).expect("write key.pem");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod key.pem");
        TestCertificate { _dir: dir, ca: ca_path, cert, key }
    }
}
