#include "container/container_store.h"

#include <nlohmann/json.hpp>

namespace crid::container {

namespace {

using json = nlohmann::json;

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  pod_id TEXT NOT NULL,
  name TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  state INTEGER NOT NULL,
  created INTEGER NOT NULL,
  started INTEGER NOT NULL,
  finished INTEGER NOT NULL,
  exit_code INTEGER NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  image_name TEXT NOT NULL,
  image_id TEXT NOT NULL,
  image_ref TEXT NOT NULL,
  labels TEXT NOT NULL,
  annotations TEXT NOT NULL,
  log_path TEXT NOT NULL,
  request TEXT NOT NULL,
  pid INTEGER NOT NULL,
  UNIQUE (pod_id, name, attempt)
))";

const char* kColumns =
    "id, pod_id, name, attempt, state, created, started, finished, exit_code, reason, message, "
    "image_name, image_id, image_ref, labels, annotations, log_path, request, pid";

json map_to_json(const std::map<std::string, std::string>& m) { return json(m); }

std::map<std::string, std::string> map_from_json(const std::string& text) {
  std::map<std::string, std::string> out;
  json j = json::parse(text, nullptr, false);
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

Result<ContainerRecord> row_to_record(const store::Statement& s) {
  ContainerRecord r;
  r.id = s.text(0);
  r.pod_id = s.text(1);
  r.name = s.text(2);
  r.attempt = static_cast<uint32_t>(s.integer(3));
  r.state = static_cast<ContainerState>(s.integer(4));
  r.created_ns = s.integer(5);
  r.started_ns = s.integer(6);
  r.finished_ns = s.integer(7);
  r.exit_code = static_cast<int32_t>(s.integer(8));
  r.reason = s.text(9);
  r.message = s.text(10);
  r.image_name = s.text(11);
  r.image_id = s.text(12);
  r.image_ref = s.text(13);
  r.labels = map_from_json(s.text(14));
  r.annotations = map_from_json(s.text(15));
  r.log_path = s.text(16);
  CRID_TRY_CTX(record_extras_from_json(s.text(17), r), "container {}", r.id);
  r.pid = static_cast<pid_t>(s.integer(18));
  return r;
}

void bind_record(store::Statement& s, const ContainerRecord& r) {
  s.bind(1, r.id).bind(2, r.pod_id).bind(3, r.name).bind(4, int64_t{r.attempt});
  s.bind(5, int64_t{static_cast<int>(r.state)}).bind(6, r.created_ns).bind(7, r.started_ns);
  s.bind(8, r.finished_ns).bind(9, int64_t{r.exit_code}).bind(10, r.reason).bind(11, r.message);
  s.bind(12, r.image_name).bind(13, r.image_id).bind(14, r.image_ref);
  s.bind(15, map_to_json(r.labels).dump()).bind(16, map_to_json(r.annotations).dump());
  s.bind(17, r.log_path).bind(18, record_extras_to_json(r)).bind(19, int64_t{r.pid});
}

}  // namespace

std::string record_extras_to_json(const ContainerRecord& r) {
  json mounts = json::array();
  for (const auto& m : r.mounts)
    mounts.push_back({{"container_path", m.container_path},
                      {"host_path", m.host_path},
                      {"readonly", m.readonly},
                      {"recursive_read_only", m.recursive_read_only},
                      {"propagation", static_cast<int>(m.propagation)},
                      {"selinux_relabel", m.selinux_relabel}});
  const auto& res = r.resources;
  json hugepages = json::array();
  for (const auto& h : res.hugepage_limits) hugepages.push_back({{"page_size", h.page_size}, {"limit", h.limit}});
  json resources = {{"cpu_period", res.cpu_period},
                    {"cpu_quota", res.cpu_quota},
                    {"cpu_shares", res.cpu_shares},
                    {"memory_limit_in_bytes", res.memory_limit_in_bytes},
                    {"memory_swap_limit_in_bytes", res.memory_swap_limit_in_bytes},
                    {"oom_score_adj", res.oom_score_adj},
                    {"cpuset_cpus", res.cpuset_cpus},
                    {"cpuset_mems", res.cpuset_mems},
                    {"hugepage_limits", hugepages},
                    {"unified", res.unified}};
  json j = {{"runtime_handler", r.runtime_handler},
            {"stop_signal", r.stop_signal},
            {"mounts", mounts},
            {"resources", resources},
            {"user", {{"uid", r.user.uid}, {"gid", r.user.gid}, {"additional_gids", r.user.additional_gids}}},
            {"tty", r.tty},
            {"stdin", r.stdin},
            {"stdin_once", r.stdin_once},
            {"privileged", r.privileged}};
  return j.dump();
}

Status record_extras_from_json(const std::string& text, ContainerRecord& r) {
  try {
    json j = json::parse(text);
    r.runtime_handler = j.value("runtime_handler", "");
    r.stop_signal = j.value("stop_signal", 15);
    r.tty = j.value("tty", false);
    r.stdin = j.value("stdin", false);
    r.stdin_once = j.value("stdin_once", false);
    r.privileged = j.value("privileged", false);
    r.mounts.clear();
    for (const auto& m : j.value("mounts", json::array())) {
      oci::Mount mount;
      mount.container_path = m.at("container_path").get<std::string>();
      mount.host_path = m.at("host_path").get<std::string>();
      mount.readonly = m.value("readonly", false);
      mount.recursive_read_only = m.value("recursive_read_only", false);
      mount.propagation = static_cast<oci::MountPropagation>(m.value("propagation", 0));
      mount.selinux_relabel = m.value("selinux_relabel", false);
      r.mounts.push_back(std::move(mount));
    }
    const json& res = j.at("resources");
    auto& out = r.resources;
    out.cpu_period = res.value("cpu_period", int64_t{0});
    out.cpu_quota = res.value("cpu_quota", int64_t{0});
    out.cpu_shares = res.value("cpu_shares", int64_t{0});
    out.memory_limit_in_bytes = res.value("memory_limit_in_bytes", int64_t{0});
    out.memory_swap_limit_in_bytes = res.value("memory_swap_limit_in_bytes", int64_t{0});
    out.oom_score_adj = res.value("oom_score_adj", int64_t{0});
    out.cpuset_cpus = res.value("cpuset_cpus", "");
    out.cpuset_mems = res.value("cpuset_mems", "");
    out.hugepage_limits.clear();
    for (const auto& h : res.value("hugepage_limits", json::array()))
      out.hugepage_limits.push_back({h.at("page_size").get<std::string>(), h.at("limit").get<uint64_t>()});
    out.unified = res.value("unified", std::map<std::string, std::string>{});
    const json& u = j.at("user");
    r.user.uid = u.value("uid", 0u);
    r.user.gid = u.value("gid", 0u);
    r.user.additional_gids = u.value("additional_gids", std::vector<uint32_t>{});
    return Ok();
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "reading the stored request: {}", e.what());
  }
}

Result<std::unique_ptr<ContainerStore>> ContainerStore::open(store::Database& db) {
  CRID_TRY_CTX(db.ensure_schema(kSchema), "creating the containers table");
  return std::unique_ptr<ContainerStore>(new ContainerStore(db));
}

Status ContainerStore::insert(const ContainerRecord& r) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto q, db_.prepare("SELECT id FROM containers WHERE pod_id=?1 AND name=?2 AND attempt=?3"));
    q.bind(1, r.pod_id).bind(2, r.name).bind(3, int64_t{r.attempt});
    CRID_ASSIGN(bool taken, q.step());
    if (taken)
      return make_error(ErrorKind::kAlreadyExists,
                        "container name {} (attempt {}) in pod {} is already used by container {}",
                        r.name, r.attempt, r.pod_id, q.text(0));
    CRID_ASSIGN(auto s, db_.prepare(fmt::format(
                            "INSERT INTO containers ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                            "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
                            kColumns)));
    bind_record(s, r);
    CRID_TRY_CTX(s.run(), "storing container {}", r.id);
    return Ok();
  });
}

Status ContainerStore::update(const ContainerRecord& r) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare(
                            "UPDATE containers SET pod_id=?2, name=?3, attempt=?4, state=?5, created=?6, "
                            "started=?7, finished=?8, exit_code=?9, reason=?10, message=?11, "
                            "image_name=?12, image_id=?13, image_ref=?14, labels=?15, annotations=?16, "
                            "log_path=?17, request=?18, pid=?19 WHERE id=?1"));
    bind_record(s, r);
    CRID_TRY_CTX(s.run(), "updating container {}", r.id);
    return Ok();
  });
}

Status ContainerStore::remove(const std::string& id) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("DELETE FROM containers WHERE id=?1"));
    s.bind(1, id);
    CRID_TRY_CTX(s.run(), "deleting container {}", id);
    return Ok();
  });
}

Result<std::vector<ContainerRecord>> ContainerStore::list() {
  CRID_ASSIGN(auto s, db_.prepare(fmt::format("SELECT {} FROM containers ORDER BY created", kColumns)));
  std::vector<ContainerRecord> out;
  for (;;) {
    CRID_ASSIGN(bool row, s.step());
    if (!row) break;
    CRID_ASSIGN(auto r, row_to_record(s));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace crid::container
