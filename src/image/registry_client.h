// A client for the Docker Registry HTTP API v2 / OCI distribution API on
// libcurl: manifests, blobs streamed with their digest and size checked as
// bytes arrive, anonymous bearer tokens, basic auth, credentials from CRI or
// a docker-style auth file, per-registry CA dirs, insecure (http)
// registries and pull-through mirrors tried before the origin.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "config/config_holder.h"
#include "image/reference.h"
#include "image/types.h"
#include "util/cancel.h"
#include "util/result.h"

namespace crid::image {

// Credentials as CRI's AuthConfig carries them.
struct AuthConfig {
  std::string username;
  std::string password;
  std::string auth;  // base64("user:password")
  std::string server_address;
  std::string identity_token;  // an OAuth2 refresh token for the token service
  std::string registry_token;  // a bearer token sent as is
  bool empty() const {
    return username.empty() && password.empty() && auth.empty() && identity_token.empty() &&
           registry_token.empty();
  }
};

struct FetchedManifest {
  std::string body;
  std::string media_type;  // Content-Type as served
  std::string digest;      // sha256 of body
};

// Receives blob bytes in order; an error stops the transfer.
using BlobSink = std::function<Status(const char* data, size_t len)>;

// Parsed `WWW-Authenticate` challenge.
struct AuthChallenge {
  std::string scheme;  // "bearer" or "basic" (lowercase)
  std::map<std::string, std::string> params;  // realm, service, scope ...
};
Result<AuthChallenge> parse_www_authenticate(std::string_view header);

// Credentials for `host` ("quay.io", "127.0.0.1:5000") from a docker-style
// auth file ({"auths": {"host": {"auth": "base64"}}}); empty when absent.
Result<AuthConfig> lookup_auth_file(const std::string& path, const std::string& host);

Result<std::string> base64_decode(std::string_view in);

class RegistryClient {
 public:
  explicit RegistryClient(ConfigHolder& config);
  ~RegistryClient();

  // Every request below stops (kCancelled, no other endpoint tried) once
  // `cancelled` says the caller gave up, also in the middle of a transfer.

  // The manifest `ref.manifest_ref()` of `ref` (a digest is verified).
  Result<FetchedManifest> get_manifest(const Reference& ref, const std::string& manifest_ref,
                                       const AuthConfig& auth, const CancelCheck& cancelled = {});

  // Streams blob `desc` of `ref`'s repository into `sink`, verifying size
  // and digest; fails (after the sink saw at most desc.size bytes) on a
  // mismatch. The sink sees all bytes before success is reported.
  // `label` prefixes progress and error log lines.
  Status get_blob(const Reference& ref, const Descriptor& desc, const AuthConfig& auth,
                  const BlobSink& sink, const std::string& label, const CancelCheck& cancelled = {});

  // A small blob (an image config) into memory, verified.
  Result<std::string> get_blob_bytes(const Reference& ref, const Descriptor& desc,
                                     const AuthConfig& auth, int64_t max_bytes,
                                     const CancelCheck& cancelled = {});

  // Requests made so far (for tests and the log).
  int64_t request_count() const;
  // Blob bytes received from registries so far (metrics).
  uint64_t blob_bytes_received() const { return blob_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Endpoint;
  struct Request;
  struct Response;

  std::vector<Endpoint> endpoints(const Config& cfg, const Reference& ref, const AuthConfig& auth);
  Result<Response> fetch(const Config& cfg, const Endpoint& ep, const Reference& ref,
                         const std::string& path, const std::string& accept, const BlobSink* sink,
                         const std::string& label, const CancelCheck* cancelled);
  Result<Response> perform(const Config& cfg, const Endpoint& ep, Request req);
  Result<std::string> bearer_token(const Config& cfg, const Endpoint& ep, const AuthChallenge& ch,
                                   const std::string& scope, const CancelCheck* cancelled);

  ConfigHolder& config_;
  mutable std::mutex mu_;
  struct CachedToken {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedToken> tokens_;  // key: host|scope|user
  std::map<std::string, bool> basic_hosts_;     // hosts that asked for basic auth
  int64_t requests_ = 0;
  std::atomic<uint64_t> blob_bytes_{0};
};

}  // namespace crid::image
