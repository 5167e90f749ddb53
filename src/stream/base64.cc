#include "stream/base64.h"

#include <openssl/evp.h>

namespace crid::stream {

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return make_error(ErrorKind::kInvalidArgument, "base64 text of {} characters (not a multiple of 4)",
                      text.size());
  }
  // EVP_DecodeBlock skips surrounding whitespace and miscounts padding;
  // check the alphabet here so that neither can slip through.
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
    if (c == '=' && i + 2 >= text.size()) {
      ++padding;
      continue;
    }
    if (!alpha || padding > 0) {
      return make_error(ErrorKind::kInvalidArgument, "invalid base64 character at offset {}", i);
    }
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return make_error(ErrorKind::kInvalidArgument, "invalid base64 text");
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

}  // namespace crid::stream
