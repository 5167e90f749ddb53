#include "sandbox/sandbox_store.h"

#include <nlohmann/json.hpp>

namespace crid::sandbox {

namespace {

using json = nlohmann::json;

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS pods (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  namespace TEXT NOT NULL,
  uid TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  state INTEGER NOT NULL,
  created INTEGER NOT NULL,
  config TEXT NOT NULL,
  netns TEXT NOT NULL,
  ipcns TEXT NOT NULL,
  utsns TEXT NOT NULL,
  ips TEXT NOT NULL,
  cni_result TEXT NOT NULL,
  network TEXT NOT NULL,
  runtime_handler TEXT NOT NULL,
  cgroup_parent TEXT NOT NULL,
  labels TEXT NOT NULL,
  annotations TEXT NOT NULL,
  infra_pid INTEGER NOT NULL DEFAULT 0,
  infra_start INTEGER NOT NULL DEFAULT 0,
  UNIQUE (name, namespace, uid, attempt)
))";

const char* kColumns =
    "id, state, created, config, netns, ipcns, utsns, ips, cni_result, network, "
    "runtime_handler, cgroup_parent, infra_pid, infra_start";

Result<Pod> row_to_pod(const store::Statement& s) {
  Pod p;
  p.id = s.text(0);
  p.state = s.integer(1) == 0 ? PodState::kReady : PodState::kNotReady;
  p.created_at_ns = s.integer(2);
  CRID_ASSIGN(p.config, config_from_json(s.text(3)));
  p.ns = {s.text(4), s.text(5), s.text(6)};
  json ips = json::parse(s.text(7), nullptr, false);
  if (ips.is_array())
    for (auto& ip : ips)
      if (ip.is_string()) p.ips.push_back(ip);
  p.cni_result = s.text(8);
  p.network_name = s.text(9);
  p.runtime_handler = s.text(10);
  p.cgroup_parent = s.text(11);
  p.infra.pid = static_cast<pid_t>(s.integer(12));
  p.infra.start_time = static_cast<uint64_t>(s.integer(13));
  return p;
}

}  // namespace

Result<std::unique_ptr<SandboxStore>> SandboxStore::open(store::Database& db) {
  CRID_TRY_CTX(db.ensure_schema(kSchema), "creating the pods table");
  // Tables made before the pause existed lack its columns.
  if (!db.prepare("SELECT infra_pid FROM pods LIMIT 0")) {
    CRID_TRY_CTX(db.exec("ALTER TABLE pods ADD COLUMN infra_pid INTEGER NOT NULL DEFAULT 0; "
                         "ALTER TABLE pods ADD COLUMN infra_start INTEGER NOT NULL DEFAULT 0"),
                 "adding the pause columns to the pods table");
  }
  return std::unique_ptr<SandboxStore>(new SandboxStore(db));
}

Result<std::optional<std::string>> SandboxStore::find_by_name(const PodMetadata& m) {
  CRID_ASSIGN(auto s, db_.prepare("SELECT id FROM pods WHERE name=?1 AND namespace=?2 AND "
                                  "uid=?3 AND attempt=?4"));
  s.bind(1, m.name).bind(2, m.namespace_).bind(3, m.uid).bind(4, int64_t{m.attempt});
  CRID_ASSIGN(bool row, s.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.text(0));
}

Status SandboxStore::insert(const Pod& p) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto holder, find_by_name(p.config.metadata));
    if (holder)
      return make_error(ErrorKind::kAlreadyExists,
                        "pod name {}_{}_{}_{} is already used by pod {}", p.config.metadata.name,
                        p.config.metadata.namespace_, p.config.metadata.uid,
                        p.config.metadata.attempt, *holder);
    CRID_ASSIGN(auto s, db_.prepare(
        "INSERT INTO pods (id, name, namespace, uid, attempt, state, created, config, netns, "
        "ipcns, utsns, ips, cni_result, network, runtime_handler, cgroup_parent, labels, "
        "annotations, infra_pid, infra_start) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
        "?14,?15,?16,?17,?18,?19,?20)"));
    const auto& m = p.config.metadata;
    s.bind(1, p.id).bind(2, m.name).bind(3, m.namespace_).bind(4, m.uid)
        .bind(5, int64_t{m.attempt}).bind(6, int64_t{static_cast<int>(p.state)})
        .bind(7, p.created_at_ns).bind(8, config_to_json(p.config)).bind(9, p.ns.net)
        .bind(10, p.ns.ipc).bind(11, p.ns.uts).bind(12, json(p.ips).dump())
        .bind(13, p.cni_result).bind(14, p.network_name).bind(15, p.runtime_handler)
        .bind(16, p.cgroup_parent).bind(17, json(p.config.labels).dump())
        .bind(18, json(p.config.annotations).dump()).bind(19, int64_t{p.infra.pid})
        .bind(20, static_cast<int64_t>(p.infra.start_time));
    return s.run();
  });
}

Status SandboxStore::update(const Pod& p, store::Durability durability) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("UPDATE pods SET state=?2, netns=?3, ipcns=?4, utsns=?5, "
                                    "ips=?6, cni_result=?7, infra_pid=?8, infra_start=?9 "
                                    "WHERE id=?1"));
    s.bind(1, p.id).bind(2, int64_t{static_cast<int>(p.state)}).bind(3, p.ns.net)
        .bind(4, p.ns.ipc).bind(5, p.ns.uts).bind(6, json(p.ips).dump()).bind(7, p.cni_result)
        .bind(8, int64_t{p.infra.pid}).bind(9, static_cast<int64_t>(p.infra.start_time));
    return s.run();
  }, durability);
}

Status SandboxStore::remove(const std::string& id) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("DELETE FROM pods WHERE id=?1"));
    s.bind(1, id);
    return s.run();
  });
}

Result<std::optional<Pod>> SandboxStore::get(const std::string& id) {
  CRID_ASSIGN(auto s, db_.prepare(fmt::format("SELECT {} FROM pods WHERE id=?1", kColumns)));
  s.bind(1, id);
  CRID_ASSIGN(bool row, s.step());
  if (!row) return std::optional<Pod>();
  CRID_ASSIGN(Pod p, row_to_pod(s));
  return std::optional<Pod>(std::move(p));
}

Result<std::vector<Pod>> SandboxStore::list() {
  CRID_ASSIGN(auto s, db_.prepare(fmt::format("SELECT {} FROM pods ORDER BY created", kColumns)));
  std::vector<Pod> out;
  for (;;) {
    CRID_ASSIGN(bool row, s.step());
    if (!row) break;
    CRID_ASSIGN(Pod p, row_to_pod(s));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace crid::sandbox
