#include "image/digest.h"
#include "image/layer_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "image/layer_unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/unique_fd.h"
#include "util/printable.h"

namespace crid::image {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS layers (
  chain_id TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  compressed_digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  refcount INTEGER NOT NULL,
  link TEXT NOT NULL UNIQUE
))sql";

constexpr const char* kLinksDir = "l";
constexpr const char* kTmpPrefix = "tmp-";
constexpr size_t kShortIdBytes = 13;  // 26 hex chars, as short as overlay needs

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return out;
  while (auto* de = ::readdir(d.get())) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  return out;
}

bool is_layer_dir_name(const std::string& name) {
  return is_sha256_digest("sha256:" + name);
}

struct Walk {
  int64_t bytes = 0;
  int64_t inodes = 0;
  std::set<std::pair<dev_t, ino_t>> linked;  // hard links counted once
};

void walk_usage(int dirfd, Walk& w) {
  int fd = ::dup(dirfd);
  if (fd < 0) return;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd), ::closedir);
  if (!d) {
    ::close(fd);
    return;
  }
  while (auto* de = ::readdir(d.get())) {
    std::string_view n = de->d_name;
    if (n == "." || n == "..") continue;
    struct stat st;
    if (::fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
        !w.linked.insert({st.st_dev, st.st_ino}).second)
      continue;
    w.bytes += static_cast<int64_t>(st.st_blocks) * 512;
    w.inodes += 1;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) walk_usage(sub.get(), w);
    }
  }
}

std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

class LayerStoreImpl final : public LayerStore {
 public:
  LayerStoreImpl(std::string dir, store::Database& db) : dir_(std::move(dir)), db_(db) {}

  Status recover() {
    for (const auto& name : list_dir(dir_))
      if (name.starts_with(kTmpPrefix)) CRID_TRY_CTX(fs::remove_all(dir_ + "/" + name), "layer store recovery");

    // Layers nobody references: a pull that stopped before storing its image.
    std::vector<std::string> released;
    CRID_TRY(db_.transaction([&]() -> Status {
      for (;;) {
        CRID_ASSIGN(auto stmt, db_.prepare("SELECT chain_id FROM layers WHERE refcount <= 0 LIMIT 1"));
        CRID_ASSIGN(bool row, stmt.step());
        if (!row) return Ok();
        std::string id = stmt.text(0);
        CRID_TRY(delete_row(id, released));
      }
    }));
    if (!released.empty())
      spdlog::info("[LayerStore] removing {} unreferenced layers left by an unfinished pull",
                   released.size());
    remove_released(released);

    std::set<std::string> known_hex, known_links;
    {
      CRID_ASSIGN(auto stmt, db_.prepare("SELECT chain_id, link FROM layers"));
      for (;;) {
        CRID_ASSIGN(bool row, stmt.step());
        if (!row) break;
        known_hex.insert(hex_of(stmt.text(0)));
        known_links.insert(stmt.text(1));
      }
    }
    for (const auto& name : list_dir(dir_)) {
      if (!is_layer_dir_name(name) || known_hex.count(name)) continue;
      spdlog::info("[LayerStore] removing layer dir {} that has no record (interrupted create)", name);
      CRID_TRY_CTX(fs::remove_all(dir_ + "/" + name), "layer store recovery");
    }
    for (const auto& name : list_dir(dir_ + "/" + kLinksDir))
      if (!known_links.count(name)) ::unlinkat(AT_FDCWD, link_path(name).c_str(), 0);
    for (const auto& hex : known_hex)
      if (!fs::exists(dir_ + "/" + hex + "/diff"))
        spdlog::warn("[LayerStore] layer sha256:{} is recorded but its directory is missing", hex);
    return Ok();
  }

  bool has(const std::string& chain_id) override { return row(chain_id).has_value(); }

  Result<LayerInfo> info(const std::string& chain_id) override {
    auto r = row(chain_id);
    if (!r) return make_error(ErrorKind::kNotFound, "layer {} is not in the store", chain_id);
    return r->info;
  }

  Result<int64_t> refcount(const std::string& chain_id) override {
    auto r = row(chain_id);
    if (!r) return make_error(ErrorKind::kNotFound, "layer {} is not in the store", chain_id);
    return r->refcount;
  }

  Result<LayerInfo> create(int fd, const LayerSpec& spec) override {
    std::string what = fmt::format("creating layer {} ({}) of {}", spec.chain_id,
                                   spec.compressed_digest, spec.image_ref);
    CRID_TRY_CTX(validate(spec), "{}", what);
    std::lock_guard chain_lock(chain_mutex(spec.chain_id));
    if (auto existing = row(spec.chain_id)) return existing->info;
    if (!spec.parent_chain_id.empty() && !has(spec.parent_chain_id))
      return make_error(ErrorKind::kFailedPrecondition, "{}: parent layer {} is not in the store",
                        what, spec.parent_chain_id);

    Cleanup undo;
    std::string tmpl = dir_ + "/" + kTmpPrefix + "XXXXXX";
    if (!::mkdtemp(tmpl.data())) return sys_error("{}: creating temporary dir", what);
    std::string tmp = tmpl;
    undo.add("remove temporary dir", [tmp] { (void)fs::remove_all(tmp); });
    if (::mkdir((tmp + "/diff").c_str(), 0755) != 0) return sys_error("{}: creating diff dir", what);

    UnpackOptions opts;
    opts.layer_digest = spec.compressed_digest.empty() ? spec.diff_id : spec.compressed_digest;
    opts.allow_devices = spec.allow_devices;
    opts.cancelled = spec.cancelled;
    auto unpacked = unpack_layer(fd, tmp + "/diff", opts);
    if (!unpacked) return unpacked.error().wrap(what);
    const UnpackStats& stats = *unpacked;
    if (stats.diff_id != spec.diff_id)
      return make_error(ErrorKind::kInvalidArgument,
                        "{}: uncompressed content has digest {}, expected diff id {}", what,
                        stats.diff_id, spec.diff_id);

    std::string link = random_hex(kShortIdBytes);
    CRID_TRY_CTX(fs::write_file_atomic(tmp + "/link", link), "{}", what);
    // The unpacked files must be on disk before the rename and the row say
    // the layer exists.
    UniqueFd tmpfd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!tmpfd.valid() || ::syncfs(tmpfd.get()) != 0) return sys_error("{}: syncing", what);

    std::string final_dir = layer_dir(spec.chain_id);
    if (fs::exists(final_dir)) CRID_TRY_CTX(fs::remove_all(final_dir), "{}: removing stale dir", what);
    if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
      return sys_error("{}: renaming {} into place", what, tmp);
    undo.dismiss();
    undo.add("remove layer dir", [final_dir] { (void)fs::remove_all(final_dir); });
    std::string link_target = "../" + hex_of(spec.chain_id) + "/diff";
    if (::symlink(link_target.c_str(), link_path(link).c_str()) != 0)
      return sys_error("{}: creating short link {}", what, link_path(link));
    undo.add("remove short link", [p = link_path(link)] { ::unlink(p.c_str()); });

    LayerInfo info{spec.chain_id, spec.parent_chain_id, spec.diff_id, spec.compressed_digest,
                   stats.bytes};
    CRID_TRY_CTX(db_.transaction([&]() -> Status {
      if (!spec.parent_chain_id.empty()) CRID_TRY(add_ref_in_transaction(spec.parent_chain_id));
      CRID_ASSIGN(auto ins, db_.prepare(
          "INSERT INTO layers (chain_id, parent, diff_id, compressed_digest, size, refcount, link) "
          "VALUES (?, ?, ?, ?, ?, 0, ?)"));
      ins.bind(1, info.chain_id).bind(2, info.parent_chain_id).bind(3, info.diff_id)
          .bind(4, info.compressed_digest).bind(5, info.size).bind(6, link);
      return ins.run();
    }), "{}: recording", what);
    undo.dismiss();
    usage_dirty();
    return info;
  }

  Status add_ref(const std::string& chain_id) override {
    return db_.transaction([&] { return add_ref_in_transaction(chain_id); });
  }

  Status release(const std::string& chain_id) override {
    std::vector<std::string> released;
    CRID_TRY(db_.transaction([&]() -> Status {
      CRID_ASSIGN(released, release_in_transaction(chain_id));
      return Ok();
    }));
    remove_released(released);
    return Ok();
  }

  Status add_ref_in_transaction(const std::string& chain_id) override {
    if (!has(chain_id))
      return make_error(ErrorKind::kNotFound, "referencing layer {}: not in the store", chain_id);
    CRID_ASSIGN(auto up, db_.prepare("UPDATE layers SET refcount = refcount + 1 WHERE chain_id = ?"));
    up.bind(1, chain_id);
    return up.run();
  }

  Result<std::vector<std::string>> release_in_transaction(const std::string& chain_id) override {
    auto r = row(chain_id);
    if (!r) return make_error(ErrorKind::kNotFound, "releasing layer {}: not in the store", chain_id);
    std::vector<std::string> released;
    if (r->refcount > 1) {
      CRID_ASSIGN(auto up, db_.prepare("UPDATE layers SET refcount = refcount - 1 WHERE chain_id = ?"));
      up.bind(1, chain_id);
      CRID_TRY(up.run());
      return released;
    }
    CRID_TRY(delete_row(chain_id, released));
    return released;
  }

  void remove_released(const std::vector<std::string>& chain_ids) override {
    for (const auto& id : chain_ids) {
      std::lock_guard chain_lock(chain_mutex(id));
      if (has(id)) continue;  // created again since its row went away
      std::string dir = layer_dir(id);
      if (auto link = fs::read_file(dir + "/link", 256)) {
        std::string p = link_path(*link);
        char buf[256];
        ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
        if (n > 0 && std::string(buf, static_cast<size_t>(n)) == "../" + hex_of(id) + "/diff")
          ::unlink(p.c_str());
      }
      if (auto st = fs::remove_all(dir); !st)
        spdlog::warn("[LayerStore] removing released layer {}: {}", id, st.error().message());
    }
    if (!chain_ids.empty()) usage_dirty();
  }

  Result<std::vector<std::string>> lower_dirs(const std::string& top_chain_id) override {
    std::vector<std::string> out;
    std::string cur = top_chain_id;
    while (!cur.empty()) {
      auto r = row(cur);
      if (!r)
        return make_error(ErrorKind::kNotFound, "layer {} (in the chain of {}) is not in the store",
                          cur, top_chain_id);
      out.push_back(link_path(r->link));
      cur = r->info.parent_chain_id;
      if (out.size() > 500)
        return make_error(ErrorKind::kInternal, "layer chain of {} loops", top_chain_id);
    }
    return out;
  }

  std::string diff_dir(const std::string& chain_id) override { return layer_dir(chain_id) + "/diff"; }

  Result<StoreUsage> usage() override {
    std::lock_guard lock(usage_mu_);
    if (!cached_usage_) {
      UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd.valid()) return sys_error("measuring layer store {}", dir_);
      Walk w;
      walk_usage(fd.get(), w);
      StoreUsage u;
      u.bytes = w.bytes;
      u.inodes = w.inodes;
      char real[PATH_MAX];
      std::string path = ::realpath(dir_.c_str(), real) ? std::string(real) : dir_;
      CRID_ASSIGN(std::string mountinfo, fs::read_file("/proc/self/mountinfo"));
      u.mountpoint = mountpoint_of(mountinfo, path);
      cached_usage_ = u;
    }
    return *cached_usage_;
  }

 private:
  struct Row {
    LayerInfo info;
    int64_t refcount = 0;
    std::string link;
  };

  std::optional<Row> row(const std::string& chain_id) {
    auto stmt = db_.prepare(
        "SELECT parent, diff_id, compressed_digest, size, refcount, link FROM layers WHERE chain_id = ?");
    if (!stmt) return std::nullopt;
    stmt->bind(1, chain_id);
    auto has_row = stmt->step();
    if (!has_row || !*has_row) return std::nullopt;
    Row r;
    r.info = {chain_id, stmt->text(0), stmt->text(1), stmt->text(2), stmt->integer(3)};
    r.refcount = stmt->integer(4);
    r.link = stmt->text(5);
    return r;
  }

  // Drops a layer's row and, since a child counts as a reference on its
  // parent, releases the parent in the same transaction.
  Status delete_row(const std::string& chain_id, std::vector<std::string>& released) {
    auto r = row(chain_id);
    if (!r) return Ok();
    CRID_ASSIGN(auto del, db_.prepare("DELETE FROM layers WHERE chain_id = ?"));
    del.bind(1, chain_id);
    CRID_TRY(del.run());
    released.push_back(chain_id);
    if (r->info.parent_chain_id.empty()) return Ok();
    CRID_ASSIGN(auto more, release_in_transaction(r->info.parent_chain_id));
    released.insert(released.end(), more.begin(), more.end());
    return Ok();
  }

  static Status validate(const LayerSpec& spec) {
    if (!is_sha256_digest(spec.chain_id))
      return make_error(ErrorKind::kInvalidArgument, "chain id {} is not a sha256 digest", printable(spec.chain_id));
    if (!is_sha256_digest(spec.diff_id))
      return make_error(ErrorKind::kInvalidArgument, "diff id {} is not a sha256 digest", printable(spec.diff_id));
    if (!spec.parent_chain_id.empty() && !is_sha256_digest(spec.parent_chain_id))
      return make_error(ErrorKind::kInvalidArgument, "parent chain id {} is not a sha256 digest",
                        printable(spec.parent_chain_id));
    return Ok();
  }

  std::string layer_dir(const std::string& chain_id) const { return dir_ + "/" + hex_of(chain_id); }
  std::string link_path(const std::string& link) const { return dir_ + "/" + kLinksDir + "/" + link; }

  // Creates and removals of one chain id are serialized; different layers
  // unpack in parallel.
  std::mutex& chain_mutex(const std::string& chain_id) {
    return chain_mutexes_[std::hash<std::string>{}(chain_id) % chain_mutexes_.size()];
  }

  void usage_dirty() {
    std::lock_guard lock(usage_mu_);
    cached_usage_.reset();
  }

  std::string dir_;
  store::Database& db_;
  std::array<std::mutex, 64> chain_mutexes_;
  std::mutex usage_mu_;
  std::optional<StoreUsage> cached_usage_;
};

}  // namespace

Result<std::unique_ptr<LayerStore>> LayerStore::open(const std::string& layers_dir,
                                                     store::Database& db) {
  CRID_TRY_CTX(fs::make_dirs(layers_dir + "/" + kLinksDir, 0700), "opening layer store");
  CRID_TRY_CTX(db.ensure_schema(kSchema), "opening layer store");
  std::string dir = layers_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto store = std::make_unique<LayerStoreImpl>(dir, db);
  CRID_TRY_CTX(store->recover(), "opening layer store {}", dir);
  return std::unique_ptr<LayerStore>(std::move(store));
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& diff : diff_ids) {
    if (out.empty()) {
      out.push_back(diff);
      continue;
    }
    std::string input = out.back() + " " + diff;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
    static const char* digits = "0123456789abcdef";
    std::string id = "sha256:";
    for (unsigned i = 0; i < len; ++i) {
      id += digits[md[i] >> 4];
      id += digits[md[i] & 15];
    }
    out.push_back(std::move(id));
  }
  return out;
}

std::string mountpoint_of(std::string_view mountinfo, const std::string& path) {
  std::string best;
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, eol - pos);
    pos = eol + 1;
    // Fields: id parent major:minor root mountpoint ...
    size_t start = 0;
    std::string_view field;
    for (int i = 0; i < 5; ++i) {
      size_t sp = line.find(' ', start);
      field = line.substr(start, sp == std::string_view::npos ? line.size() - start : sp - start);
      if (sp == std::string_view::npos && i < 4) {
        field = {};
        break;
      }
      start = sp + 1;
    }
    if (field.empty()) continue;
    std::string mp = unescape_mountinfo(field);
    bool prefix = mp == "/" || path == mp ||
                  (path.starts_with(mp) && path.size() > mp.size() && path[mp.size()] == '/');
    if (prefix && mp.size() >= best.size()) best = mp;
  }
  return best;
}

}  // namespace crid::image
