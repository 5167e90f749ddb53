#include "runtime/conmon_protocol.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace crid::runtime {

Result<SyncMessage> parse_sync_message(std::string_view line) {
  try {
    auto j = nlohmann::json::parse(line);
    SyncMessage m;
    if (j.contains("data"))
      m.data = j["data"].get<int>();
    else
      m.data = j.at("pid").get<int>();
    if (j.contains("message")) m.message = j["message"].get<std::string>();
    return m;
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "bad sync message from conmon \"{}\": {}",
                      line.substr(0, 200), e.what());
  }
}

std::string ctl_line(CtlMessage type, int height, int width) {
  return fmt::format("{} {} {}\n", static_cast<int>(type), height, width);
}

std::string runtime_message(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  constexpr std::string_view kMarker = "level=error msg=\"";
  size_t at = text.rfind(kMarker);
  if (at == std::string::npos) return text;
  std::string msg;
  for (size_t i = at + kMarker.size(); i < text.size() && text[i] != '"'; i++) {
    if (text[i] == '\\' && i + 1 < text.size()) i++;
    msg += text[i];
  }
  return msg.empty() ? text : msg;
}

}  // namespace crid::runtime
