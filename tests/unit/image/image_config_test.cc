#include <gtest/gtest.h>

#include "image/image_store.h"

namespace crid::image {
namespace {

const char* kDockerConfig = R"({
  "architecture": "amd64",
  "os": "linux",
  "config": {
    "User": "1000:1000",
    "Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "WorkingDir": "/srv",
    "StopSignal": "SIGQUIT",
    "Volumes": {"/data": {}, "/cache": {}},
    "Labels": {"maintainer": "someone", "org.opencontainers.image.version": "1.2"},
    "ExposedPorts": {"80/tcp": {}}
  },
  "container_config": {"Cmd": ["ignored"]},
  "rootfs": {"type": "layers", "diff_ids": [
    "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"]},
  "history": [{"created_by": "x"}]
})";

TEST(ParseImageConfig, DockerConfigFields) {
  auto c = parse_image_config(kDockerConfig);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->user, "1000:1000");
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}));
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->stop_signal, "SIGQUIT");
  EXPECT_EQ(c->volumes, (std::vector<std::string>{"/cache", "/data"}));
  EXPECT_EQ(c->labels.at("maintainer"), "someone");
  EXPECT_EQ(c->labels.size(), 2u);
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->architecture, "amd64");
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1].substr(0, 9), "sha256:22");
}

TEST(ParseImageConfig, MinimalAndNullFieldsAreEmpty) {
  auto c = parse_image_config(
      R"({"os":"linux","config":{"Cmd":null,"Entrypoint":null,"Volumes":null,"Labels":null,"Env":null},
          "rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->cmd.empty());
  EXPECT_TRUE(c->entrypoint.empty());
  EXPECT_TRUE(c->volumes.empty());
  EXPECT_TRUE(c->labels.empty());
  EXPECT_TRUE(c->diff_ids.empty());
  EXPECT_TRUE(parse_image_config("{}").ok());
}

struct BadCase {
  const char* json;
  const char* expect;  // part of the error
};

class ParseImageConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseImageConfigErrors, NameTheField) {
  auto c = parse_image_config(GetParam().json);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(c.error().message().find(GetParam().expect), std::string::npos) << c.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseImageConfigErrors,
    ::testing::Values(
        BadCase{"not json", "not valid JSON"},
        BadCase{"[1,2]", "must be an object"},
        BadCase{R"({"config":"x"})", "config must be an object, got string"},
        BadCase{R"({"config":{"User":5}})", "config.User must be a string, got number"},
        BadCase{R"({"config":{"Env":"A=B"}})", "config.Env must be an array of strings"},
        BadCase{R"({"config":{"Cmd":["ok",7]}})", "config.Cmd[1] must be a string"},
        BadCase{R"({"config":{"Entrypoint":{}}})", "config.Entrypoint must be an array"},
        BadCase{R"({"config":{"Volumes":["/a"]}})", "config.Volumes must be an object"},
        BadCase{R"({"config":{"Labels":{"a":1}}})", "config.Labels.a must be a string"},
        BadCase{R"({"config":{"WorkingDir":true}})", "config.WorkingDir must be a string, got boolean"},
        BadCase{R"({"config":{"StopSignal":9}})", "config.StopSignal must be a string"},
        BadCase{R"({"os":1})", "os must be a string"},
        BadCase{R"({"architecture":[]})", "architecture must be a string"},
        BadCase{R"({"rootfs":[]})", "rootfs must be an object"},
        BadCase{R"({"rootfs":{"type":"tarball"}})", "rootfs.type"},
        BadCase{R"({"rootfs":{"diff_ids":"sha256:11"}})", "rootfs.diff_ids must be an array"},
        BadCase{R"({"rootfs":{"diff_ids":["sha256:xyz"]}})", "rootfs.diff_ids[0]"},
        BadCase{R"({"rootfs":{"diff_ids":["sha512:ab"]}})", "not a sha256 digest"}));

}  // namespace
}  // namespace crid::image
