#include "stats/net_dev.h"

#include <fcntl.h>
#include <sched.h>

#include <charconv>
#include <thread>

#include "util/fs.h"
#include "util/unique_fd.h"

namespace crid::stats {

Result<std::vector<InterfaceCounters>> parse_proc_net_dev(std::string_view text) {
  std::vector<InterfaceCounters> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (++line_no <= 2 || line.find_first_not_of(" \t") == std::string_view::npos) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      return make_error(ErrorKind::kInternal, "/proc/net/dev line {} has no interface name: \"{}\"",
                        line_no, line);
    std::string_view name = line.substr(0, colon);
    name.remove_prefix(std::min(name.find_first_not_of(' '), name.size()));
    uint64_t v[16];
    std::string_view rest = line.substr(colon + 1);
    for (int i = 0; i < 16; i++) {
      size_t start = rest.find_first_not_of(" \t");
      if (start == std::string_view::npos)
        return make_error(ErrorKind::kInternal, "/proc/net/dev: {} has {} counters, expected 16",
                          name, i);
      rest.remove_prefix(start);
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v[i]);
      if (ec != std::errc())
        return make_error(ErrorKind::kInternal, "/proc/net/dev: counter {} of {} is not a number",
                          i + 1, name);
      rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    }
    if (name == "lo") continue;
    // Receive: bytes packets errs drop fifo frame compressed multicast;
    // transmit: bytes packets errs drop fifo colls carrier compressed.
    out.push_back(InterfaceCounters{std::string(name), v[0], v[1], v[2], v[3], v[8], v[9], v[10],
                                    v[11]});
  }
  return out;
}

Result<std::vector<InterfaceCounters>> read_netns_counters(const std::string& netns_path) {
  if (netns_path.empty()) {
    CRID_ASSIGN(std::string text, fs::read_file("/proc/self/net/dev"));
    return parse_proc_net_dev(text);
  }
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return sys_error("opening network namespace {}", netns_path);
  Result<std::vector<InterfaceCounters>> result =
      make_error(ErrorKind::kInternal, "reading counters in {}: thread did not run", netns_path);
  // The thread dies with the namespace it joined; the daemon's other
  // threads never see it.
  std::thread reader([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = sys_error("joining network namespace {}", netns_path);
      return;
    }
    auto text = fs::read_file("/proc/thread-self/net/dev");
    if (!text) {
      result = text.error().wrap(fmt::format("in network namespace {}", netns_path));
      return;
    }
    result = parse_proc_net_dev(*text);
  });
  reader.join();
  return result;
}

}  // namespace crid::stats
