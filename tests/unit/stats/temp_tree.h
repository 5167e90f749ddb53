// A temporary directory for the stats tests' fake cgroup trees and layers.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace crid::stats::testing {

class TempTree {
 public:
  TempTree() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "crid-stats-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  const std::string& path() const { return root_; }
  std::string file(const std::string& rel) const { return root_ + "/" + rel; }
  // Writes path()/rel, creating its parent dirs.
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = file(rel);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

 private:
  std::string root_;
};

}  // namespace crid::stats::testing
