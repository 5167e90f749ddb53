// Image manifests and indexes, Docker schema 2 and OCI: parsing with media
// type and size checks, and choosing the host's platform from an index.
// Pure functions: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "image/types.h"
#include "util/result.h"

namespace crid::image {

namespace media {
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
}  // namespace media

// Layers an image manifest may list. overlayfs stacks at most 500 lower
// dirs, so a deeper image could never run; refusing it at the manifest
// stops a registry from making crid fetch and unpack thousands of blobs.
inline constexpr size_t kMaxLayers = 500;

// The Accept header value for manifest requests: all four kinds we parse.
std::string manifest_accept_header();

struct Platform {
  std::string os;
  std::string architecture;  // GOARCH names: amd64, arm64, arm, 386, s390x, ppc64le ...
  std::string variant;       // "v8", "v7", "" ...
  bool operator==(const Platform&) const = default;
};

struct IndexEntry {
  Descriptor descriptor;
  Platform platform;
};

// One of the two shapes; `is_index` says which fields are filled.
struct ParsedManifest {
  std::string media_type;
  bool is_index = false;
  // image manifest
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first
  // index / manifest list
  std::vector<IndexEntry> manifests;
};

// Parses `body`. `content_type` is the registry's Content-Type (may be empty
// or generic, then the document's own mediaType or shape decides). Refuses
// documents over `max_bytes`, schema 1, unknown media types and malformed
// digests, with InvalidArgument naming what was wrong.
Result<ParsedManifest> parse_manifest(std::string_view body, std::string_view content_type,
                                      int64_t max_bytes);

// Maps `uname -m` to GOARCH + variant: x86_64 -> amd64, aarch64 -> arm64/v8 ...
Platform platform_from_machine(std::string_view machine);
// linux + the running kernel's machine.
Platform host_platform();

// The entry for `want`: os and architecture must match; a wanted variant
// prefers an exact variant, then an entry without one (arm64 defaults to v8).
// NotFound listing the platforms offered when none fits.
Result<Descriptor> select_platform(const ParsedManifest& index, const Platform& want);

std::string format_platform(const Platform& p);

}  // namespace crid::image
