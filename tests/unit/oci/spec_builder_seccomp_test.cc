#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "oci/capabilities.h"
#include "oci/seccomp_default.h"
#include "oci/seccomp_localhost.h"
#include "spec_test_inputs.h"
#include "util/fs.h"

namespace crid::oci {
namespace {

using json = nlohmann::json;
using testing::basic_inputs;
using testing::build_or_die;

// Names allowed without argument conditions.
std::set<std::string> unconditionally_allowed(const json& profile) {
  std::set<std::string> out;
  for (const auto& rule : profile["syscalls"])
    if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args"))
      for (const auto& n : rule["names"]) out.insert(n.get<std::string>());
  return out;
}

const json* rule_for(const json& profile, const std::string& name) {
  for (const auto& rule : profile["syscalls"])
    for (const auto& n : rule["names"])
      if (n == name) return &rule;
  return nullptr;
}

TEST(SeccompDefault, DeniesByDefaultWithEperm) {
  auto p = default_seccomp_profile({}, "x86_64");
  EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(p["defaultErrnoRet"], 1);
  EXPECT_EQ(testing::strings(p["architectures"]),
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  auto arm = default_seccomp_profile({}, "aarch64");
  EXPECT_EQ(testing::strings(arm["architectures"]),
            (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  EXPECT_TRUE(unconditionally_allowed(arm).count("set_tls"));
  EXPECT_FALSE(unconditionally_allowed(arm).count("arch_prctl"));
  EXPECT_TRUE(unconditionally_allowed(p).count("arch_prctl"));
}

TEST(SeccompDefault, AllowsWhatAShellNeeds) {
  auto allowed = unconditionally_allowed(default_seccomp_profile({}, "x86_64"));
  for (const char* s : {"read", "write", "openat", "close", "execve", "mmap", "brk", "fork",
                        "vfork", "wait4", "rt_sigaction", "getuid", "getdents64", "newfstatat",
                        "exit_group", "ioctl", "pipe2", "dup2", "futex", "socket", "connect",
                        "statx", "getrandom", "prlimit64", "set_tid_address", "rseq"})
    EXPECT_TRUE(allowed.count(s)) << s;
}

TEST(SeccompDefault, BlocksDangerousCallsWithoutCapabilities) {
  auto allowed = unconditionally_allowed(default_seccomp_profile(default_capabilities(), "x86_64"));
  for (const char* s : {"unshare", "mount", "umount2", "setns", "keyctl", "add_key",
                        "request_key", "kexec_load", "kexec_file_load", "reboot", "init_module",
                        "ptrace", "bpf", "pivot_root", "swapon", "open_by_handle_at", "chroot",
                        "settimeofday", "userfaultfd"})
    EXPECT_FALSE(allowed.count(s)) << s;
}

TEST(SeccompDefault, CloneWithoutSysAdminCannotCreateNamespaces) {
  auto p = default_seccomp_profile(default_capabilities(), "x86_64");
  const json* clone = rule_for(p, "clone");
  ASSERT_NE(clone, nullptr);
  ASSERT_TRUE(clone->contains("args"));
  EXPECT_EQ((*clone)["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ((*clone)["args"][0]["value"], 0x7E020000);
  EXPECT_EQ((*clone)["args"][0]["valueTwo"], 0);
  const json* clone3 = rule_for(p, "clone3");
  ASSERT_NE(clone3, nullptr);
  EXPECT_EQ((*clone3)["action"], "SCMP_ACT_ERRNO");
  EXPECT_EQ((*clone3)["errnoRet"], 38);
}

TEST(SeccompDefault, CapabilitiesOpenTheirSyscalls) {
  auto admin = unconditionally_allowed(default_seccomp_profile({"CAP_SYS_ADMIN"}, "x86_64"));
  for (const char* s : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname"})
    EXPECT_TRUE(admin.count(s)) << s;
  EXPECT_FALSE(admin.count("reboot"));
  EXPECT_FALSE(admin.count("keyctl"));  // never: the keyring is not namespaced
  auto boot = unconditionally_allowed(default_seccomp_profile({"CAP_SYS_BOOT"}, "x86_64"));
  EXPECT_TRUE(boot.count("reboot"));
  EXPECT_FALSE(boot.count("kexec_load"));
  auto ptrace = unconditionally_allowed(default_seccomp_profile({"CAP_SYS_PTRACE"}, "x86_64"));
  EXPECT_TRUE(ptrace.count("ptrace"));
  EXPECT_TRUE(ptrace.count("process_vm_readv"));
}

TEST(SeccompDefault, PersonalityOnlyForSafeValues) {
  auto p = default_seccomp_profile({}, "x86_64");
  EXPECT_FALSE(unconditionally_allowed(p).count("personality"));
  int rules = 0;
  for (const auto& r : p["syscalls"])
    if (r["names"][0] == "personality") {
      ++rules;
      EXPECT_EQ(r["args"][0]["op"], "SCMP_CMP_EQ");
    }
  EXPECT_EQ(rules, 5);
}

TEST(SpecSeccomp, UnsetAndUnconfinedMeanNoFilter) {
  auto in = basic_inputs();
  EXPECT_FALSE(build_or_die(in)["linux"].contains("seccomp"));
  in.request.security.seccomp = SecurityProfile{SecurityProfile::Type::kUnconfined, ""};
  EXPECT_FALSE(build_or_die(in)["linux"].contains("seccomp"));
}

TEST(SpecSeccomp, RuntimeDefaultFollowsTheContainersCapabilities) {
  auto in = basic_inputs();
  in.request.security.seccomp = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
  auto spec = build_or_die(in);
  ASSERT_TRUE(spec["linux"].contains("seccomp"));
  EXPECT_FALSE(unconditionally_allowed(spec["linux"]["seccomp"]).count("mount"));
  in.request.security.add_capabilities = {"SYS_ADMIN"};
  spec = build_or_die(in);
  EXPECT_TRUE(unconditionally_allowed(spec["linux"]["seccomp"]).count("mount"));
}

TEST(SpecSeccomp, LocalhostUsesTheLoadedProfile) {
  auto in = basic_inputs();
  in.request.security.seccomp =
      SecurityProfile{SecurityProfile::Type::kLocalhost, "/var/lib/kubelet/seccomp/audit.json"};
  auto missing = build_spec(in);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kFailedPrecondition);
  in.localhost_seccomp_profile = json{{"defaultAction", "SCMP_ACT_LOG"}};
  auto spec = build_or_die(in);
  EXPECT_EQ(spec["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_LOG");
}

TEST(SpecSeccomp, LocalhostRefWithOtherTypeIsInvalid) {
  auto in = basic_inputs();
  in.request.security.seccomp =
      SecurityProfile{SecurityProfile::Type::kRuntimeDefault, "profile.json"};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(SeccompValidate, ShapeChecks) {
  EXPECT_TRUE(validate_seccomp_profile(json{{"defaultAction", "SCMP_ACT_ALLOW"}}, "p"));
  EXPECT_FALSE(validate_seccomp_profile(json::array(), "p"));
  EXPECT_FALSE(validate_seccomp_profile(json{{"syscalls", json::array()}}, "p"));
  json bad_rule = {{"defaultAction", "SCMP_ACT_ERRNO"},
                   {"syscalls", json::array({json{{"action", "SCMP_ACT_ALLOW"}}})}};
  auto st = validate_seccomp_profile(bad_rule, "my.json");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("my.json"), std::string::npos);
  EXPECT_TRUE(validate_seccomp_profile(default_seccomp_profile({}, "x86_64"), "builtin"));
}

class LocalhostProfiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-seccomp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/profiles";
    ASSERT_TRUE(fs::make_dirs(root_ + "/sub"));
  }
  void TearDown() override { (void)fs::remove_all(dir_); }
  void write(const std::string& path, const std::string& data) { std::ofstream(path) << data; }
  std::string dir_, root_;
};

TEST_F(LocalhostProfiles, LoadsAbsoluteAndRelativeRefs) {
  write(root_ + "/sub/ok.json", R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]})");
  auto abs = load_localhost_seccomp_profile(root_, root_ + "/sub/ok.json");
  ASSERT_TRUE(abs) << abs.error().message();
  EXPECT_EQ((*abs)["defaultAction"], "SCMP_ACT_ERRNO");
  auto rel = load_localhost_seccomp_profile(root_, "sub/ok.json");
  ASSERT_TRUE(rel) << rel.error().message();
}

TEST_F(LocalhostProfiles, AbsolutePathsMayBeAnywhere) {
  // The kubelet (and critest) send absolute paths outside any root.
  write(dir_ + "/outside.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  for (const std::string& ref : {dir_ + "/outside.json", root_ + "/../outside.json"}) {
    auto r = load_localhost_seccomp_profile(root_, ref);
    ASSERT_TRUE(r) << ref << ": " << r.error().message();
    EXPECT_EQ((*r)["defaultAction"], "SCMP_ACT_ALLOW");
  }
  auto no_root = load_localhost_seccomp_profile("", dir_ + "/outside.json");
  ASSERT_TRUE(no_root) << no_root.error().message();
  auto rel_no_root = load_localhost_seccomp_profile("", "outside.json");
  ASSERT_FALSE(rel_no_root);
  EXPECT_NE(rel_no_root.error().message().find("outside.json"), std::string::npos);
}

TEST_F(LocalhostProfiles, RelativeRefsCannotLeaveTheRoot) {
  write(dir_ + "/outside.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  for (const std::string& ref : {std::string("../outside.json"), std::string("sub/../../outside.json"),
                                 std::string(".."), std::string(".")}) {
    auto r = load_localhost_seccomp_profile(root_, ref);
    ASSERT_FALSE(r) << ref;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument) << ref;
  }
}

TEST_F(LocalhostProfiles, RefusesWhatIsNotASmallRegularJsonFile) {
  // Not JSON.
  auto passwd = load_localhost_seccomp_profile(root_, "/etc/passwd");
  ASSERT_FALSE(passwd);
  EXPECT_EQ(passwd.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(passwd.error().message().find("/etc/passwd"), std::string::npos);
  // A directory.
  auto dir = load_localhost_seccomp_profile(root_, root_ + "/sub");
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message().find("not a regular file"), std::string::npos);
  // A FIFO must not hang the call (nobody writes to it).
  ASSERT_EQ(mkfifo((root_ + "/fifo.json").c_str(), 0600), 0);
  auto fifo = load_localhost_seccomp_profile(root_, root_ + "/fifo.json");
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message().find("fifo.json"), std::string::npos);
  // A device.
  auto dev = load_localhost_seccomp_profile(root_, "/dev/zero");
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error().kind(), ErrorKind::kInvalidArgument);
  // Too big, even though valid JSON.
  std::string big = R"({"defaultAction":"SCMP_ACT_ALLOW","pad":")" +
                    std::string(kMaxSeccompProfileBytes, 'x') + "\"}";
  write(root_ + "/big.json", big);
  auto too_big = load_localhost_seccomp_profile(root_, "big.json");
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(too_big.error().message().find("big.json"), std::string::npos);
}

TEST(SpecSeccomp, ValidationRefusesUnknownActionsAndNames) {
  EXPECT_FALSE(validate_seccomp_profile(json{{"defaultAction", "SCMP_ACT_MAYBE"}}, "p"));
  json bad_action = {{"defaultAction", "SCMP_ACT_ALLOW"},
                     {"syscalls", json::array({json{{"names", {"mkdir"}}, {"action", "NOPE"}}})}};
  EXPECT_FALSE(validate_seccomp_profile(bad_action, "p"));
  json bad_name = {{"defaultAction", "SCMP_ACT_ALLOW"},
                   {"syscalls", json::array({json{{"names", {1}}, {"action", "SCMP_ACT_ERRNO"}}})}};
  EXPECT_FALSE(validate_seccomp_profile(bad_name, "p"));
  json no_names = {{"defaultAction", "SCMP_ACT_ALLOW"},
                   {"syscalls", json::array({json{{"names", json::array()}, {"action", "SCMP_ACT_ERRNO"}}})}};
  EXPECT_FALSE(validate_seccomp_profile(no_names, "p"));
  EXPECT_FALSE(validate_seccomp_profile(
      json{{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"x86_64"}}}, "p"));
  json good = {{"defaultAction", "SCMP_ACT_ALLOW"},
               {"architectures", {"SCMP_ARCH_X86_64"}},
               {"syscalls", json::array({json{{"names", {"mkdir", "mkdirat"}},
                                              {"action", "SCMP_ACT_ERRNO"},
                                              {"errnoRet", 1}}})}};
  EXPECT_TRUE(validate_seccomp_profile(good, "p"));
}

TEST_F(LocalhostProfiles, RefusesSymlinkEscapes) {
  write(dir_ + "/outside.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  ASSERT_EQ(symlink((dir_ + "/outside.json").c_str(), (root_ + "/link.json").c_str()), 0);
  auto r = load_localhost_seccomp_profile(root_, "link.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("link.json"), std::string::npos);
}

TEST_F(LocalhostProfiles, MissingAndMalformedProfiles) {
  auto missing = load_localhost_seccomp_profile(root_, "nope.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message().find("nope.json"), std::string::npos);
  write(root_ + "/bad.json", "{not json");
  auto bad = load_localhost_seccomp_profile(root_, "bad.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalidArgument);
  write(root_ + "/nodefault.json", R"({"syscalls":[]})");
  auto nodefault = load_localhost_seccomp_profile(root_, "nodefault.json");
  ASSERT_FALSE(nodefault);
  EXPECT_NE(nodefault.error().message().find("defaultAction"), std::string::npos);
}

}  // namespace
}  // namespace crid::oci
