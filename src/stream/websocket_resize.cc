#include "stream/websocket_resize.h"
#include "util/printable.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace crid::stream::ws {
namespace {

// An object that never closes is not a resize event; cap what is kept.
constexpr size_t kMaxPending = 4096;

bool key_is(const std::string& key, std::string_view want) {
  // Go's JSON decoder, which kubelet uses, matches field names without
  // regard to case.
  return std::equal(key.begin(), key.end(), want.begin(), want.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

Result<TerminalSize> decode_one(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorKind::kInvalidArgument, "resize event {} is not a JSON object", printable(text));
  }
  TerminalSize size;
  for (auto& [key, value] : j.items()) {
    uint16_t* field = key_is(key, "width") ? &size.width : key_is(key, "height") ? &size.height : nullptr;
    if (!field) continue;
    if (!value.is_number_unsigned() || value.get<uint64_t>() > 0xFFFF) {
      return make_error(ErrorKind::kInvalidArgument, "resize event {}: {} is not a 16-bit size",
                        printable(text), key);
    }
    *field = static_cast<uint16_t>(value.get<uint64_t>());
  }
  return size;
}

}  // namespace

ResizeDecoder::Decoded ResizeDecoder::feed(std::string_view data) {
  buffer_.append(data);
  Decoded out;
  // A resize object holds no nested objects or braces in strings that
  // matter, so each '}' ends one.
  size_t end;
  while ((end = buffer_.find('}')) != std::string::npos) {
    std::string one = buffer_.substr(0, end + 1);
    buffer_.erase(0, end + 1);
    auto size = decode_one(one);
    if (size) {
      out.sizes.push_back(*size);
    } else {
      out.errors.push_back(size.error());
    }
  }
  // Whitespace between objects is fine; anything else must start an object.
  size_t start = buffer_.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) {
    buffer_.clear();
  } else if (buffer_.size() > kMaxPending) {
    buffer_.clear();
    out.errors.push_back(make_error(ErrorKind::kInvalidArgument,
                                    "resize channel: over {} bytes without a complete object",
                                    kMaxPending));
  }
  return out;
}

}  // namespace crid::stream::ws
