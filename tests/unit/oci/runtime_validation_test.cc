// Proves generated specs are accepted by the real OCI runtimes: a busybox
// bundle is built in a temp dir, the builder writes its config.json, and
// runc (and crun) run it. Needs root and the runtimes; skips otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "oci/capabilities.h"
#include "oci/devices.h"
#include "oci/host_limits.h"
#include "oci/seccomp_default.h"
#include "oci/spec_builder.h"
#include "oci/user_resolver.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/process.h"

namespace crid::oci {
namespace {

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

class RuntimeValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run an OCI runtime";
    busybox_ = find_program("busybox");
    if (busybox_.empty()) GTEST_SKIP() << "busybox (busybox-static) not installed";
    char tmpl[] = "/tmp/crid-oci-bundle-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bundle_ = dir_ + "/bundle";
    rootfs_ = bundle_ + "/rootfs";
    for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp"})
      ASSERT_TRUE(fs::make_dirs(rootfs_ + "/" + d));
    std::filesystem::copy_file(busybox_, rootfs_ + "/bin/busybox");
    for (const char* applet : {"sh", "echo", "id", "cat", "unshare", "true", "grep", "ls"})
      ASSERT_EQ(symlink("busybox", (rootfs_ + "/bin/" + applet).c_str()), 0);
    ASSERT_TRUE(fs::write_file_atomic(rootfs_ + "/etc/passwd",
                                      "root:x:0:0:root:/root:/bin/sh\n"
                                      "app:x:1000:1000:app:/tmp:/bin/sh\n"));
    ASSERT_TRUE(fs::write_file_atomic(rootfs_ + "/etc/group",
                                      "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"));
  }

  void TearDown() override {
    if (!dir_.empty()) (void)fs::remove_all(dir_);
  }

  // A plain busybox container: fresh namespaces (no pod to join), the
  // default capability set and the built-in seccomp profile.
  SpecInputs inputs(const std::string& id, std::vector<std::string> args) {
    SpecInputs in;
    in.request.name = "validate";
    in.request.image_ref = "busybox:test";
    in.request.command = std::move(args);
    in.request.security.namespace_options = {NamespaceMode::kContainer, NamespaceMode::kContainer,
                                             NamespaceMode::kContainer, ""};
    in.request.security.seccomp = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
    in.request.resources.memory_limit_in_bytes = 64 << 20;
    in.sandbox.id = "sandbox-" + id;
    in.sandbox.hostname = "validate-pod";
    in.context.rootfs_path = rootfs_;
    in.context.container_id = id;
    in.context.bounding_set = read_bounding_set();
    in.context.pids_limit = 100;
    in.context.rlimit_nofile = nofile_limit_for_containers();
    auto passwd = read_rootfs_file(rootfs_, "etc/passwd");
    auto group = read_rootfs_file(rootfs_, "etc/group");
    EXPECT_TRUE(passwd && group);
    in.passwd = passwd && *passwd ? **passwd : "";
    in.group = group && *group ? **group : "";
    return in;
  }

  void write_config(const nlohmann::json& spec) {
    ASSERT_TRUE(fs::write_file_atomic(bundle_ + "/config.json", spec.dump(2)));
  }

  Result<ProcessOutput> run_runc(const std::string& id) {
    std::string runc = find_program("runc");
    SpawnOptions o;
    o.argv = {runc, "--root", dir_ + "/runc-root", "run", "--bundle", bundle_, id};
    o.timeout = std::chrono::seconds(60);
    return run_process(o);
  }

  // runc in a private mount namespace after `prelude` (shell) ran there.
  Result<ProcessOutput> run_runc_after(const std::string& prelude, const std::string& id) {
    std::string cmd = fmt::format("{}; exec {} --root {} run --bundle {} {}", prelude,
                                  find_program("runc"), dir_ + "/runc-root", bundle_, id);
    SpawnOptions o;
    o.argv = {find_program("unshare"), "-m", "/bin/sh", "-c", cmd};
    o.timeout = std::chrono::seconds(60);
    return run_process(o);
  }

  // crun 1.8 refuses a hybrid cgroup layout (cgroup2 at
  // /sys/fs/cgroup/unified): hide that mount in a private mount namespace.
  Result<ProcessOutput> run_crun(const std::string& id) {
    std::string crun = find_program("crun");
    std::string unshare = find_program("unshare");
    std::string cmd = fmt::format(
        "if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then "
        "umount /sys/fs/cgroup/unified; fi; exec {} --root {} run --bundle {} {}",
        crun, dir_ + "/crun-root", bundle_, id);
    SpawnOptions o;
    o.argv = {unshare, "-m", "/bin/sh", "-c", cmd};
    o.timeout = std::chrono::seconds(60);
    return run_process(o);
  }

  std::string busybox_, dir_, bundle_, rootfs_;
};

TEST_F(RuntimeValidation, RuncRunsAPlainBusyboxContainer) {
  if (find_program("runc").empty()) GTEST_SKIP() << "runc not installed";
  std::string id = "crid-validate-" + random_hex(6);
  auto in = inputs(id, {"/bin/sh", "-c", "id; echo ok"});
  in.image.user = "app";
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().message();
  write_config(*spec);
  auto out = run_runc(id);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_TRUE(out->success()) << out->describe();
  EXPECT_NE(out->out.find("uid=1000(app)"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("gid=1000(app)"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("2000(extra)"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("ok"), std::string::npos) << out->out;
}

TEST_F(RuntimeValidation, RuncReportsTheContainersExitCode) {
  if (find_program("runc").empty()) GTEST_SKIP() << "runc not installed";
  std::string id = "crid-validate-" + random_hex(6);
  write_config(*build_spec(inputs(id, {"/bin/sh", "-c", "exit 7"})));
  auto out = run_runc(id);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(out->exit_code, 7) << out->describe();
}

TEST_F(RuntimeValidation, DefaultSeccompProfileBlocksUnshareUnderRunc) {
  if (find_program("runc").empty()) GTEST_SKIP() << "runc not installed";
  // With CAP_SYS_ADMIN the kernel itself would allow unshare, so a failure
  // can only come from the seccomp filter crid wrote.
  const char* script = "unshare -n true && echo unshare=allowed || echo unshare=denied";
  std::string id = "crid-validate-" + random_hex(6);
  auto in = inputs(id, {"/bin/sh", "-c", script});
  in.request.security.add_capabilities = {"SYS_ADMIN"};
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().message();

  // The profile built for CAP_SYS_ADMIN opens unshare ...
  write_config(*spec);
  auto allowed = run_runc(id);
  ASSERT_TRUE(allowed) << allowed.error().message();
  EXPECT_NE(allowed->out.find("unshare=allowed"), std::string::npos) << allowed->describe();

  // ... the one for the default capability set does not.
  (*spec)["linux"]["seccomp"] = default_seccomp_profile(default_capabilities());
  write_config(*spec);
  auto denied = run_runc(id);
  ASSERT_TRUE(denied) << denied.error().message();
  EXPECT_NE(denied->out.find("unshare=denied"), std::string::npos) << denied->describe();
}

TEST_F(RuntimeValidation, RuncHonoursReadonlyMountsAndRootfs) {
  if (find_program("runc").empty()) GTEST_SKIP() << "runc not installed";
  std::string data = dir_ + "/data";
  ASSERT_TRUE(fs::make_dirs(data));
  ASSERT_TRUE(fs::write_file_atomic(data + "/hello", "hello from the host\n"));
  std::string id = "crid-validate-" + random_hex(6);
  auto in = inputs(id, {"/bin/sh", "-c",
                        "cat /data/hello; (echo x > /data/new) 2>/dev/null || echo data=ro; "
                        "(echo x > /new) 2>/dev/null || echo root=ro; "
                        "(echo x > /dev/shm/new) && echo shm=rw"});
  in.request.mounts = {{.container_path = "/data", .host_path = data, .readonly = true}};
  in.request.security.readonly_rootfs = true;
  ASSERT_TRUE(validate_mount_sources(in.request));
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().message();
  write_config(*spec);
  auto out = run_runc(id);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_TRUE(out->success()) << out->describe();
  EXPECT_NE(out->out.find("hello from the host"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("data=ro"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("root=ro"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("shm=rw"), std::string::npos) << out->out;
  EXPECT_FALSE(fs::exists(data + "/new"));
}

TEST_F(RuntimeValidation, RuncRecursiveReadOnlyReachesSubmounts) {
  if (find_program("runc").empty() || find_program("unshare").empty())
    GTEST_SKIP() << "runc or unshare not installed";
  std::string data = dir_ + "/data";
  ASSERT_TRUE(fs::make_dirs(data + "/sub"));
  // A tmpfs under the mounted directory, visible only to this runc run.
  std::string prelude = fmt::format("mount -t tmpfs tmpfs {}/sub", data);
  const char* script =
      "(echo x > /data/sub/f) 2>/dev/null && echo sub=rw || echo sub=ro; "
      "(echo x > /data/f) 2>/dev/null && echo top=rw || echo top=ro";
  for (bool recursive : {false, true}) {
    std::string id = "crid-validate-" + random_hex(6);
    auto in = inputs(id, {"/bin/sh", "-c", script});
    in.request.mounts = {{.container_path = "/data", .host_path = data, .readonly = true,
                          .recursive_read_only = recursive}};
    auto spec = build_spec(in);
    ASSERT_TRUE(spec) << spec.error().message();
    write_config(*spec);
    auto out = run_runc_after(prelude, id);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_TRUE(out->success()) << out->describe();
    EXPECT_NE(out->out.find("top=ro"), std::string::npos) << out->out;
    EXPECT_NE(out->out.find(recursive ? "sub=ro" : "sub=rw"), std::string::npos)
        << "recursive=" << recursive << ": " << out->out;
  }
}

TEST_F(RuntimeValidation, RuncPrivilegedGetsTheBoundingSetAndHostDevices) {
  if (find_program("runc").empty()) GTEST_SKIP() << "runc not installed";
  std::string id = "crid-validate-" + random_hex(6);
  auto in = inputs(id, {"/bin/sh", "-c", "grep CapEff /proc/self/status; ls /dev/null && echo dev-ok"});
  in.request.security.privileged = true;
  in.sandbox.privileged = true;
  auto devices = list_host_devices();
  ASSERT_TRUE(devices) << devices.error().message();
  in.host_devices = *devices;
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().message();
  write_config(*spec);
  auto out = run_runc(id);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_TRUE(out->success()) << out->describe();
  uint64_t mask = 0;
  const auto& names = all_capability_names();
  for (const auto& cap : read_bounding_set())
    mask |= 1ULL << (std::find(names.begin(), names.end(), cap) - names.begin());
  EXPECT_NE(out->out.find(fmt::format("CapEff:\t{:016x}", mask)), std::string::npos) << out->out;
}

TEST_F(RuntimeValidation, CrunRunsTheSameSpec) {
  if (find_program("crun").empty() || find_program("unshare").empty())
    GTEST_SKIP() << "crun or unshare not installed";
  std::string id = "crid-validate-" + random_hex(6);
  auto in = inputs(id, {"/bin/sh", "-c", "id; echo ok"});
  in.image.user = "app";
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().message();
  write_config(*spec);
  auto out = run_crun(id);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_TRUE(out->success()) << out->describe();
  EXPECT_NE(out->out.find("uid=1000(app)"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("ok"), std::string::npos) << out->out;
}

}  // namespace
}  // namespace crid::oci
