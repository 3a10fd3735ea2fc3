//! TLS for LDAPS and StartTLS: a certificate chain and its private key read from PEM
//! files, served with rustls (ring provider, TLS 1.2 and 1.3).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// The server's side of TLS, made once and shared by every connection.
#[derive(Clone)]
pub struct LdapTls {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for LdapTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LdapTls")
    }
}

/// Why a certificate or key cannot be used; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

impl LdapTls {
    /// Reads a PEM certificate chain (the server's certificate first) and the PEM private
    /// key (PKCS#8, PKCS#1 or SEC1) that goes with it.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<LdapTls, TlsError> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path).map_err(|e| TlsError(format!("cannot read the {what} {}: {e}", path.display())))
        };
        let chain_pem = read(certificate, "certificate file")?;
        let key_pem = read(key, "private key file")?;
        let chain = CertificateDer::pem_slice_iter(&chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError(format!("{} is not a valid PEM certificate file: {e}", certificate.display())))?;
        if chain.is_empty() {
            let message = format!("{} holds no PEM certificate (BEGIN CERTIFICATE)", certificate.display());
            return Err(TlsError(message));
        }
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            let why = match e {
                rustls::pki_types::pem::Error::NoItemsFound => "no PEM private key found".to_string(),
                other => other.to_string(),
            };
            TlsError(format!("{} is not a usable private key file: {why}", key.display()))
        })?;
        Self::from_der(chain, private_key).map_err(|e| {
            let (certificate, key) = (certificate.display(), key.display());
            match e {
                rustls::Error::InconsistentKeys(_) => {
                    TlsError(format!("the private key {key} does not match the certificate {certificate}"))
                }
                other => TlsError(format!("cannot use the certificate {certificate} with the key {key}: {other}")),
            }
        })
    }

    fn from_der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<LdapTls, rustls::Error> {
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(LdapTls { acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn pem_pair() -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("a certificate");
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    fn files(dir: &tempfile::TempDir, cert: &str, key: &str) -> (PathBuf, PathBuf) {
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        (cert_path, key_path)
    }

    fn error(cert: &Path, key: &Path) -> String {
        LdapTls::from_pem_files(cert, key).expect_err("refused").to_string()
    }

    #[test]
    fn a_matching_pair_loads_and_anything_else_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pem_pair();
        let (cert_path, key_path) = files(&dir, &cert, &key);
        assert!(LdapTls::from_pem_files(&cert_path, &key_path).is_ok());

        let missing = dir.path().join("missing.pem");
        let message = error(&missing, &key_path);
        assert!(message.contains("certificate file") && message.contains("missing.pem"), "{message}");
        let message = error(&cert_path, &missing);
        assert!(message.contains("private key file") && message.contains("missing.pem"), "{message}");

        // Swapped files, an unrelated key, garbage.
        let message = error(&key_path, &cert_path);
        assert!(message.contains("no PEM certificate") && message.contains("key.pem"), "{message}");
        let (_, other_key) = pem_pair();
        let (cert_path, key_path) = files(&dir, &cert, &other_key);
        let message = error(&cert_path, &key_path);
        assert!(message.contains("does not match") && message.contains("key.pem"), "{message}");
        let (cert_path, key_path) = files(&dir, &cert, "not a key");
        let message = error(&cert_path, &key_path);
        assert!(message.contains("no PEM private key") && message.contains("key.pem"), "{message}");
        let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let (cert_path, key_path) = files(&dir, broken, &key);
        let message = error(&cert_path, &key_path);
        assert!(message.contains("cert.pem"), "{message}");
    }
}
