// The conflist shipped in contrib/cni parses and has the plugins the set-up
// script relies on.
#include <gtest/gtest.h>

#include "network/cni_config.h"
#include "util/fs.h"

namespace crid::network {
namespace {

TEST(DefaultConflist, IsABridgeWithHostLocalAndPortmap) {
  std::string path = std::string(CRID_TEST_DATA) + "/../../../../contrib/cni/10-crid-bridge.conflist";
  auto text = fs::read_file(path);
  ASSERT_TRUE(text.ok()) << text.error().message();
  auto net = parse_cni_network(*text, path);
  ASSERT_TRUE(net.ok()) << net.error().message();
  EXPECT_EQ(net->name, "crid");
  EXPECT_EQ(net->cni_version, "1.0.0");
  ASSERT_EQ(net->plugins.size(), 2u);
  EXPECT_EQ(net->plugins[0]["type"], "bridge");
  EXPECT_EQ(net->plugins[0]["bridge"], "crid0");
  EXPECT_EQ(net->plugins[0]["ipam"]["type"], "host-local");
  EXPECT_EQ(net->plugins[0]["ipam"]["ranges"][0][0]["subnet"], "10.85.0.0/16");
  EXPECT_EQ(net->plugins[1]["type"], "portmap");
  EXPECT_EQ(net->plugins[1]["capabilities"]["portMappings"], true);
}

}  // namespace
}  // namespace crid::network
