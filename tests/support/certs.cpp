#include "tests/support/certs.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace lwm2msim::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct FileClose {
  void operator()(FILE* f) const { fclose(f); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using FilePtr = std::unique_ptr<FILE, FileClose>;

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("test certificates: ") + what);
  }
}

PkeyPtr make_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, "X509_add_ext");
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed when issuer is null).
X509Ptr make_cert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                  long serial) {
  X509Ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
  // Valid from an hour ago so clock skew between the steps of a test never matters.
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) == 1,
        "CN");
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) == 1, "issuer");
  if (ca) {
    add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), issuer_cert, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature");
  }
  add_extension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return cert;
}

void write_cert(const std::string& path, X509* cert) {
  FilePtr f(fopen(path.c_str(), "w"));
  check(f != nullptr, "cannot write a certificate file");
  check(PEM_write_X509(f.get(), cert) == 1, "PEM_write_X509");
}

void write_key(const std::string& path, EVP_PKEY* key) {
  FilePtr f(fopen(path.c_str(), "w"));
  check(f != nullptr, "cannot write a key file");
  check(PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_PrivateKey");
}

}  // namespace

TestCertificates make_test_certificates(const std::string& dir) {
  TestCertificates out;
  out.ca_file = dir + "/ca.pem";
  out.server_cert_file = dir + "/server.pem";
  out.server_key_file = dir + "/server-key.pem";
  out.client_cert_file = dir + "/client.pem";
  out.client_key_file = dir + "/client-key.pem";
  out.other_ca_file = dir + "/other-ca.pem";
  out.other_server_cert_file = dir + "/other-server.pem";
  out.other_server_key_file = dir + "/other-server-key.pem";
  out.other_client_cert_file = dir + "/other-client.pem";
  out.other_client_key_file = dir + "/other-client-key.pem";

  PkeyPtr ca_key = make_key();
  X509Ptr ca = make_cert("lwm2m-sim test CA", ca_key.get(), nullptr, nullptr, true, 1);
  PkeyPtr server_key = make_key();
  X509Ptr server = make_cert("server", server_key.get(), ca.get(), ca_key.get(), false, 2);
  PkeyPtr client_key = make_key();
  X509Ptr client = make_cert("client", client_key.get(), ca.get(), ca_key.get(), false, 3);
  PkeyPtr other_ca_key = make_key();
  X509Ptr other_ca = make_cert("lwm2m-sim other CA", other_ca_key.get(), nullptr, nullptr, true, 4);
  PkeyPtr other_server_key = make_key();
  X509Ptr other_server =
      make_cert("server", other_server_key.get(), other_ca.get(), other_ca_key.get(), false, 5);
  PkeyPtr other_client_key = make_key();
  X509Ptr other_client =
      make_cert("client", other_client_key.get(), other_ca.get(), other_ca_key.get(), false, 6);

  write_cert(out.ca_file, ca.get());
  write_cert(out.server_cert_file, server.get());
  write_key(out.server_key_file, server_key.get());
  write_cert(out.client_cert_file, client.get());
  write_key(out.client_key_file, client_key.get());
  write_cert(out.other_ca_file, other_ca.get());
  write_cert(out.other_server_cert_file, other_server.get());
  write_key(out.other_server_key_file, other_server_key.get());
  write_cert(out.other_client_cert_file, other_client.get());
  write_key(out.other_client_key_file, other_client_key.get());
  return out;
}

}  // namespace lwm2msim::testing
