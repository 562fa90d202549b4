// DTLS 1.2 record protection after the handover: AES-CCM(_8) and AES-GCM with a 4-byte salt and
// an 8-byte explicit nonce (RFC 6655, 7251, 5288), ChaCha20-Poly1305 with a 12-byte IV XORed with
// the sequence number (RFC 7905); the replay window of RFC 6347 4.1.2.6; key expansion of
// RFC 5246 6.3.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <cstring>
#include <string_view>

#include "sim/dtls/dtls_internal.h"

namespace lwm2msim {
namespace dtls_internal {
namespace {

constexpr std::string_view kKeyExpansionLabel = "key expansion";

uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint64_t load48(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

void store64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

void store16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// The per-record nonce: salt || explicit nonce, or IV XOR (0^32 || epoch_seq).
void make_nonce(const AeadParams& p, const std::array<uint8_t, 12>& iv,
                const uint8_t* explicit_nonce, uint64_t epoch_seq, uint8_t nonce[12]) {
  if (p.explicit_nonce_len != 0) {
    std::memcpy(nonce, iv.data(), 4);
    std::memcpy(nonce + 4, explicit_nonce, 8);
    return;
  }
  uint8_t seq[8];
  store64(seq, epoch_seq);
  std::memcpy(nonce, iv.data(), 12);
  for (int i = 0; i < 8; ++i) {
    nonce[4 + i] ^= seq[i];
  }
}

}  // namespace

bool is_ccm(AeadKind kind) {
  return kind == AeadKind::kAes128Ccm8 || kind == AeadKind::kAes256Ccm8 ||
         kind == AeadKind::kAes128Ccm || kind == AeadKind::kAes256Ccm;
}

const char* aead_cipher_name(AeadKind kind) {
  switch (kind) {
    case AeadKind::kAes128Ccm8:
    case AeadKind::kAes128Ccm:
      return "AES-128-CCM";
    case AeadKind::kAes256Ccm8:
    case AeadKind::kAes256Ccm:
      return "AES-256-CCM";
    case AeadKind::kAes128Gcm:
      return "AES-128-GCM";
    case AeadKind::kAes256Gcm:
      return "AES-256-GCM";
    case AeadKind::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
    case AeadKind::kNone:
      break;
  }
  return nullptr;
}

std::optional<RecordView> parse_record(std::span<const uint8_t> data) {
  if (data.size() < kRecordHeaderLen) {
    return std::nullopt;
  }
  const size_t len = load16(&data[11]);
  if (data.size() - kRecordHeaderLen < len) {
    return std::nullopt;
  }
  RecordView r;
  r.type = data[0];
  r.version = load16(&data[1]);
  r.epoch = load16(&data[3]);
  r.seq = load48(&data[5]);
  r.fragment = data.subspan(kRecordHeaderLen, len);
  r.whole = data.first(kRecordHeaderLen + len);
  return r;
}

AeadParams aead_params(AeadKind kind) {
  switch (kind) {
    case AeadKind::kAes128Ccm8:
      return {16, 4, 8, 8};
    case AeadKind::kAes256Ccm8:
      return {32, 4, 8, 8};
    case AeadKind::kAes128Ccm:
    case AeadKind::kAes128Gcm:
      return {16, 4, 8, 16};
    case AeadKind::kAes256Ccm:
    case AeadKind::kAes256Gcm:
      return {32, 4, 8, 16};
    case AeadKind::kChaCha20Poly1305:
      return {32, 12, 0, 16};
    case AeadKind::kNone:
      break;
  }
  return {};
}

AeadKind aead_kind_of(const SSL_CIPHER* cipher) {
  if (cipher == nullptr || SSL_CIPHER_is_aead(cipher) == 0) {
    return AeadKind::kNone;
  }
  // OpenSSL reports CCM and CCM_8 with the same cipher NID; only the suite name tells the tag.
  const bool ccm8 =
      std::string_view(SSL_CIPHER_get_name(cipher)).find("CCM8") != std::string_view::npos;
  switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_aes_128_ccm:
      return ccm8 ? AeadKind::kAes128Ccm8 : AeadKind::kAes128Ccm;
    case NID_aes_256_ccm:
      return ccm8 ? AeadKind::kAes256Ccm8 : AeadKind::kAes256Ccm;
    case NID_aes_128_gcm:
      return AeadKind::kAes128Gcm;
    case NID_aes_256_gcm:
      return AeadKind::kAes256Gcm;
    case NID_chacha20_poly1305:
      return AeadKind::kChaCha20Poly1305;
    default:
      return AeadKind::kNone;
  }
}

bool ReplayWindow::seen(uint64_t seq) const {
  if (seq > top) {
    return false;
  }
  const uint64_t age = top - seq;
  if (age >= 64) {
    return true;
  }
  return ((bits >> age) & 1) != 0;
}

void ReplayWindow::mark(uint64_t seq) {
  if (seq > top) {
    const uint64_t shift = seq - top;
    bits = shift >= 64 ? 0 : bits << shift;
    bits |= 1;
    top = seq;
    return;
  }
  const uint64_t age = top - seq;
  if (age < 64) {
    bits |= uint64_t{1} << age;
  }
}

RecordKeys::~RecordKeys() {
  OPENSSL_cleanse(write_key.data(), write_key.size());
  OPENSSL_cleanse(read_key.data(), read_key.size());
}

bool derive_record_keys(SSL* ssl, bool is_server, EVP_KDF* prf, DtlsScratch::Impl&,
                        RecordKeys& keys) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const AeadKind kind = aead_kind_of(cipher);
  const SSL_SESSION* session = SSL_get_session(ssl);
  const EVP_MD* md = SSL_CIPHER_get_handshake_digest(cipher);
  if (kind == AeadKind::kNone || session == nullptr || md == nullptr || prf == nullptr) {
    return false;
  }
  const AeadParams p = aead_params(kind);
  std::array<uint8_t, SSL_MAX_MASTER_KEY_LENGTH> master{};
  const size_t master_len = SSL_SESSION_get_master_key(session, master.data(), master.size());
  std::array<uint8_t, kKeyExpansionLabel.size() + 2 * SSL3_RANDOM_SIZE> seed{};
  std::memcpy(seed.data(), kKeyExpansionLabel.data(), kKeyExpansionLabel.size());
  uint8_t* server_random = seed.data() + kKeyExpansionLabel.size();
  uint8_t* client_random = server_random + SSL3_RANDOM_SIZE;
  if (master_len == 0 ||
      SSL_get_server_random(ssl, server_random, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE ||
      SSL_get_client_random(ssl, client_random, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE) {
    return false;
  }
  // AEAD suites have no MAC keys: the block is the two keys, then the two IVs.
  std::array<uint8_t, 2 * 32 + 2 * 12> block{};
  const size_t block_len = 2 * p.key_len + 2 * p.fixed_iv_len;
  KdfCtxPtr kctx(EVP_KDF_CTX_new(prf));
  if (kctx == nullptr) {
    return false;
  }
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                       const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master.data(), master_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(kctx.get(), block.data(), block_len, params) == 1;
  OPENSSL_cleanse(master.data(), master.size());
  if (!ok) {
    return false;
  }
  const uint8_t* client_key = block.data();
  const uint8_t* server_key = client_key + p.key_len;
  const uint8_t* client_iv = server_key + p.key_len;
  const uint8_t* server_iv = client_iv + p.fixed_iv_len;
  keys.kind = kind;
  std::memcpy(keys.write_key.data(), is_server ? server_key : client_key, p.key_len);
  std::memcpy(keys.read_key.data(), is_server ? client_key : server_key, p.key_len);
  std::memcpy(keys.write_iv.data(), is_server ? server_iv : client_iv, p.fixed_iv_len);
  std::memcpy(keys.read_iv.data(), is_server ? client_iv : server_iv, p.fixed_iv_len);
  OPENSSL_cleanse(block.data(), block.size());
  return true;
}

bool seal_record(DtlsScratch::Impl& scratch, RecordKeys& keys, uint8_t type,
                 std::span<const uint8_t> plaintext, std::vector<uint8_t>& out) {
  if (keys.write_seq > kMaxSequence || plaintext.size() > kMaxPlaintext) {
    return false;
  }
  const AeadParams p = aead_params(keys.kind);
  EVP_CIPHER_CTX* ctx = scratch.cipher_ctx(keys.kind, true);
  if (ctx == nullptr) {
    return false;
  }
  const uint64_t epoch_seq = (uint64_t{keys.epoch} << 48) | keys.write_seq;
  const size_t body_len = p.explicit_nonce_len + plaintext.size() + p.tag_len;
  const size_t start = out.size();
  out.resize(start + kRecordHeaderLen + body_len);
  uint8_t* rec = out.data() + start;
  rec[0] = type;
  store16(rec + 1, kDtls12Version);
  store64(rec + 3, epoch_seq);  // epoch (2) and sequence number (6)
  store16(rec + 11, body_len);
  uint8_t* explicit_nonce = rec + kRecordHeaderLen;
  if (p.explicit_nonce_len != 0) {
    store64(explicit_nonce, epoch_seq);
  }
  uint8_t* ct = explicit_nonce + p.explicit_nonce_len;
  uint8_t nonce[12];
  make_nonce(p, keys.write_iv, explicit_nonce, epoch_seq, nonce);
  uint8_t aad[13];
  store64(aad, epoch_seq);
  aad[8] = type;
  store16(aad + 9, kDtls12Version);
  store16(aad + 11, plaintext.size());
  int n = 0;
  const int len = static_cast<int>(plaintext.size());
  bool ok = EVP_EncryptInit_ex(ctx, nullptr, nullptr, keys.write_key.data(), nonce) == 1;
  if (ok && is_ccm(keys.kind)) {
    ok = EVP_EncryptUpdate(ctx, nullptr, &n, nullptr, len) == 1;
  }
  ok = ok && EVP_EncryptUpdate(ctx, nullptr, &n, aad, sizeof(aad)) == 1;
  int written = 0;
  if (ok && len > 0) {
    ok = EVP_EncryptUpdate(ctx, ct, &written, plaintext.data(), len) == 1;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx, ct + written, &n) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(p.tag_len),
                                 ct + plaintext.size()) == 1;
  if (!ok) {
    out.resize(start);
    return false;
  }
  ++keys.write_seq;
  return true;
}

bool open_record(DtlsScratch::Impl& scratch, const RecordKeys& keys, const RecordView& rec,
                 std::vector<uint8_t>& out) {
  const AeadParams p = aead_params(keys.kind);
  if (rec.fragment.size() < p.explicit_nonce_len + p.tag_len ||
      rec.fragment.size() - p.explicit_nonce_len - p.tag_len > kMaxPlaintext) {
    return false;
  }
  EVP_CIPHER_CTX* ctx = scratch.cipher_ctx(keys.kind, false);
  if (ctx == nullptr) {
    return false;
  }
  const size_t ct_len = rec.fragment.size() - p.explicit_nonce_len - p.tag_len;
  const uint8_t* ct = rec.fragment.data() + p.explicit_nonce_len;
  const uint64_t epoch_seq = (uint64_t{rec.epoch} << 48) | rec.seq;
  uint8_t nonce[12];
  make_nonce(p, keys.read_iv, rec.fragment.data(), epoch_seq, nonce);
  uint8_t aad[13];
  store64(aad, epoch_seq);
  aad[8] = rec.type;
  store16(aad + 9, rec.version);
  store16(aad + 11, ct_len);
  // Room for the plaintext, and at least one byte so data() is never null.
  out.resize(ct_len + 1);
  uint8_t tag[16];
  std::memcpy(tag, ct + ct_len, p.tag_len);
  int n = 0;
  const int len = static_cast<int>(ct_len);
  bool ok = EVP_DecryptInit_ex(ctx, nullptr, nullptr, keys.read_key.data(), nonce) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(p.tag_len), tag) == 1;
  if (ok && is_ccm(keys.kind)) {
    ok = EVP_DecryptUpdate(ctx, nullptr, &n, nullptr, len) == 1;
  }
  ok = ok && EVP_DecryptUpdate(ctx, nullptr, &n, aad, sizeof(aad)) == 1;
  int written = 0;
  // CCM authenticates in the update that carries the ciphertext, so it runs even when empty.
  if (ok && (len > 0 || is_ccm(keys.kind))) {
    ok = EVP_DecryptUpdate(ctx, out.data(), &written, len > 0 ? ct : tag, len) == 1;
  }
  if (ok && !is_ccm(keys.kind)) {
    ok = EVP_DecryptFinal_ex(ctx, out.data() + written, &n) == 1;
  }
  out.resize(ok ? ct_len : 0);
  return ok;
}

}  // namespace dtls_internal

}  // namespace lwm2msim
