#include "config/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"

namespace crid {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crid-config-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& rel, const std::string& text) {
    auto p = path_ + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Config, DefaultsAreValid) {
  Config cfg = default_config();
  EXPECT_TRUE(validate(cfg).ok());
  EXPECT_EQ(cfg.listen, "/run/crid/crid.sock");
  EXPECT_EQ(cfg.default_handler, "runc");
  ASSERT_TRUE(cfg.handlers.count("crun"));
}

TEST(Config, HandlerRootsFollowTheFinalRunroot) {
  ConfigSources src;
  src.file = "/nonexistent/crid.conf";
  src.drop_in_dir = "/nonexistent/crid.conf.d";
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->handlers.at("runc").runtime_root, "/run/crid/runtimes/runc");
  src.flags = {{"runroot", "/tmp/rr"}};
  cfg = load_config(src);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->handlers.at("crun").runtime_root, "/tmp/rr/runtimes/crun");
}

TEST(Config, FileThenDropInsInLexicalOrderThenFlags) {
  TempDir d;
  ConfigSources src;
  src.file = d.write("crid.conf", "root = \"/a\"\nlog_level = \"debug\"\n[network]\ncni_conf_dir = \"/cni\"\n");
  src.drop_in_dir = d.path() + "/crid.conf.d";
  d.write("crid.conf.d/20-b.conf", "root = \"/b\"\n[image]\nmax_concurrent_downloads = 7\n");
  d.write("crid.conf.d/10-a.conf", "root = \"/from-10\"\nrunroot = \"/rr\"\n");
  d.write("crid.conf.d/ignored.txt", "this is not toml = = =");
  src.flags = {{"log_level", "warn"}, {"cni_bin_dirs", "/x,/y"}};
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->root, "/b");  // 20-b after 10-a
  EXPECT_EQ(cfg->runroot, "/rr");
  EXPECT_EQ(cfg->cni_conf_dir, "/cni");
  EXPECT_EQ(cfg->max_concurrent_downloads, 7);
  EXPECT_EQ(cfg->log_level, "warn");  // flag beats file
  EXPECT_EQ(cfg->cni_bin_dirs, (std::vector<std::string>{"/x", "/y"}));
  EXPECT_EQ(cfg->origin.at("root"), src.drop_in_dir + "/20-b.conf");
  EXPECT_EQ(cfg->origin.at("log_level"), "--log-level");
}

TEST(Config, MissingDefaultFileIsFineButNamedFileIsRequired) {
  ConfigSources src;
  src.file = "/nonexistent/crid.conf";
  src.drop_in_dir = "/nonexistent/crid.conf.d";
  EXPECT_TRUE(load_config(src).ok());
  src.file_required = true;
  auto cfg = load_config(src);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().message().find("/nonexistent/crid.conf"), std::string::npos);
}

TEST(Config, UnknownKeyNamesFileAndKey) {
  Config cfg = default_config();
  auto st = apply_toml(cfg, "[runtime]\nconmon_pth = \"/x\"\n", "/etc/crid/crid.conf");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "/etc/crid/crid.conf: runtime.conmon_pth: unknown key");
  EXPECT_EQ(st.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(Config, UnknownSectionAndKeyInWrongSectionAreRejected) {
  Config cfg = default_config();
  EXPECT_FALSE(apply_toml(cfg, "[bogus]\nx = 1\n", "f").ok());
  auto st = apply_toml(cfg, "[network]\nroot = \"/x\"\n", "f");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "f: network.root: unknown key");
}

TEST(Config, WrongTypesAreRejected) {
  Config cfg = default_config();
  auto st = apply_toml(cfg, "[stream]\nstream_port = \"80\"\n", "f.conf");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "f.conf: stream_port: must be an integer");
  st = apply_toml(cfg, "[image]\npull_progress_timeout = \"10 parsecs\"\n", "f.conf");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("pull_progress_timeout"), std::string::npos);
  st = apply_toml(cfg, "[network]\ncni_bin_dirs = [1, 2]\n", "f.conf");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("array of strings"), std::string::npos);
}

TEST(Config, SyntaxErrorsCarryLineAndColumn) {
  Config cfg = default_config();
  auto st = apply_toml(cfg, "root = \"/a\"\nrunroot = \n", "x.conf");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message().rfind("x.conf:2:", 0), 0u) << st.error().message();
}

TEST(Config, ValidationNamesTheOffendingKeyAndItsSource) {
  Config cfg = default_config();
  ASSERT_TRUE(apply_toml(cfg, "[runtime]\ndefault_handler = \"kata\"\n", "d.conf").ok());
  auto st = validate(cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(),
            "d.conf: default_handler: no runtime handler named \"kata\" is configured");

  cfg = default_config();
  ASSERT_TRUE(apply_toml(cfg, "root = \"relative/dir\"\n", "d.conf").ok());
  st = validate(cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "d.conf: root: \"relative/dir\" must be an absolute path");

  cfg = default_config();
  ASSERT_TRUE(apply_flag(cfg, "log_level", "chatty").ok());
  st = validate(cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("--log-level: log_level: unknown log level"),
            std::string::npos);
}

TEST(Config, HandlersAndRegistriesFromDropIns) {
  Config cfg = default_config();
  ASSERT_TRUE(apply_toml(cfg,
                         "[runtime.handlers.kata]\nruntime_path = \"/usr/bin/kata\"\n"
                         "runtime_type = \"vm\"\n"
                         "[image.registries.\"docker.io\"]\nmirrors = [\"http://127.0.0.1:5000\"]\n"
                         "insecure = true\n",
                         "d.conf")
                  .ok());
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_EQ(cfg.handlers.at("kata").runtime_type, "vm");
  EXPECT_EQ(cfg.handlers.at("kata").runtime_root, "");  // filled by load_config
  EXPECT_EQ(cfg.registries.at("docker.io").mirrors[0], "http://127.0.0.1:5000");
  EXPECT_TRUE(cfg.registries.at("docker.io").insecure);

  auto st = apply_toml(cfg, "[runtime.handlers.kata]\nruntime_pat = \"/x\"\n", "e.conf");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "e.conf: runtime.handlers.kata.runtime_pat: unknown key");

  ASSERT_TRUE(apply_toml(cfg, "[runtime.handlers.bad]\nruntime_path = \"/x\"\nruntime_type = \"wasm\"\n", "g.conf").ok());
  st = validate(cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("runtime_type: \"wasm\" is not oci or vm"),
            std::string::npos);
}

TEST(Config, MirrorsNeedAScheme) {
  Config cfg = default_config();
  ASSERT_TRUE(apply_toml(cfg, "[image.registries.\"quay.io\"]\nmirrors = [\"127.0.0.1:5000\"]\n", "m.conf").ok());
  auto st = validate(cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("must start with http:// or https://"), std::string::npos);
}

TEST(Config, RenderRoundTripsThroughTheLoader) {
  Config cfg = default_config();
  ASSERT_TRUE(apply_toml(cfg,
                         "root = \"/srv/crid \\\"quoted\\\"\"\n[runtime]\npids_limit = 4096\n"
                         "[runtime.handlers.kata]\nruntime_path = \"/usr/bin/kata\"\n"
                         "runtime_type = \"vm\"\n[image]\npinned_images = [\"a\", \"b\"]\n"
                         "pull_progress_timeout = \"1h30m\"\n"
                         "[image.registries.\"localhost:5000\"]\ninsecure = true\n",
                         "src.conf")
                  .ok());
  std::string text = render(cfg);
  Config back = default_config();
  auto st = apply_toml(back, text, "rendered");
  ASSERT_TRUE(st.ok()) << st.error().message() << "\n" << text;
  EXPECT_EQ(render(back), text);
  EXPECT_EQ(back.root, cfg.root);
  EXPECT_EQ(back.pids_limit, 4096);
  EXPECT_EQ(back.pull_progress_timeout, std::chrono::minutes(90));
  EXPECT_EQ(back.handlers, cfg.handlers);
  EXPECT_EQ(back.registries, cfg.registries);
  EXPECT_EQ(back.pinned_images, cfg.pinned_images);
  // Every option is commented.
  EXPECT_NE(text.find("# Unix socket the CRI gRPC server listens on."), std::string::npos);
}

TEST(Config, FlagsParseTheirTypes) {
  Config cfg = default_config();
  ASSERT_TRUE(apply_flag(cfg, "stream_port", "10010").ok());
  EXPECT_EQ(cfg.stream_port, 10010);
  ASSERT_TRUE(apply_flag(cfg, "restrict_oom_score_adj", "true").ok());
  EXPECT_TRUE(cfg.restrict_oom_score_adj);
  ASSERT_TRUE(apply_flag(cfg, "stop_grace_default", "45s").ok());
  EXPECT_EQ(cfg.stop_grace_default, std::chrono::seconds(45));
  auto st = apply_flag(cfg, "stream_port", "eighty");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "--stream-port: stream_port: \"eighty\" is not an integer");
  EXPECT_FALSE(apply_flag(cfg, "no_such_option", "1").ok());
}

TEST(Config, Durations) {
  EXPECT_EQ(*parse_duration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(*parse_duration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("0"), Duration(0));
  EXPECT_FALSE(parse_duration("").ok());
  EXPECT_FALSE(parse_duration("10").ok());
  EXPECT_FALSE(parse_duration("5d").ok());
  EXPECT_EQ(format_duration(std::chrono::minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
}

// Found by the config_toml fuzz target (fuzz/corpus/config_toml/regress-7b25ab85e4b0):
// a huge number overflowed the double -> int64 conversion, and a number
// std::stod could not take ("." or 400 digits) threw out of config loading.
TEST(Config, DurationsRefuseHugeAndMalformedNumbers) {
  EXPECT_FALSE(parse_duration("0m" + std::string(110, '2') + "30s"));
  EXPECT_FALSE(parse_duration(std::string(400, '9') + "s"));
  EXPECT_FALSE(parse_duration(".s"));
  EXPECT_FALSE(parse_duration("1.2.3s"));
  auto too_long = parse_duration("87601h");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message().find("87601h"), std::string::npos);
  EXPECT_EQ(*parse_duration("87600h"), std::chrono::hours(87600));
  EXPECT_EQ(*parse_duration("1.5h"), std::chrono::minutes(90));
  Config cfg = default_config();
  EXPECT_FALSE(apply_toml(cfg, "[runtime]\nstop_grace_default = \"" + std::string(400, '9') + "s\"\n", "x"));
}

// `crid config` output must load back even when names hold characters a
// TOML comment or string cannot carry raw (newline in a handler name, DEL).
TEST(Config, RenderedConfigWithOddNamesLoadsBack) {
  Config cfg = default_config();
  ASSERT_TRUE(apply_toml(cfg, "[runtime.handlers.\"a\\nb = 1\"]\nruntime_path = \"/x\\u007f\"\n"
                              "[image.registries.\"r\\nx\"]\nmirrors = []\n", "odd.conf"));
  std::string rendered = render(cfg);
  Config again = default_config();
  auto st = apply_toml(again, rendered, "rendered");
  ASSERT_TRUE(st) << st.error().message() << "\n" << rendered;
  EXPECT_EQ(render(again), rendered);
  EXPECT_EQ(again.handlers.at("a\nb = 1").runtime_path, "/x\x7f");
}

TEST(Config, ReloadReportsOnlyReloadableChanges) {
  Config a = default_config(), b = default_config();
  b.log_level = "debug";
  b.root = "/elsewhere";  // not reloadable: ignored
  b.registries["docker.io"].mirrors = {"http://127.0.0.1:5000"};
  auto changes = reloadable_changes(a, b);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], "log_level: info -> debug");
  apply_reloadable(a, b);
  EXPECT_EQ(a.log_level, "debug");
  EXPECT_EQ(a.root, "/var/lib/crid");
  EXPECT_EQ(a.registries, b.registries);
}

}  // namespace
}  // namespace crid
