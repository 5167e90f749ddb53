// A registry speaking just enough of the distribution API for tests of the
// paths a real registry will not take on demand: bearer tokens from our own
// token endpoint, basic auth, blobs served with wrong content or cut short,
// redirects to another host, request counting. Header-only (see
// loopback_http_server.h).
#pragma once

#include <openssl/evp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "loopback_http_server.h"

namespace crid::testing {

inline std::string fmt_hex(unsigned char c) {
  static const char* hex = "0123456789abcdef";
  return {hex[c >> 4], hex[c & 15]};
}

inline std::string sha256_of(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_sha256(), nullptr);
  std::string s = "sha256:";
  for (unsigned i = 0; i < n; ++i) s += fmt_hex(out[i]);
  return s;
}

class FakeRegistry {
 public:
  enum class Auth { kNone, kBearer, kBasic };

  explicit FakeRegistry(Auth auth = Auth::kNone, std::string user = "", std::string password = "")
      : auth_(auth), user_(std::move(user)), password_(std::move(password)),
        server_([this](const HttpRequest& r) { return handle(r); }) {}

  std::string host() const { return server_.host(); }
  std::string url() const { return server_.url(); }
  LoopbackHttpServer& server() { return server_; }

  // Stores a blob; returns its digest.
  std::string put_blob(const std::string& content) {
    std::string d = sha256_of(content);
    std::lock_guard lock(mu_);
    blobs_[d] = content;
    return d;
  }
  // Stores a manifest under its digest and, if given, a tag; returns the digest.
  std::string put_manifest(const std::string& repo, const std::string& tag, const std::string& body,
                           const std::string& media_type) {
    std::string d = sha256_of(body);
    std::lock_guard lock(mu_);
    manifests_[repo + "@" + d] = {body, media_type};
    if (!tag.empty()) manifests_[repo + ":" + tag] = {body, media_type};
    return d;
  }
  // Serve `content` instead of the blob stored under `digest`.
  void replace_blob(const std::string& digest, const std::string& content) {
    std::lock_guard lock(mu_);
    blobs_[digest] = content;
  }
  // Close the connection after `bytes` of blob `digest`.
  void cut_blob(const std::string& digest, size_t bytes) {
    std::lock_guard lock(mu_);
    cuts_[digest] = bytes;
  }
  // Answer blob requests with a redirect to `target` + path (another host).
  void redirect_blobs_to(const std::string& target) {
    std::lock_guard lock(mu_);
    redirect_ = target;
  }
  int tokens_issued() const { return tokens_issued_; }

 private:
  static std::string b64(const std::string& in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    return out;
  }

  static HttpReply error(int status, const std::string& code, const std::string& msg) {
    HttpReply r;
    r.status = status;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = R"({"errors": [{"code": ")" + code + R"(", "message": ")" + msg + R"("}]})";
    return r;
  }

  HttpReply challenge(const std::string& repo) {
    HttpReply r = error(401, "UNAUTHORIZED", "authentication required");
    if (auth_ == Auth::kBearer)
      r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"" + url() +
                                                   "/token\",service=\"fake-registry\",scope=\"repository:" +
                                                   repo + ":pull\""});
    else
      r.headers.push_back({"WWW-Authenticate", "Basic realm=\"fake\""});
    return r;
  }

  bool authorized(const HttpRequest& req) {
    std::string a = req.header("authorization");
    if (auth_ == Auth::kNone) return true;
    if (auth_ == Auth::kBasic) return a == "Basic " + b64(user_ + ":" + password_);
    std::lock_guard lock(mu_);
    return a.rfind("Bearer ", 0) == 0 && valid_tokens_.count(a.substr(7));
  }

  HttpReply handle(const HttpRequest& req) {
    if (req.path.rfind("/token", 0) == 0) {
      // Anonymous tokens unless credentials were configured.
      if (!user_.empty() && req.header("authorization") != "Basic " + b64(user_ + ":" + password_))
        return error(401, "UNAUTHORIZED", "bad credentials");
      std::string token = "token-" + std::to_string(++tokens_issued_);
      {
        std::lock_guard lock(mu_);
        valid_tokens_[token] = true;
      }
      HttpReply r;
      r.headers.push_back({"Content-Type", "application/json"});
      r.body = R"({"token": ")" + token + R"(", "expires_in": 300})";
      return r;
    }
    if (req.path == "/v2/" || req.path == "/v2") return authorized(req) ? HttpReply{} : challenge("");
    // /v2/<repo>/manifests/<ref> or /v2/<repo>/blobs/<digest>
    std::string rest = req.path.substr(4);
    size_t m = rest.rfind("/manifests/"), b = rest.rfind("/blobs/");
    std::string repo = rest.substr(0, m != std::string::npos ? m : b);
    if (!authorized(req)) return challenge(repo);
    std::lock_guard lock(mu_);
    if (m != std::string::npos) {
      std::string ref = rest.substr(m + 11);
      auto it = manifests_.find(repo + (ref.rfind("sha256:", 0) == 0 ? "@" : ":") + ref);
      if (it == manifests_.end()) return error(404, "MANIFEST_UNKNOWN", "manifest unknown");
      HttpReply r;
      r.headers.push_back({"Content-Type", it->second.second});
      r.headers.push_back({"Docker-Content-Digest", sha256_of(it->second.first)});
      r.body = it->second.first;
      return r;
    }
    if (b != std::string::npos) {
      std::string digest = rest.substr(b + 7);
      auto it = blobs_.find(digest);
      if (it == blobs_.end()) return error(404, "BLOB_UNKNOWN", "blob unknown to registry");
      if (!redirect_.empty()) {
        HttpReply r;
        r.status = 307;
        r.headers.push_back({"Location", redirect_ + req.path});
        return r;
      }
      HttpReply r;
      r.headers.push_back({"Content-Type", "application/octet-stream"});
      r.body = it->second;
      if (cuts_.count(digest)) r.cut_after = cuts_[digest];
      return r;
    }
    return error(404, "NAME_UNKNOWN", "no such endpoint");
  }

  Auth auth_;
  std::string user_, password_;
  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;
  std::map<std::string, size_t> cuts_;
  std::map<std::string, bool> valid_tokens_;
  std::string redirect_;
  std::atomic<int> tokens_issued_{0};
  LoopbackHttpServer server_;  // last: it calls handle() until destroyed
};

}  // namespace crid::testing
