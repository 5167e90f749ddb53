// Image references as the kubelet and crictl send them ("busybox",
// "quay.io/org/app:1.2", "127.0.0.1:5000/app@sha256:...") parsed into their
// parts and normalised to fully qualified names. Pure functions: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace crid::image {

// Limits of the distribution reference grammar.
inline constexpr size_t kMaxNameLength = 255;  // registry/repository
inline constexpr size_t kMaxTagLength = 128;

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "localhost"
  std::string repository;  // "library/busybox"
  std::string tag;         // "" only when a digest is given
  std::string digest;      // "" or "sha256:<64 hex>"

  // "docker.io/library/busybox"
  std::string name() const { return registry + "/" + repository; }
  // "docker.io/library/busybox:latest" (empty if there is no tag)
  std::string tagged() const { return tag.empty() ? "" : name() + ":" + tag; }
  // "docker.io/library/busybox@sha256:..."
  std::string digested(const std::string& d) const { return name() + "@" + d; }
  // Full form: name[:tag][@digest].
  std::string str() const;
  // What the registry is asked for: the digest when pinned, else the tag.
  const std::string& manifest_ref() const { return digest.empty() ? tag : digest; }

  bool operator==(const Reference&) const = default;
};

// A reference as written: `registry` is empty when the name has no host part
// (its first component has no '.' or ':' and is not "localhost").
struct ParsedReference {
  Reference ref;
  bool qualified = false;
};

// Parses without choosing a registry; adds tag "latest" when neither tag nor
// digest is given. InvalidArgument naming the reference on any error.
Result<ParsedReference> parse_reference(std::string_view text);

// Every fully qualified candidate, in order: the name itself when qualified,
// else one per search registry (with "library/" added only for docker.io
// single-component names). "index.docker.io" is normalised to "docker.io".
Result<std::vector<Reference>> resolve_reference(std::string_view text,
                                                 const std::vector<std::string>& search_registries);

// True for "sha256:<64 lowercase hex>".
bool valid_sha256_digest(std::string_view s);

}  // namespace crid::image
