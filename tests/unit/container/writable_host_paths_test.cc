// The remembered container-writable host dirs: kept across a reopen of the
// database (a daemon restart), forgotten once the directory is gone.
#include "container/writable_host_paths.h"

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "util/ids.h"

namespace crid::container {
namespace {

namespace fsys = std::filesystem;

class WritableHostPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fsys::temp_directory_path() / ("crid-writable-" + random_hex(6));
    fsys::create_directories(dir_ / "a");
    fsys::create_directories(dir_ / "b");
  }
  void TearDown() override { fsys::remove_all(dir_); }

  std::unique_ptr<WritableHostPaths> open() {
    db_.reset();
    auto db = store::Database::open(dir_ / "crid.db");
    EXPECT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(db).value();
    auto w = WritableHostPaths::open(*db_);
    EXPECT_TRUE(w.ok()) << w.error().message();
    return std::move(w).value();
  }
  WritableHostPath entry(const std::string& rel) {
    WritableHostPath p;
    p.path = (dir_ / rel).string();
    EXPECT_TRUE(file_id_of(p.path, &p.id)) << rel;
    return p;
  }

  fsys::path dir_;
  std::unique_ptr<store::Database> db_;
};

TEST_F(WritableHostPathsTest, KeptAcrossRestartsUntilTheDirIsGone) {
  auto a = entry("a"), b = entry("b");
  {
    auto w = open();
    EXPECT_TRUE(w->ids().empty());
    ASSERT_TRUE(w->add({a, b}).ok());
    ASSERT_TRUE(w->add({a}).ok());  // once only (and no commit)
    EXPECT_EQ(w->ids().size(), 2u);
  }
  {
    auto w = open();
    auto ids = w->ids();
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_TRUE(std::binary_search(ids.begin(), ids.end(), a.id));
    EXPECT_TRUE(std::binary_search(ids.begin(), ids.end(), b.id));
  }
  // b is gone: so is anything planted in it.
  fsys::remove(dir_ / "b");
  auto w = open();
  auto ids = w->ids();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], a.id);
}

}  // namespace
}  // namespace crid::container
