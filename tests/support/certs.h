// Test certificates: an EC P-256 CA with a server and a client certificate it signed, and a second,
// unrelated CA with its own server certificate for negative tests. Generated with OpenSSL at run
// time so no key material lives in the repository.
#pragma once

#include <string>

namespace lwm2msim::testing {

struct TestCertificates {
  std::string ca_file;  // trust anchor of the good chain
  std::string server_cert_file;
  std::string server_key_file;
  std::string client_cert_file;
  std::string client_key_file;
  std::string other_ca_file;           // an unrelated CA
  std::string other_server_cert_file;  // signed by the unrelated CA
  std::string other_server_key_file;
  std::string other_client_cert_file;  // signed by the unrelated CA
  std::string other_client_key_file;
};

// Writes the PEM files into `dir` (which must exist) and returns their paths; throws
// std::runtime_error when OpenSSL fails.
TestCertificates make_test_certificates(const std::string& dir);

}  // namespace lwm2msim::testing
