#include "image/registry_client.h"

#include <curl/curl.h>
#include <dirent.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/manifest.h"
#include "util/fs.h"
#include "util/log.h"

namespace crid::image {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// "host[:port]" of an http(s) URL.
std::string url_host(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = host.rfind('@');
  return at == std::string::npos ? host : host.substr(at + 1);
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {tbl[n >> 18], tbl[(n >> 12) & 63], tbl[(n >> 6) & 63], tbl[n & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += {tbl[n >> 18], tbl[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {tbl[n >> 18], tbl[(n >> 12) & 63], tbl[(n >> 6) & 63], '='};
  }
  return out;
}

// The registry's own words from an error body ({"errors": [{"code", "message"}]}).
std::string registry_error_text(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array() ||
      j["errors"].empty())
    return "";
  auto& e = j["errors"][0];
  std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
  std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  return lower(code) + (msg.empty() ? "" : ": " + msg);
}

struct Credentials {
  std::string username, password, identity_token, registry_token;
  bool basic() const { return !username.empty() || !password.empty(); }
  bool empty() const { return !basic() && identity_token.empty() && registry_token.empty(); }
};

Result<Credentials> to_credentials(const AuthConfig& a) {
  Credentials c{a.username, a.password, a.identity_token, a.registry_token};
  if (!a.auth.empty()) {
    CRID_ASSIGN(std::string decoded, base64_decode(a.auth));
    size_t colon = decoded.find(':');
    if (colon == std::string::npos)
      return make_error(ErrorKind::kInvalidArgument, "auth is not base64 of \"user:password\"");
    c.username = decoded.substr(0, colon);
    c.password = decoded.substr(colon + 1);
  }
  return c;
}

// Key under which a host's credentials are found in an auth file:
// "https://index.docker.io/v1/" and "quay.io" both reduce to the host.
std::string auth_key_host(std::string key) {
  size_t scheme = key.find("://");
  if (scheme != std::string::npos) key = key.substr(scheme + 3);
  size_t slash = key.find('/');
  if (slash != std::string::npos) key = key.substr(0, slash);
  if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
  return key;
}

}  // namespace

Result<std::string> base64_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=' || c == '\n' || c == '\r') continue;
    else return make_error(ErrorKind::kInvalidArgument, "invalid base64 character");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Result<AuthChallenge> parse_www_authenticate(std::string_view header) {
  std::string h = trim(header);
  size_t sp = h.find(' ');
  AuthChallenge ch;
  ch.scheme = lower(h.substr(0, sp));
  if (ch.scheme != "bearer" && ch.scheme != "basic")
    return make_error(ErrorKind::kUnauthenticated, "unsupported authentication scheme \"{}\"", ch.scheme);
  if (sp == std::string::npos) return ch;
  size_t i = sp + 1;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    size_t eq = h.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = lower(trim(std::string_view(h).substr(i, eq - i)));
    std::string value;
    i = eq + 1;
    if (i < h.size() && h[i] == '"') {
      ++i;
      while (i < h.size() && h[i] != '"') {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value += h[i++];
      }
      ++i;  // closing quote
    } else {
      size_t end = h.find(',', i);
      value = trim(std::string_view(h).substr(i, end == std::string::npos ? std::string::npos : end - i));
      i = end == std::string::npos ? h.size() : end;
    }
    ch.params[key] = value;
  }
  if (ch.scheme == "bearer" && !ch.params.count("realm"))
    return make_error(ErrorKind::kUnauthenticated, "bearer challenge without a realm: {}", h);
  return ch;
}

Result<AuthConfig> lookup_auth_file(const std::string& path, const std::string& host) {
  AuthConfig out;
  if (path.empty() || !fs::exists(path)) return out;
  CRID_ASSIGN(std::string text, fs::read_file(path, 4 << 20));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorKind::kInvalidArgument, "auth file {} is not a JSON object", path);
  if (!j.contains("auths") || !j["auths"].is_object()) return out;
  std::string want = auth_key_host(host);
  for (auto& item : j["auths"].items()) {
    const auto& entry = item.value();
    if (auth_key_host(item.key()) != want || !entry.is_object()) continue;
    auto str = [&](const char* k) {
      return entry.contains(k) && entry[k].is_string() ? entry[k].get<std::string>() : std::string();
    };
    out.auth = str("auth");
    out.username = str("username");
    out.password = str("password");
    out.identity_token = str("identitytoken");
    out.registry_token = str("registrytoken");
    return out;
  }
  return out;
}

// Where one request can go: a mirror, or the registry itself.
struct RegistryClient::Endpoint {
  std::string base_url;  // "https://quay.io", "http://127.0.0.1:5000"
  std::string host;      // host[:port], for credentials, CA dirs and the log
  std::string registry;  // the image's registry, for messages
  bool mirror = false;
  Credentials creds;
};

struct RegistryClient::Request {
  std::string url;
  std::vector<std::string> headers;
  std::string auth_header;
  std::string post_body;  // POST when non-empty
  const BlobSink* sink = nullptr;  // 2xx bodies go here when set
  std::string label;
  const CancelCheck* cancelled = nullptr;  // the caller gave up: abort
};

struct RegistryClient::Response {
  long status = 0;
  std::string body;  // when not streamed to a sink
  std::map<std::string, std::string> headers;  // lowercase names
  std::string url;
  int64_t streamed = 0;
};

namespace {

struct Transfer {
  const BlobSink* sink = nullptr;
  CURL* curl = nullptr;
  std::string body;
  std::map<std::string, std::string> headers;
  Status sink_status;
  int64_t streamed = 0;
  std::string label;
  CancelPoll* cancel = nullptr;
  Clock::time_point started = Clock::now();
  Clock::time_point last_log = Clock::now();
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->headers.clear();  // a new response (after 100 or a redirect)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos)
    t->headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink && status >= 200 && status < 300) {
    t->sink_status = (*t->sink)(data, size * n);
    if (!t->sink_status) return 0;  // aborts with CURLE_WRITE_ERROR
    t->streamed += size * n;
    return size * n;
  }
  // Error bodies and small documents; cap what we keep.
  if (t->body.size() < (64u << 20)) t->body.append(data, size * n);
  return size * n;
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  // libcurl calls this as bytes arrive and about once a second when idle:
  // non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
  if (t->cancel && (*t->cancel)()) return 1;
  auto now = Clock::now();
  if (t->sink && now - t->last_log >= std::chrono::seconds(5)) {
    t->last_log = now;
    double secs = std::chrono::duration<double>(now - t->started).count();
    double mib = dlnow / 1048576.0;
    spdlog::info("[{}] {:.1f} MiB of {:.1f} MiB ({:.1f} MiB/s)", t->label, mib, dltotal / 1048576.0,
                 secs > 0 ? mib / secs : 0.0);
  }
  return 0;
}

// CA certificates for a host: the system bundle plus <certs_dir>/<host>/*.crt,
// and a client certificate pair (*.cert + *.key) if present.
struct TlsFiles {
  std::string ca_blob;
  std::string client_cert, client_key;
};

TlsFiles tls_files(const std::string& certs_dir, const std::string& host) {
  TlsFiles out;
  if (certs_dir.empty()) return out;
  std::string dir = certs_dir + "/" + host;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) names.push_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string extra;
  for (auto& n : names) {
    auto ends = [&](std::string_view s) { return n.size() > s.size() && n.ends_with(s); };
    if (ends(".crt")) {
      if (auto c = fs::read_file(dir + "/" + n, 1 << 20)) extra += *c + "\n";
    } else if (ends(".cert")) {
      out.client_cert = dir + "/" + n;
      out.client_key = dir + "/" + n.substr(0, n.size() - 5) + ".key";
    }
  }
  if (!extra.empty()) {
    auto system = fs::read_file("/etc/ssl/certs/ca-certificates.crt", 8 << 20);
    out.ca_blob = (system ? *system + "\n" : std::string()) + extra;
  }
  return out;
}

}  // namespace

RegistryClient::RegistryClient(ConfigHolder& config) : config_(config) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

RegistryClient::~RegistryClient() = default;

int64_t RegistryClient::request_count() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<RegistryClient::Endpoint> RegistryClient::endpoints(const Config& cfg, const Reference& ref,
                                                                const AuthConfig& auth) {
  std::vector<Endpoint> out;
  auto settings = cfg.registries.find(ref.registry);
  auto file_creds = [&](const std::string& host) {
    auto a = lookup_auth_file(cfg.auth_file, host);
    if (!a) {
      spdlog::warn("[pull {}] ignoring auth file: {}", ref.str(), a.error().message());
      return Credentials{};
    }
    auto c = to_credentials(*a);
    return c ? *c : Credentials{};
  };
  if (settings != cfg.registries.end()) {
    for (const auto& m : settings->second.mirrors) {
      Endpoint ep;
      ep.base_url = m.find("://") == std::string::npos ? "https://" + m : m;
      while (ep.base_url.ends_with("/")) ep.base_url.pop_back();
      ep.host = url_host(ep.base_url);
      ep.registry = ref.registry;
      ep.mirror = true;
      // Credentials given for the image's registry are not sent to mirrors,
      // which may be run by someone else; mirrors use the auth file only.
      ep.creds = file_creds(ep.host);
      out.push_back(std::move(ep));
    }
  }
  Endpoint origin;
  bool insecure = settings != cfg.registries.end() && settings->second.insecure;
  std::string api_host = ref.registry == "docker.io" ? "registry-1.docker.io" : ref.registry;
  origin.base_url = (insecure ? "http://" : "https://") + api_host;
  origin.host = ref.registry;
  origin.registry = ref.registry;
  auto cri = to_credentials(auth);
  if (!auth.empty() && cri) origin.creds = *cri;
  else origin.creds = file_creds(ref.registry);
  out.push_back(std::move(origin));
  return out;
}

Result<RegistryClient::Response> RegistryClient::perform(const Config& cfg, const Endpoint& ep, Request req) {
  std::string first_host = url_host(req.url);
  CancelPoll cancel(req.cancelled ? *req.cancelled : CancelCheck{});
  for (int hop = 0; hop < 10; ++hop) {
    if (cancel()) return make_error(ErrorKind::kCancelled, "{}: stopped, the caller gave up", req.url);
    {
      std::lock_guard lock(mu_);
      ++requests_;
    }
    CURL* curl = curl_easy_init();
    if (!curl) return make_error(ErrorKind::kInternal, "cannot create an HTTP handle");
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> guard(curl, curl_easy_cleanup);
    Transfer t;
    t.sink = req.sink;
    t.curl = curl;
    t.label = req.label;
    t.cancel = &cancel;
    curl_slist* headers = nullptr;
    for (auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
    // Credentials go only to the host they were meant for, never along a
    // redirect to blob storage elsewhere.
    if (!req.auth_header.empty() && url_host(req.url) == first_host)
      headers = curl_slist_append(headers, ("Authorization: " + req.auth_header).c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hguard(headers, curl_slist_free_all);

    std::string host = url_host(req.url);
    TlsFiles tls = tls_files(cfg.certs_dir, host);
    curl_blob ca{tls.ca_blob.data(), tls.ca_blob.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "crid/" CRID_VERSION);
    // Slow pulls time out on no progress, never on total time; a connection
    // or TLS handshake that goes nowhere counts as no progress too.
    long stall = std::max<long>(1, std::chrono::duration_cast<std::chrono::seconds>(
                                       cfg.pull_progress_timeout).count());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, std::min<long>(stall, 30));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    if (!tls.ca_blob.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
    if (!tls.client_cert.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.client_cert.c_str());
      curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.client_key.c_str());
    }
    auto reg = cfg.registries.find(host);
    if (reg != cfg.registries.end() && reg->second.insecure) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!req.post_body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.post_body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.post_body.size()));
    }

    CURLcode rc = curl_easy_perform(curl);
    // Partial transfers count too: the bytes crossed the network.
    blob_bytes_.fetch_add(t.streamed, std::memory_order_relaxed);
    if (rc == CURLE_WRITE_ERROR && !t.sink_status) return t.sink_status.error();
    if (rc == CURLE_ABORTED_BY_CALLBACK)
      return make_error(ErrorKind::kCancelled, "{}: stopped after {} bytes, the caller gave up", req.url,
                        t.streamed);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return make_error(ErrorKind::kDeadlineExceeded, "{}: no progress for {}s (pull_progress_timeout)",
                        req.url, stall);
    if (rc != CURLE_OK) {
      ErrorKind kind = ErrorKind::kUnavailable;
      return Error(kind, fmt::format("registry {} unreachable at {}: {}", ep.mirror ? "mirror " + ep.host : ep.registry,
                                     req.url, curl_easy_strerror(rc)));
    }
    Response resp;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
    resp.headers = std::move(t.headers);
    resp.body = std::move(t.body);
    resp.url = req.url;
    resp.streamed = t.streamed;
    if (resp.status >= 300 && resp.status < 400 && resp.status != 304) {
      char* next = nullptr;
      curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &next);
      if (!next) return make_error(ErrorKind::kUnavailable, "{}: redirect without a Location", req.url);
      req.url = next;
      continue;
    }
    return resp;
  }
  return make_error(ErrorKind::kUnavailable, "{}: too many redirects", req.url);
}

Result<std::string> RegistryClient::bearer_token(const Config& cfg, const Endpoint& ep,
                                                 const AuthChallenge& ch, const std::string& scope,
                                                 const CancelCheck* cancelled) {
  std::string key = ep.host + "|" + scope + "|" + ep.creds.username;
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.expires > Clock::now()) return it->second.token;
  }
  if (!ep.creds.registry_token.empty()) return ep.creds.registry_token;
  std::string realm = ch.params.at("realm");
  std::string service = ch.params.count("service") ? ch.params.at("service") : "";
  Request req;
  req.label = "token " + ep.host;
  req.cancelled = cancelled;
  if (!ep.creds.identity_token.empty()) {
    // OAuth2 refresh-token grant, as docker login stores identity tokens.
    req.url = realm;
    req.post_body = "grant_type=refresh_token&client_id=crid&refresh_token=" +
                    url_encode(ep.creds.identity_token) + "&service=" + url_encode(service) +
                    "&scope=" + url_encode(scope);
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  } else {
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + "service=" + url_encode(service) +
              "&scope=" + url_encode(scope);
    if (ep.creds.basic())
      req.auth_header = "Basic " + base64_encode(ep.creds.username + ":" + ep.creds.password);
  }
  CRID_ASSIGN(Response resp, perform(cfg, ep, req));
  if (resp.status == 401 || resp.status == 403)
    return make_error(ErrorKind::kUnauthenticated, "unauthorized: token service {} refused{} (HTTP {})", realm,
                      ep.creds.empty() ? " anonymous access" : " the credentials", resp.status);
  if (resp.status != 200)
    return make_error(ErrorKind::kUnavailable, "token service {} answered HTTP {}", realm, resp.status);
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  std::string token;
  if (!j.is_discarded() && j.is_object()) {
    if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
    else if (j.contains("access_token") && j["access_token"].is_string())
      token = j["access_token"].get<std::string>();
  }
  if (token.empty()) return make_error(ErrorKind::kUnavailable, "token service {} returned no token", realm);
  int64_t expires_in = 60;  // the distribution spec's default
  if (j.contains("expires_in") && j["expires_in"].is_number_integer())
    expires_in = std::max<int64_t>(j["expires_in"].get<int64_t>(), 1);
  {
    std::lock_guard lock(mu_);
    // Renew a little early so a token never expires mid-request.
    tokens_[key] = {token, Clock::now() + std::chrono::seconds(expires_in) -
                               std::chrono::seconds(std::min<int64_t>(10, expires_in / 2))};
  }
  return token;
}

Result<RegistryClient::Response> RegistryClient::fetch(const Config& cfg, const Endpoint& ep,
                                                       const Reference& ref, const std::string& path,
                                                       const std::string& accept, const BlobSink* sink,
                                                       const std::string& label, const CancelCheck* cancelled) {
  std::string scope = "repository:" + ref.repository + ":pull";
  Request req;
  req.url = ep.base_url + "/v2/" + ref.repository + path;
  if (!accept.empty()) req.headers.push_back("Accept: " + accept);
  req.sink = sink;
  req.label = label;
  req.cancelled = cancelled;
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(ep.host + "|" + scope + "|" + ep.creds.username);
    if (it != tokens_.end() && it->second.expires > Clock::now()) req.auth_header = "Bearer " + it->second.token;
    else if (basic_hosts_.count(ep.host) && ep.creds.basic())
      req.auth_header = "Basic " + base64_encode(ep.creds.username + ":" + ep.creds.password);
  }
  if (req.auth_header.empty() && !ep.creds.registry_token.empty())
    req.auth_header = "Bearer " + ep.creds.registry_token;
  CRID_ASSIGN(Response resp, perform(cfg, ep, req));
  if (resp.status != 401 || !resp.headers.count("www-authenticate")) return resp;

  // Challenged: answer it once.
  CRID_ASSIGN(AuthChallenge ch, parse_www_authenticate(resp.headers["www-authenticate"]));
  if (ch.scheme == "basic") {
    if (!ep.creds.basic()) return resp;
    {
      std::lock_guard lock(mu_);
      basic_hosts_[ep.host] = true;
    }
    req.auth_header = "Basic " + base64_encode(ep.creds.username + ":" + ep.creds.password);
  } else {
    {
      std::lock_guard lock(mu_);
      tokens_.erase(ep.host + "|" + scope + "|" + ep.creds.username);
    }
    CRID_ASSIGN(std::string token, bearer_token(cfg, ep, ch, scope, cancelled));
    req.auth_header = "Bearer " + token;
  }
  return perform(cfg, ep, req);
}

namespace {

// A non-2xx answer as an error the kubelet can act on.
Error http_error(const std::string& what, const std::string& endpoint_desc, long status, const std::string& body,
                 bool manifest) {
  std::string text = registry_error_text(body);
  auto with = [&](std::string_view base) {
    std::string msg = text.empty() ? std::string(base) : text;
    if (!text.empty() && text.find(base) == std::string::npos) msg = std::string(base) + " (" + text + ")";
    return fmt::format("{}: {} (HTTP {} from {})", what, msg, status, endpoint_desc);
  };
  switch (status) {
    case 401: return Error(ErrorKind::kUnauthenticated, with("unauthorized"));
    case 403: return Error(ErrorKind::kPermissionDenied, with("denied"));
    case 404: return Error(ErrorKind::kNotFound, with(manifest ? "manifest unknown" : "blob unknown"));
    case 429: return Error(ErrorKind::kResourceExhausted, with("toomanyrequests"));
    default: break;
  }
  ErrorKind kind = status >= 500 ? ErrorKind::kUnavailable : ErrorKind::kInternal;
  return Error(kind, with("unexpected response"));
}

}  // namespace

Result<FetchedManifest> RegistryClient::get_manifest(const Reference& ref, const std::string& manifest_ref,
                                                     const AuthConfig& auth, const CancelCheck& cancelled) {
  auto cfg = config_.get();
  std::string what = fmt::format("fetching manifest {} of {}", manifest_ref, ref.name());
  std::optional<Error> last;
  for (const auto& ep : endpoints(*cfg, ref, auth)) {
    auto r = fetch(*cfg, ep, ref, "/manifests/" + manifest_ref, manifest_accept_header(), nullptr,
                   "pull " + ref.str(), &cancelled);
    if (!r && r.error().kind() == ErrorKind::kCancelled) return r.error().wrap(what);
    Error err = r ? http_error(what, ep.base_url, r->status, r->body, true) : r.error().wrap(what);
    if (r && r->status == 200) {
      if (static_cast<int64_t>(r->body.size()) > cfg->max_manifest_bytes)
        return make_error(ErrorKind::kInvalidArgument, "{}: {} bytes exceeds max_manifest_bytes ({})", what,
                          r->body.size(), cfg->max_manifest_bytes);
      FetchedManifest m{r->body, r->headers["content-type"], sha256_digest(r->body)};
      if (is_sha256_digest(manifest_ref) && m.digest != manifest_ref) {
        err = make_error(ErrorKind::kInvalidArgument, "{}: content has digest {} (from {})", what, m.digest,
                         ep.base_url);
      } else {
        return m;
      }
    }
    if (ep.mirror) spdlog::warn("[pull {}] mirror {} failed, trying the next: {}", ref.str(), ep.base_url,
                                err.message());
    last = err;
  }
  return *last;
}

Status RegistryClient::get_blob(const Reference& ref, const Descriptor& desc, const AuthConfig& auth,
                                const BlobSink& sink, const std::string& label, const CancelCheck& cancelled) {
  auto cfg = config_.get();
  std::string what = fmt::format("fetching blob {} of {}", desc.digest, ref.name());
  std::optional<Error> last;
  for (const auto& ep : endpoints(*cfg, ref, auth)) {
    Sha256 hash;
    int64_t seen = 0;
    BlobSink verifying = [&](const char* data, size_t len) -> Status {
      seen += static_cast<int64_t>(len);
      if (seen > desc.size)
        return make_error(ErrorKind::kInvalidArgument, "{}: more than the {} bytes the manifest declares", what,
                          desc.size);
      hash.update(data, len);
      return sink(data, len);
    };
    auto r = fetch(*cfg, ep, ref, "/blobs/" + desc.digest, "", &verifying, label, &cancelled);
    if (r && r->status == 200) {
      if (seen != desc.size)
        return make_error(ErrorKind::kInvalidArgument, "{}: got {} bytes, the manifest declares {} (from {})", what,
                          seen, desc.size, ep.base_url);
      std::string got = hash.finish();
      if (got != desc.digest)
        return make_error(ErrorKind::kInvalidArgument, "{}: content has digest {} (from {})", what, got,
                          ep.base_url);
      return Ok();
    }
    Error err = r ? http_error(what, ep.base_url, r->status, r->body, false) : r.error().wrap(what);
    // Bytes already handed on cannot be taken back, and a caller who gave up
    // wants nothing more: no other endpoint.
    if (seen > 0 || err.kind() == ErrorKind::kCancelled) return err;
    if (ep.mirror) spdlog::warn("[{}] mirror {} failed, trying the next: {}", label, ep.base_url, err.message());
    last = err;
  }
  return *last;
}

Result<std::string> RegistryClient::get_blob_bytes(const Reference& ref, const Descriptor& desc,
                                                   const AuthConfig& auth, int64_t max_bytes,
                                                   const CancelCheck& cancelled) {
  if (desc.size > max_bytes)
    return make_error(ErrorKind::kInvalidArgument, "blob {} of {} is {} bytes, over the limit of {}", desc.digest,
                      ref.name(), desc.size, max_bytes);
  std::string out;
  CRID_TRY(get_blob(ref, desc, auth, [&](const char* d, size_t n) {
    out.append(d, n);
    return Ok();
  }, "pull " + ref.str() + " blob " + desc.digest.substr(0, 19), cancelled));
  return out;
}

}  // namespace crid::image
